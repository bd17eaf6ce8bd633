#!/bin/sh
# check-arm64.sh GUEST_DIR DEB WORK_DIR: boots the arm64 guest (build-guest.sh) under
# qemu-system-aarch64 -M virt (software emulation, a Cortex-A72 like a Raspberry Pi 4), installs DEB in
# it and checks, in the guest: apt installs it offline, the service is active and answers, the
# Linux poller polls, it survives `systemctl restart`, `systemd-analyze security` <= 2.0; and from
# this host, through the forwarded port: GraphQL answers with the guest's own Linux metrics stored
# after the restart. The guest boots from a throw-away overlay: the built image is never changed.
set -eu
[ $# -eq 3 ] || { echo "usage: packaging/check-arm64/check-arm64.sh GUEST_DIR DEB WORK_DIR" >&2; exit 2; }
guest=$1 deb=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
port=${PATTOO_CHECK_ARM64_PORT:-21202}
timeout=${PATTOO_CHECK_ARM64_TIMEOUT:-1800}
max_score=2.0
[ -f "$deb" ] || { echo "check-arm64: no package at $deb" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work/disk"
console=$work/console.log

qemu-img create -q -f qcow2 -F raw -b "$(cd "$guest" && pwd)/rootfs.img" "$work/overlay.qcow2"
cp "$here/guest-check.sh" "$deb" "$work/disk/"
mkfs.ext4 -q -L pattoo-check -d "$work/disk" "$work/check.img" 64M

echo "check-arm64: booting the guest (console: $console; GraphQL forwarded to 127.0.0.1:$port)"
started=$(date +%s)
# restrict=on: the guest reaches nothing outside; only the forwarded port reaches it.
qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 -no-reboot \
  -kernel "$guest/vmlinuz" -initrd "$guest/initrd.img" \
  -append "root=/dev/vda rw console=ttyAMA0 panic=-1 systemd.journald.forward_to_console=1" \
  -drive "file=$work/overlay.qcow2,if=virtio,format=qcow2" \
  -drive "file=$work/check.img,if=virtio,format=raw,readonly=on" \
  -netdev "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:20202" -device virtio-net-pci,netdev=net0 \
  -display none -monitor none -serial "file:$console" &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT INT TERM

# The guest's progress lines, as they come.
seen=0
while :; do
  if [ -f "$console" ]; then
    grep -a '^PATTOO-CHECK' "$console" | tr -d '\r' | tail -n +$((seen + 1)) | while IFS= read -r line; do echo "  guest: ${line#PATTOO-CHECK }"; done
    seen=$(grep -a -c '^PATTOO-CHECK' "$console" || true)
    grep -a -q '^PATTOO-CHECK DONE' "$console" && break
  fi
  kill -0 $qemu 2>/dev/null || { echo "check-arm64: FAIL qemu exited before the check finished; the console's end:"; tail -n 30 "$console"; exit 1; }
  [ $(($(date +%s) - started)) -lt "$timeout" ] || { echo "check-arm64: FAIL no result within $timeout s; the console's end:"; tail -n 30 "$console"; exit 1; }
  sleep 5
done
grep -a -q '^PATTOO-CHECK DONE ok' "$console" || { echo "check-arm64: FAIL in the guest; the console's end:"; tail -n 60 "$console"; exit 1; }

score=$(grep -a '^PATTOO-CHECK security ' "$console" | tail -1 | awk '{print $3}' | tr -d '\r')
restart_ms=$(grep -a '^PATTOO-CHECK DONE ok' "$console" | sed 's/.*restart_ms=\([0-9]*\).*/\1/' | tr -d '\r')
awk -v s="$score" -v m="$max_score" 'BEGIN { exit !(s + 0 <= m + 0) }' || { echo "check-arm64: FAIL systemd-analyze security $score > $max_score"; exit 1; }

# From this host, through the forwarded port: the appliance answers GraphQL and holds the guest's own
# Linux metrics, polled after the restart.
query() { curl -sS -m 30 -H 'Content-Type: application/json' --data "$1" "http://127.0.0.1:$port/graphql"; }
answer=$(query '{"query":"{ appliance { name version seriesCount } pollers { program ok polls datapoints } series(search: \"cpu\") { idxDatapoint key agentPolledTarget } }"}')
echo "check-arm64: GraphQL on 127.0.0.1:$port answered: $(echo "$answer" | cut -c1-400)"
idx=$(echo "$answer" | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
linux = [p for p in d["pollers"] if p["program"] == "linux" and p["ok"] and p["datapoints"] > 0]
series = [s for s in d["series"] if s["agentPolledTarget"] == "pattoo-arm64"]
if not linux or not series: sys.exit("no Linux poller or no cpu series of the guest (pattoo-arm64)")
print(series[0]["idxDatapoint"])') || { echo "check-arm64: FAIL the guest's Linux metrics are not in the answer"; exit 1; }
points=$(query "{\"query\":\"{ timeseries(idxDatapoint: \\\"$idx\\\", from: $restart_ms, to: $(( $(date +%s) * 1000 + 3600000 )), maxPoints: 100) { points { timestamp value } } }\"}")
count=$(echo "$points" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["timeseries"]["points"]))') \
  || { echo "check-arm64: FAIL timeseries answer: $points"; exit 1; }
[ "$count" -gt 0 ] || { echo "check-arm64: FAIL no sample of datapoint $idx after the restart: $points"; exit 1; }
echo "check-arm64: datapoint $idx of the guest has $count point(s) stored after the restart"
echo "check-arm64: OK in $(($(date +%s) - started)) s: installed, active, polled, restarted, security $score (<= $max_score)"
