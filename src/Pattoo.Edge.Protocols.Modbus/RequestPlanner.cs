namespace Pattoo.Edge.Protocols.Modbus;

/// <summary>One value to read: where it is and how many items (bits or registers) it spans.</summary>
public readonly record struct PlanItem(ModbusTable Table, ushort Address, ushort Count);

/// <summary>One read request of a plan and the items (indexes into the planned list) it covers.</summary>
public sealed record PlannedRequest(ModbusTable Table, ushort Address, ushort Count, IReadOnlyList<int> Items)
{
    public ModbusFunction Function => Table.ReadFunction();
    public int End => Address + Count; // exclusive
}

/// <summary>How far requests may be merged.</summary>
/// <param name="MaxGap">Unused items a merged request may read between two values (0 = only neighbours).</param>
/// <param name="MaxRegisters">Registers per request, 1 to 125.</param>
/// <param name="MaxBits">Bits per request, 1 to 2000.</param>
public readonly record struct PlanLimits(int MaxGap = 0, int MaxRegisters = ModbusFunctions.MaxRegisters, int MaxBits = ModbusFunctions.MaxBits)
{
    /// <summary>Neighbours only, protocol maxima (a struct's default would be all zeros).</summary>
    public PlanLimits() : this(0, ModbusFunctions.MaxRegisters, ModbusFunctions.MaxBits) { }

    public int MaxCount(ModbusTable table) => table.IsBits() ? MaxBits : MaxRegisters;
}

/// <summary>
/// Merges values into as few read requests as the limits allow: per table, values sorted by
/// address join the current request while the hole before them is at most
/// <see cref="PlanLimits.MaxGap"/> and the request stays within the protocol's size.
/// </summary>
public static class RequestPlanner
{
    /// <exception cref="ArgumentException">an item larger than a request may be, or running past address 65535.</exception>
    public static List<PlannedRequest> Plan(IReadOnlyList<PlanItem> items, PlanLimits limits)
    {
        if (limits.MaxGap < 0) throw new ArgumentOutOfRangeException(nameof(limits), "MaxGap below 0");
        if (limits.MaxRegisters is < 1 or > ModbusFunctions.MaxRegisters) throw new ArgumentOutOfRangeException(nameof(limits), "MaxRegisters outside 1-125");
        if (limits.MaxBits is < 1 or > ModbusFunctions.MaxBits) throw new ArgumentOutOfRangeException(nameof(limits), "MaxBits outside 1-2000");
        var order = new int[items.Count];
        for (int i = 0; i < order.Length; i++)
        {
            var item = items[i];
            if (item.Count == 0 || item.Count > limits.MaxCount(item.Table))
                throw new ArgumentException($"item {i} spans {item.Count}, a request holds 1 to {limits.MaxCount(item.Table)}", nameof(items));
            if (item.Address + item.Count > 65536) throw new ArgumentException($"item {i} runs past address 65535", nameof(items));
            order[i] = i;
        }
        Array.Sort(order, (a, b) =>
        {
            int c = items[a].Table.CompareTo(items[b].Table);
            if (c == 0) c = items[a].Address.CompareTo(items[b].Address);
            if (c == 0) c = items[b].Count.CompareTo(items[a].Count);
            return c == 0 ? a.CompareTo(b) : c;
        });

        var plan = new List<PlannedRequest>();
        var members = new List<int>();
        ModbusTable table = default;
        int start = 0, end = 0;
        foreach (int i in order)
        {
            var item = items[i];
            int itemEnd = item.Address + item.Count;
            if (members.Count > 0 && item.Table == table && item.Address <= end + limits.MaxGap
                && Math.Max(end, itemEnd) - start <= limits.MaxCount(table))
            {
                end = Math.Max(end, itemEnd);
                members.Add(i);
                continue;
            }
            Flush();
            table = item.Table;
            start = item.Address;
            end = itemEnd;
            members.Add(i);
        }
        Flush();
        return plan;

        void Flush()
        {
            if (members.Count == 0) return;
            members.Sort();
            plan.Add(new PlannedRequest(table, (ushort)start, (ushort)(end - start), members.ToArray()));
            members.Clear();
        }
    }

    /// <summary>One request per item of <paramref name="request"/>: the fallback when a merged read is refused.</summary>
    public static List<PlannedRequest> Split(PlannedRequest request, IReadOnlyList<PlanItem> items)
    {
        var result = new List<PlannedRequest>(request.Items.Count);
        foreach (int i in request.Items) result.Add(new PlannedRequest(items[i].Table, items[i].Address, items[i].Count, [i]));
        return result;
    }
}
