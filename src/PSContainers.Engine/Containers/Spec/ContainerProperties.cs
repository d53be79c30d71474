using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>The user properties of a container: the one part of spec.json that changes after creation.</summary>
internal static class ContainerProperties
{
    /// <summary>Sets (or with a null value removes) one user property, kept in the depot's spec.json.</summary>
    public static Container SetProperty(ContainerManager m, string name, string key, string? value)
    {
        SpecValidator.PropertyKey(key);
        using (m.Depot.Lock())
        {
            Container c = StateReader.Get(m, name);
            var properties = new Dictionary<string, string>(c.Spec.Properties);
            if (value is null)
            {
                if (!properties.Remove(key))
                {
                    throw new PscException("PropertyNotFound", ErrorKind.ObjectNotFound, $"Container '{name}' has no property '{key}'.", key);
                }
            }
            else
            {
                properties[key] = value;
            }
            m.Depot.WriteJson(name, "spec.json", c.Spec with { Properties = properties });
            return StateReader.Get(m, name);
        }
    }
}
