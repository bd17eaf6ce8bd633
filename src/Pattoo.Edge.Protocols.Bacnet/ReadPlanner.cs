namespace Pattoo.Edge.Protocols.Bacnet;

/// <summary>One ReadPropertyMultiple request: a run of references.</summary>
public readonly record struct PlannedRead(int Start, int Count);

/// <summary>
/// Packs property references into as few ReadPropertyMultiple requests as the sizes allow:
/// each request must fit the device's max APDU, and its expected answer
/// (<see cref="BacnetServices.ExpectedResultSize"/>) the answer limit (one APDU, or the
/// segments both sides accept). References to one object should be adjacent.
/// </summary>
public static class ReadPlanner
{
    /// <summary>Complex-ACK header of a segmented answer.</summary>
    private const int AckHeader = 5;

    /// <param name="maxRequestApdu">the largest APDU the device accepts.</param>
    /// <param name="maxAnswerApdu">the largest answer, in APDU octets (several segments when both sides segment).</param>
    public static List<PlannedRead> Plan(ReadOnlySpan<PropertyReference> references, int maxRequestApdu, int maxAnswerApdu)
    {
        var plan = new List<PlannedRead>();
        int requestLimit = maxRequestApdu - Apdu.ConfirmedRequestHeaderLength;
        int answerLimit = maxAnswerApdu - AckHeader;
        int start = 0, request = 0, answer = 0;
        for (int i = 0; i < references.Length; i++)
        {
            bool newObject = i == start || references[i].Object != references[i - 1].Object;
            int requestCost = (newObject ? 7 : 0) + 1 + BacnetWriter.UnsignedLength((ulong)references[i].Property)
                + (references[i].ArrayIndex is uint index ? 1 + BacnetWriter.UnsignedLength(index) : 0);
            int answerCost = (newObject ? 7 : 0) + BacnetServices.ExpectedResultSize(references[i]);
            if (i > start && (request + requestCost > requestLimit || answer + answerCost > answerLimit))
            {
                plan.Add(new PlannedRead(start, i - start));
                start = i;
                requestCost += newObject ? 0 : 7;
                answerCost += newObject ? 0 : 7;
                request = answer = 0;
            }
            request += requestCost;
            answer += answerCost;
        }
        if (references.Length > start) plan.Add(new PlannedRead(start, references.Length - start));
        return plan;
    }
}
