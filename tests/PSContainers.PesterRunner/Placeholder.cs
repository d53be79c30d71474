namespace PSContainers.PesterRunner; public static class Placeholder { }
