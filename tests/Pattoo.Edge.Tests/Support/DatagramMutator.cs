namespace Pattoo.Edge.Tests.Support;

/// <summary>Mutations of a valid datagram for fuzz tests: octets flipped, truncation, garbage inserted, a length octet made huge or small, or noise that may start like a BER SEQUENCE.</summary>
public static class DatagramMutator
{
    public static byte[] Mutate(Random random, byte[] seed)
    {
        byte[] d;
        switch (random.Next(5))
        {
            case 0:
                d = (byte[])seed.Clone();
                for (int k = random.Next(1, 4); k > 0; k--) d[random.Next(d.Length)] = (byte)random.Next(256);
                return d;
            case 1:
                return seed[..random.Next(seed.Length)];
            case 2:
                int at = random.Next(seed.Length);
                var extra = new byte[random.Next(1, 6)];
                random.NextBytes(extra);
                return [.. seed[..at], .. extra, .. seed[at..]];
            case 3:
                d = (byte[])seed.Clone();
                d[random.Next(d.Length)] = (byte)(random.Next(2) == 0 ? 0x84 : random.Next(0x80));
                return d;
            default:
                d = new byte[random.Next(0, 80)];
                random.NextBytes(d);
                if (d.Length > 0 && random.Next(2) == 0) d[0] = 0x30;
                return d;
        }
    }
}
