namespace PSContainers.Engine; internal static class Placeholder { }
