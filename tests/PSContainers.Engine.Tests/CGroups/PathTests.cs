using PSContainers.CGroups;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.CGroups;

public class PathTests
{
    [Theory]
    [InlineData("web", "/pscontainers/web")]
    [InlineData("web/child", "/pscontainers/web/child")]
    [InlineData("/system.slice", "/system.slice")]
    [InlineData("/", "/")]
    [InlineData("web/", "/pscontainers/web")]
    public void PathsWorkLikeFilePaths(string input, string expected) =>
        Assert.Equal(expected, CGroupPath.Resolve(input, "/pscontainers"));

    [Theory]
    [InlineData("..")]
    [InlineData("web/../../etc")]
    [InlineData("/pscontainers/./web")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("a//b")]
    [InlineData("a\0b")]
    [InlineData("a\nb")]
    public void BadPathsAreRefusedWithTheirOwnErrorId(string input)
    {
        var ex = Assert.Throws<PscException>(() => CGroupPath.Resolve(input, "/pscontainers"));
        Assert.Equal("InvalidCGroupPath", ex.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
    }

    [Fact]
    public void NamesOver255BytesAreRefused()
    {
        Assert.Equal("/pscontainers/" + new string('a', 255), CGroupPath.Resolve(new string('a', 255), "/pscontainers"));
        var ex = Assert.Throws<PscException>(() => CGroupPath.Resolve(new string('a', 256), "/pscontainers"));
        Assert.Contains("256 bytes", ex.Message);
        // 128 two-byte characters are 256 bytes.
        Assert.Throws<PscException>(() => CGroupPath.Resolve(new string('é', 128), "/pscontainers"));
    }

    [Theory]
    [InlineData("/pscontainers", true)]
    [InlineData("/pscontainers/web", true)]
    [InlineData("/pscontainersX", false)]
    [InlineData("/system.slice", false)]
    [InlineData("/", false)]
    public void WritesAreAllowedOnlyAtOrBelowTheRoot(string path, bool allowed)
    {
        Assert.Equal(allowed, CGroupPath.IsAtOrBelow(path, "/pscontainers"));
        if (!allowed)
        {
            var ex = Assert.Throws<PscException>(() => CGroupPath.RequireWritable(path, "/pscontainers", "create"));
            Assert.Equal("CGroupOutsideRoot", ex.ErrorId);
            Assert.Contains(path, ex.Message);
        }
    }

    [Fact]
    public void TheRootComesFromTheEnvironment()
    {
        string? saved = Environment.GetEnvironmentVariable(CGroupPath.RootVariable);
        try
        {
            Environment.SetEnvironmentVariable(CGroupPath.RootVariable, "psc-test-root");
            Assert.Equal("/psc-test-root", CGroupPath.ProjectRootFromEnvironment());
            Environment.SetEnvironmentVariable(CGroupPath.RootVariable, "/");
            Assert.Equal("InvalidCGroupRoot", Assert.Throws<PscException>(CGroupPath.ProjectRootFromEnvironment).ErrorId);
            Environment.SetEnvironmentVariable(CGroupPath.RootVariable, null);
            Assert.Equal("/pscontainers", CGroupPath.ProjectRootFromEnvironment());
        }
        finally
        {
            Environment.SetEnvironmentVariable(CGroupPath.RootVariable, saved);
        }
    }
}
