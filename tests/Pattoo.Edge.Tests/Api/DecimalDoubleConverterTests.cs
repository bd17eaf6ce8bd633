using System.Globalization;
using System.Text;
using Pattoo.Edge.Api.GraphQL;

namespace Pattoo.Edge.Tests.Api;

public class DecimalDoubleConverterTests
{
    [Theory]
    [InlineData(21.5, "21.5")]
    [InlineData(0.1, "0.1")]
    [InlineData(-3.0, "-3")]
    [InlineData(0.05, "0.05")]
    [InlineData(0.0, "0")]
    [InlineData(-0.0, "-0")]
    [InlineData(1013.25, "1013.25")]
    [InlineData(123456789012.5, "123456789012.5")]
    [InlineData(0.00012, "0.00012")]
    public void ShortDecimalsAreWrittenAsTheirDigits(double value, string expected)
    {
        var buffer = new byte[40];
        Assert.True(DecimalDoubleConverter.TryFormat(value, buffer, out int n));
        Assert.Equal(expected, Encoding.ASCII.GetString(buffer, 0, n));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1e300)]
    [InlineData(1e-9)]
    [InlineData(0.1 + 0.2)] // 0.30000000000000004: 17 digits
    public void OtherValuesAreLeftToTheSerializer(double value) => Assert.False(DecimalDoubleConverter.TryFormat(value, new byte[40], out _));

    [Fact]
    public void WhatIsWrittenReadsBackAsTheSameDouble()
    {
        var rng = new Random(3);
        var buffer = new byte[40];
        int formatted = 0;
        for (int i = 0; i < 200_000; i++)
        {
            double v = (i % 3) switch
            {
                0 => Math.Round((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(0, 12)), rng.Next(0, 7)),
                1 => BitConverter.Int64BitsToDouble(rng.NextInt64()),
                _ => Pattoo.Edge.Api.GraphQL.Downsampler.Average(rng.NextDouble() * 1e6, rng.Next(1, 100)),
            };
            if (!DecimalDoubleConverter.TryFormat(v, buffer, out int n)) continue;
            formatted++;
            string text = Encoding.ASCII.GetString(buffer, 0, n);
            Assert.Equal(BitConverter.DoubleToInt64Bits(v), BitConverter.DoubleToInt64Bits(double.Parse(text, CultureInfo.InvariantCulture)));
            Assert.True(text.Length <= v.ToString("R", CultureInfo.InvariantCulture).Length + 5, text);
        }
        Assert.True(formatted > 120_000, $"only {formatted} of 200,000 took the fast path");
    }

    [Fact]
    public void AveragesKeepTwelveSignificantDigits()
    {
        Assert.Equal(50.2833333333, Downsampler.Average(301.7, 6));
        Assert.Equal(2.5, Downsampler.Average(5, 2));
        Assert.Equal(0.0, Downsampler.Average(0, 3));
        double v = Downsampler.Average(1e20, 3);
        Assert.Equal(1e20 / 3, v, 1e8);
    }
}
