using Pattoo.Edge.Control;
using Pattoo.Edge.Pollers.Writing;
using Pattoo.Edge.Storage;
using Pattoo.Edge.Tests.Storage;

namespace Pattoo.Edge.Tests.Write;

public class WriteServiceTests
{
    private static readonly WriteLimits Setpoint = new(WriteKind.Number, 5, 30, [], 10);
    private static readonly ControlCaller Operator = new("operator", true, "192.0.2.7");

    private static (WriteService Service, RecordingTarget Target) Service(TempStore t, bool enabled = true, TimeSpan? minInterval = null)
    {
        var target = new RecordingTarget(("setpoint", Setpoint, 20), ("mode", new WriteLimits(WriteKind.Integer, null, null, ["0", "1", "2"], null), 0));
        var service = new WriteService(t.Store, () => [target])
        {
            Options = new WriteOptions { Enabled = enabled, MinInterval = minInterval ?? TimeSpan.Zero },
            HasControlTokens = true,
        };
        return (service, target);
    }

    private static async Task<WriteRefusedException> Refused(Task task) => await Assert.ThrowsAsync<WriteRefusedException>(() => task);

    [Fact]
    public async Task AWriteIsReadBeforeSentReadBackStoredAndAudited()
    {
        await using var t = new TempStore();
        var (service, target) = Service(t);
        var ids = await target.StoreAsync(t.Store);

        var entry = await service.WriteAsync(Operator, ids["setpoint"], " 21.5 ", "summer", CancellationToken.None);
        Assert.Equal(("written", "20", "21.5", "21.5", "operator", "192.0.2.7", "summer"), (entry.Result, entry.OldValue, entry.Requested, entry.ReadBack, entry.Token, entry.Client, entry.Comment));
        Assert.Equal([("setpoint", PointValue.Of(21.5))], target.Received);
        Assert.Equal(2, target.Reads); // before and after
        Assert.Equal(21.5, t.Store.Latest(ids["setpoint"])!.Value.Value);
        var audit = t.Store.ReadAudit(new AuditQuery { IdxDatapoint = ids["setpoint"] });
        Assert.Equal(entry.Id, Assert.Single(audit.Entries).Id);
        Assert.Contains("plc/setpoint (holding 0)", audit.Entries[0].Point);

        // A device that clamps: sent, and the answer says what it reports now.
        target.ClampAt = 25;
        var clamped = await service.WriteAsync(Operator, ids["setpoint"], "28", null, CancellationToken.None);
        Assert.Equal(("mismatch", "25"), (clamped.Result, clamped.ReadBack));
        Assert.Contains("sent 28, but the device now reports 25", clamped.Message);
    }

    [Fact]
    public async Task EveryRefusalHappensBeforeTheDeviceIsWrittenAndIsAudited()
    {
        await using var t = new TempStore();
        var (service, target) = Service(t);
        var ids = await target.StoreAsync(t.Store);
        long sp = ids["setpoint"];

        Assert.Equal("OUT_OF_LIMITS", (await Refused(service.WriteAsync(Operator, sp, "30.01", null, default))).Code);
        Assert.Equal(0, target.Reads); // a value outside min/max is refused before the device is asked anything
        Assert.Equal("OUT_OF_LIMITS", (await Refused(service.WriteAsync(Operator, ids["mode"], "3", null, default))).Code);
        Assert.Equal("BAD_VALUE", (await Refused(service.WriteAsync(Operator, ids["mode"], "1.5", null, default))).Code);
        Assert.Equal("BAD_VALUE", (await Refused(service.WriteAsync(Operator, sp, "NaN", null, default))).Code);
        Assert.Equal("BAD_VALUE", (await Refused(service.WriteAsync(Operator, sp, "1e400", null, default))).Code);
        var ramp = await Refused(service.WriteAsync(Operator, sp, "5", null, default)); // 15 from 20, ramp 10
        Assert.Equal("OUT_OF_LIMITS", ramp.Code);
        Assert.Equal("20", ramp.Audit!.OldValue);
        Assert.Equal("NOT_FOUND", (await Refused(service.WriteAsync(Operator, 424242, "1", null, default))).Code);
        Assert.Equal("NOT_SUPPORTED", (await Refused(service.RelinquishAsync(Operator, sp, null, default))).Code);
        target.FailWrite = new Pattoo.Edge.Pollers.Writing.DeviceRefusedException("write single register (6) at 0: illegal data value");
        var refusal = await Refused(service.WriteAsync(Operator, sp, "21", null, default));
        Assert.Equal(("DEVICE_REFUSED", "refused"), (refusal.Code, refusal.Audit!.Result));
        target.FailWrite = new TimeoutException("no answer within 1s (2 attempts)");
        var failure = await Refused(service.WriteAsync(Operator, sp, "21", null, default));
        Assert.Equal(("DEVICE_FAILED", "failed"), (failure.Code, failure.Audit!.Result));
        Assert.Contains("no answer within 1s", failure.Message);
        target.FailWrite = null;
        target.FailRead = new TimeoutException("no answer");
        Assert.Contains("nothing was sent", (await Refused(service.WriteAsync(Operator, sp, "21", null, default))).Message);
        Assert.Empty(target.Received);

        service.Options = new WriteOptions { Enabled = false };
        Assert.Equal("DISABLED", (await Refused(service.WriteAsync(Operator, sp, "21", null, default))).Code);
        // The rate limit counts every request that reached the device (mode's were all refused before).
        service.Options = new WriteOptions { Enabled = true, MinInterval = TimeSpan.FromMinutes(1) };
        target.FailRead = null;
        Assert.Equal("RATE_LIMITED", (await Refused(service.WriteAsync(Operator, sp, "21", null, default))).Code);
        await service.WriteAsync(Operator, ids["mode"], "1", null, default);
        Assert.Equal("RATE_LIMITED", (await Refused(service.WriteAsync(Operator, ids["mode"], "2", null, default))).Code);
        Assert.Equal([("mode", PointValue.Of(1))], target.Received);

        // Every refusal above has its row, the written one too.
        var audit = t.Store.ReadAudit(new AuditQuery { Limit = 100 });
        Assert.Equal(15, audit.TotalCount);
        Assert.Equal((12, 2), (audit.Entries.Count(e => e.Result == "refused"), audit.Entries.Count(e => e.Result == "failed")));
    }

    [Fact]
    public async Task AWriteIsAuditedAsPendingBeforeItIsSentAndRunsToItsOutcomeWhenTheClientGoesAway()
    {
        await using var t = new TempStore();
        var (service, target) = Service(t);
        var ids = await target.StoreAsync(t.Store);
        Pattoo.Edge.Storage.AuditEntry? seenWhileSending = null;
        target.OnWrite = () => seenWhileSending = Assert.Single(t.Store.ReadAudit(new AuditQuery()).Entries);
        using var gone = new CancellationTokenSource();
        gone.Cancel(); // the client went away (or the query timed out) once the checks passed
        var entry = await service.WriteAsync(Operator, ids["setpoint"], "22", null, gone.Token);
        Assert.Equal(("pending", "20", "22"), (seenWhileSending!.Result, seenWhileSending.OldValue, seenWhileSending.Requested));
        var row = Assert.Single(t.Store.ReadAudit(new AuditQuery()).Entries);
        Assert.Equal((seenWhileSending.Id, "written", "22"), (row.Id, row.Result, row.ReadBack));
        Assert.Equal(entry.Id, row.Id);
    }

    [Fact]
    public void RampAppliesToAListOfAllowedValuesToo()
    {
        var stages = new WriteLimits(WriteKind.Integer, null, null, ["0", "1", "2", "3"], 1);
        Assert.Null(stages.Check(PointValue.Of(2), PointValue.Of(1)));
        Assert.Contains("ramp allows 1", stages.Check(PointValue.Of(3), PointValue.Of(1)));
        Assert.Contains("not one of the allowed", stages.Check(PointValue.Of(4), PointValue.Of(3)));
    }

    [Fact]
    public async Task RequestsWithoutAValidTokenAreRefusedAndAuditedOncePerClientPerSecond()
    {
        await using var t = new TempStore();
        var (service, target) = Service(t);
        var ids = await target.StoreAsync(t.Store);
        var stranger = new ControlCaller(null, true, "192.0.2.66");
        for (int i = 0; i < 50; i++)
            Assert.Equal("UNAUTHORIZED", (await Refused(service.WriteAsync(stranger, ids["setpoint"], "21", null, default))).Code);
        Assert.Equal(49, service.UnauditedRefusals);
        var row = Assert.Single(t.Store.ReadAudit(new AuditQuery()).Entries);
        Assert.Equal(("", "192.0.2.66", "refused"), (row.Token, row.Client, row.Result));
        Assert.Contains("not one of api.control_tokens", row.Message);

        service.HasControlTokens = false;
        Assert.Contains("no control tokens", (await Refused(service.WriteAsync(Operator, ids["setpoint"], "21", null, default))).Message);
        Assert.Empty(target.Received);
        Assert.Equal(0, target.Reads);
    }
}
