using PSContainers.CGroups;
using PSContainers.CGroups.V2;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.CGroups;

public class LimitTests
{
    private static readonly SortedSet<int> TwoCpus = new() { 0, 1 };

    [Fact]
    public void WeightToSharesIsTheInverseOfRuncsSharesToWeight()
    {
        // runc (libcontainer/cgroups ConvertCPUSharesToCgroupV2Value): weight = 1 + ((shares - 2) * 9999) / 262142
        static long RuncWeight(long shares) => 1 + ((shares - 2) * 9999) / 262142;
        for (int weight = 1; weight <= 10000; weight++)
        {
            long shares = CGroupLimits.WeightToShares(weight);
            Assert.Equal(weight, RuncWeight(shares));
            Assert.True(shares == 2 || RuncWeight(shares - 1) < weight, $"shares {shares} for weight {weight} is not the smallest");
            Assert.Equal(weight, CGroupLimits.SharesToWeight(shares));
        }
        Assert.Equal(2, CGroupLimits.WeightToShares(1));
        Assert.Equal(262144, CGroupLimits.WeightToShares(10000));
        Assert.Equal(39, CGroupLimits.SharesToWeight(1024)); // runc maps the v1 default 1024 to weight 39
    }

    [Theory]
    [InlineData(1.5, 150000)]
    [InlineData(0.5, 50000)]
    [InlineData(0.01, 1000)]
    [InlineData(2, 200000)]
    [InlineData(-1, -1)]
    public void CpusBecomeAQuotaForRuncsPeriod(double cpus, long quota) => Assert.Equal(quota, CGroupLimits.CpuQuota(cpus));

    [Theory]
    [InlineData("MemoryLimit", 0L)]
    [InlineData("MemoryLimit", -2L)]
    [InlineData("PidsLimit", 0L)]
    [InlineData("PidsLimit", -5L)]
    [InlineData("MemorySwapLimit", -3L)]
    public void OutOfRangeCountsAreRefused(string which, long value)
    {
        var limits = which switch
        {
            "MemoryLimit" => new CGroupLimits { MemoryLimit = value },
            "PidsLimit" => new CGroupLimits { PidsLimit = value },
            _ => new CGroupLimits { MemorySwapLimit = value },
        };
        var ex = Assert.Throws<PscException>(() => limits.Validate(2, TwoCpus));
        Assert.Equal("InvalidLimit," + which, ex.ErrorId);
        Assert.Contains(value.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.001)]
    [InlineData(3.0)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void CpuLimitMustBeBetweenAHundredthAndTheMachinesCpus(double cpus)
    {
        var ex = Assert.Throws<PscException>(() => new CGroupLimits { CpuLimit = cpus }.Validate(2, TwoCpus));
        Assert.Equal("InvalidLimit,CpuLimit", ex.ErrorId);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10001)]
    [InlineData(-7)]
    public void CpuWeightMustBeOneToTenThousand(int weight)
    {
        var ex = Assert.Throws<PscException>(() => new CGroupLimits { CpuWeight = weight }.Validate(2, TwoCpus));
        Assert.Equal("InvalidLimit,CpuWeight", ex.ErrorId);
        Assert.Contains(weight.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
    }

    [Theory]
    [InlineData("0-3")]
    [InlineData("7")]
    [InlineData("x")]
    [InlineData("1-0")]
    [InlineData("")]
    [InlineData("0,,1")]
    public void CpuSetsMustNameCpusTheMachineHas(string set)
    {
        var ex = Assert.Throws<PscException>(() => new CGroupLimits { CpuSet = set }.Validate(2, TwoCpus));
        Assert.Equal("InvalidLimit,CpuSet", ex.ErrorId);
        Assert.Contains($"'{set}'", ex.Message);
    }

    [Fact]
    public void GoodLimitsPassAndMinusOneMeansUnlimited()
    {
        new CGroupLimits { MemoryLimit = 256L << 20, MemorySwapLimit = 512L << 20, CpuLimit = 1.5, CpuWeight = 10000, CpuSet = "0-1", PidsLimit = 100 }.Validate(2, TwoCpus);
        new CGroupLimits { MemoryLimit = -1, MemorySwapLimit = -1, CpuLimit = -1, CpuWeight = -1, PidsLimit = -1 }.Validate(2, TwoCpus);
    }

    [Fact]
    public void SwapBelowMemoryIsRefused()
    {
        var ex = Assert.Throws<PscException>(() => new CGroupLimits { MemoryLimit = 200, MemorySwapLimit = 100 }.Validate(2, TwoCpus));
        Assert.Equal("InvalidLimit,MemorySwapLimit", ex.ErrorId);
    }

    [Theory]
    [InlineData(-1, 100, -1)]
    [InlineData(300, 100, 200)]
    [InlineData(100, 100, 0)]
    public void MemoryPlusSwapBecomesSwapAloneOnV2LikeRunc(long memsw, long memory, long swap) =>
        Assert.Equal(swap, V2Limits.SwapOnly(memsw, memory));

    [Fact]
    public void SwapWithoutAMemoryLimitIsRefusedOnV2() =>
        Assert.Equal("InvalidLimit,MemorySwapLimit", Assert.Throws<PscException>(() => V2Limits.SwapOnly(300, -1)).ErrorId);

    [Theory]
    [InlineData("0-1,3", "0,1,3")]
    [InlineData("5", "5")]
    [InlineData("0-2", "0,1,2")]
    public void CpuListsParseAndFormat(string text, string members)
    {
        var set = CpuList.Parse(text, "CpuSet");
        Assert.Equal(members, string.Join(",", set));
        Assert.Equal(text, CpuList.Format(set));
    }
}
