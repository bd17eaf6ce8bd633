#!/bin/bash
# Write-back round trip through the published binary, as an operator sees it: 50 writeValue
# mutations over HTTP to a Modbus register of modbus-serial's TCP server on 127.0.0.1 (each: the
# value read before, FC6, read back, the audit row synced to disk), timed by curl. A latency
# probe of the guarded path, not a comparison (no other engine writes back this way).
#   bench/write-roundtrip.sh [BINARY]     (./build.sh publish x64 first; npm ci --prefix tests/peers)
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/artifacts/publish/linux-x64/pattoo-edge}
D=$(mktemp -d)
MP=$((30000 + RANDOM % 1000)); AP=$((31000 + RANDOM % 1000))
node "$ROOT/tests/peers/modbus/peer.js" tcp $MP > $D/peer.log 2>&1 &
PEER=$!
sleep 1
cat > $D/edge.toml <<T
[server]
listen = "127.0.0.1:$AP"
[storage]
path = "$D/data"
[linux]
enabled = false
[api.control_tokens]
bench = "bench-control-token-0123456789"
[write]
enabled = true
min_interval = "0s"
[[modbus.devices]]
name = "plc"
address = "127.0.0.1:$MP"
interval = "1s"
  [[modbus.devices.values]]
  key = "setpoint"
  address = 200
  scale = 0.1
  writable = true
  min = 0
  max = 100
T
"$BIN" run --config $D/edge.toml > $D/edge.log 2>&1 &
EDGE=$!
for i in $(seq 1 50); do sleep 0.2; grep -q "polling OK" $D/edge.log && break; done
sleep 1.5
IDX=$(curl -s 127.0.0.1:$AP/graphql -H 'Content-Type: application/json' -d '{"query":"{ series(key: \"setpoint\") { idxDatapoint } }"}' | sed 's/.*"idxDatapoint":"\([0-9]*\)".*/\1/')
for i in $(seq 1 50); do
  v=$((200 + i % 50))
  curl -s -o /dev/null -w "%{time_total}\n" 127.0.0.1:$AP/graphql -H 'Authorization: Bearer bench-control-token-0123456789' -H 'Content-Type: application/json' \
    -d "{\"query\":\"mutation { writeValue(idxDatapoint: \\\"$IDX\\\", value: \\\"$((v/10)).$((v%10))\\\") { result } }\"}"
done | sort -n | awk '{a[NR]=$1} END {printf "writes: %d, p50 %.1f ms, p90 %.1f ms, max %.1f ms\n", NR, a[int(NR*0.5)]*1000, a[int(NR*0.9)]*1000, a[NR]*1000}'
curl -s 127.0.0.1:$AP/metrics | grep pattoo_edge_writes_total
kill $EDGE $PEER; wait 2>/dev/null; rm -rf $D
