using System.Runtime.CompilerServices;

namespace Pattoo.Edge.Pollers.Shared;

/// <summary>
/// Counters declared once, as the members of an enum numbered 0, 1, 2 ...: counted by member,
/// read by member, and listed for the API's diagnostics under the members' names in camelCase.
/// A new counter is one enum member; nothing else lists it. Thread-safe.
/// </summary>
public sealed class Counters<TKey> where TKey : struct, Enum
{
    private static readonly string[] Names = BuildNames();
    private readonly long[] _values = new long[Names.Length];

    public long this[TKey key] => Volatile.Read(ref _values[Index(key)]);

    public void Increment(TKey key) => Interlocked.Increment(ref _values[Index(key)]);

    public void Add(TKey key, long amount)
    {
        if (amount != 0) Interlocked.Add(ref _values[Index(key)], amount);
    }

    /// <summary>Every counter as (<paramref name="prefix"/> + camelCase name, value), in declaration order.</summary>
    public void AppendTo(List<KeyValuePair<string, long>> diagnostics, string prefix = "")
    {
        for (int i = 0; i < Names.Length; i++) diagnostics.Add(new(prefix + Names[i], Volatile.Read(ref _values[i])));
    }

    public override string ToString()
        => string.Join(", ", Names.Select((name, i) => $"{name} {Volatile.Read(ref _values[i])}"));

    private static int Index(TKey key) => Unsafe.As<TKey, int>(ref key);

    private static string[] BuildNames()
    {
        if (Unsafe.SizeOf<TKey>() != sizeof(int)) throw new InvalidOperationException($"{typeof(TKey).Name}: counters need an int enum");
        var values = Enum.GetValues<TKey>();
        var names = new string[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (Index(values[i]) != i) throw new InvalidOperationException($"{typeof(TKey).Name}: counters need members numbered 0, 1, 2 ... in order");
            string name = values[i].ToString();
            names[i] = char.ToLowerInvariant(name[0]) + name[1..];
        }
        return names;
    }
}
