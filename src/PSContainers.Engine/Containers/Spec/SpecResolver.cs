using PSContainers.CGroups;

namespace PSContainers.Containers;

/// <summary>
/// A create request made into the spec the depot keeps: every check of <see cref="SpecValidator"/> in the order
/// New-Container has always made them, the program and user resolved (inside -RootPath when one is given), the
/// environment completed and the cgroup path named. Nothing is made here.
/// </summary>
internal static class SpecResolver
{
    public static ContainerSpec Resolve(ContainerManager.Request r, string projectRoot, ImageStore store, out NetworkRequest network)
    {
        ContainerName.Check(r.Name);
        CGroupPath.CheckNewName(r.Name, r.Name);
        if (r.Group is not null)
        {
            ContainerName.Check(r.Group, "group name", "InvalidGroupName");
            CGroupPath.CheckNewName(r.Group, r.Group);
        }
        if (r.Hostname is not null)
        {
            SpecValidator.Hostname(r.Hostname);
        }
        SpecValidator.Arguments(r.ArgumentList);
        network = NetworkRequest.Resolve(r);
        // A network of its own is a network namespace: None, Private and Bridge all have one.
        if (network.Mode != ContainerNetwork.Host)
        {
            r = r with { Isolation = r.Isolation | ContainerIsolation.Network };
        }
        SpecValidator.Privilege(r.Isolation);
        // An image container's program and user are resolved in the image's rootfs: its root holds the same files at create.
        ContainerImage? image = WritableLayer.Check(r, store);
        string? root = image is not null ? image.RootFsPath : r.RootPath is null ? null : SpecValidator.RootPath(r.RootPath, r.Isolation);
        if (r.Hostname is not null && !r.Isolation.HasFlag(ContainerIsolation.Uts))
        {
            throw Native.PscException.Invalid("HostnameNeedsUts", $"-Hostname '{r.Hostname}' needs the Uts isolation; without it the container would rename the host.", r.Hostname);
        }
        // With a root, a relative program is taken from the root's top and a bare name from the standard directories;
        // without one, from this process's current directory and PATH (New-Container's documented rules).
        string where = root is null ? "" : " in " + root;
        // No program: a sandbox, whose init holds the namespaces and cgroup until Stop-Container; its processes are
        // started with Start-ContainerProcess.
        if (r.Sandbox && (r.FilePath.Length > 0 || r.ArgumentList.Length > 0))
        {
            string given = string.Join(' ', new[] { r.FilePath }.Concat(r.ArgumentList)).Trim();
            throw Native.PscException.Invalid("SandboxTakesNoProgram", $"A sandbox runs no program of its own, but '{given}' was given.", given);
        }
        string file = r.Sandbox ? ""
            : root is null
            ? SpecValidator.Program(r.FilePath, null, Environment.CurrentDirectory, Environment.GetEnvironmentVariable("PATH") ?? SpecValidator.DefaultPath, where)
            : SpecValidator.Program(r.FilePath, root, "/", SpecValidator.DefaultPath, where);
        string cwd = r.WorkingDirectory ?? "/";
        SpecValidator.WorkingDirectory(cwd, root, where);
        int uid = 0, gid = 0;
        int[] groups = Array.Empty<int>();
        if (r.User is not null)
        {
            (uid, gid, groups) = Users.Resolve(r.User, root);
        }
        var rlimits = new Dictionary<string, RLimitValue>(StringComparer.Ordinal);
        foreach (var (key, value) in r.ResourceLimits ?? new Dictionary<string, object?>())
        {
            rlimits[key.ToLowerInvariant()] = RLimits.Parse(key, value);
        }
        var basis = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = SpecValidator.DefaultPath,
            ["HOME"] = uid == 0 ? "/root" : "/",
        };
        if (r.Isolation.HasFlag(ContainerIsolation.Uts))
        {
            basis["HOSTNAME"] = r.Hostname ?? r.Name;
        }
        var env = SpecValidator.Environment(basis, r.Environment);
        foreach (string key in (r.Properties ?? new Dictionary<string, string>()).Keys)
        {
            SpecValidator.PropertyKey(key);
        }
        var online = CpuList.Online();
        r.Limits.Validate(online.Count, online);

        return new ContainerSpec
        {
            Name = r.Name,
            Group = r.Group,
            FilePath = file,
            ArgumentList = r.ArgumentList,
            Isolation = r.Isolation,
            Network = network.Mode,
            Hostname = r.Isolation.HasFlag(ContainerIsolation.Uts) ? r.Hostname ?? r.Name : null,
            WorkingDirectory = cwd,
            Environment = env,
            User = r.User,
            Uid = uid,
            Gid = gid,
            Groups = groups,
            RootPath = image is null ? root : Path.Combine(store.LayerPath(r.Name), WritableLayer.MergedFolder),
            Image = image?.Name,
            StorePath = image is null ? null : store.Root,
            DiskLimit = r.DiskLimit,
            InodeLimit = r.InodeLimit,
            ResourceLimits = rlimits,
            Properties = new Dictionary<string, string>(r.Properties ?? new Dictionary<string, string>()),
            Limits = r.Limits,
            KeepCGroup = r.KeepCGroup,
            CGroupPath = CGroupPath.Combine(GroupPath(r.Group, projectRoot), r.Name),
            CreatedTime = DateTime.UtcNow,
        };
    }

    /// <summary>The cgroup a container's own cgroup is made in: the project's root, or its group's below it.</summary>
    public static string GroupPath(string? group, string projectRoot) => group is null ? projectRoot : CGroupPath.Combine(projectRoot, group);
}
