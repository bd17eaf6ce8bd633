#!/bin/sh
# guest-check.sh: runs inside the arm64 guest at boot (pattoo-check.service), from the check disk
# the host made (/mnt/check: this script and the arm64 .deb). Every line the host reads starts with
# "PATTOO-CHECK"; the rest is the log a reader wants when something fails.
set -u
export DEBIAN_FRONTEND=noninteractive
say() { echo "PATTOO-CHECK $*"; }
fail() { say "FAIL $*"; journalctl -u pattoo-edge --no-pager -n 40 2>/dev/null; say "DONE fail"; exit 1; }
graphql() {
  curl -sS -m 10 -H 'Content-Type: application/json' --data "{\"query\":\"$1\"}" http://127.0.0.1:20202/graphql
}
# Waits up to $1 seconds for the service to be active and to answer GraphQL.
wait_answering() {
  i=0
  while [ $i -lt "$1" ]; do
    if systemctl is-active --quiet pattoo-edge && graphql '{ appliance { name } }' 2>/dev/null | grep -q '"name"'; then
      return 0
    fi
    sleep 1; i=$((i + 1))
  done
  return 1
}
# Waits up to $1 seconds for the Linux poller to have stored a poll.
wait_polled() {
  i=0
  while [ $i -lt "$1" ]; do
    if graphql '{ pollers { program ok polls } }' 2>/dev/null | grep -q '"program":"linux","ok":true,"polls":[1-9]'; then
      return 0
    fi
    sleep 2; i=$((i + 2))
  done
  return 1
}

say "guest $(uname -m) Debian $(cat /etc/debian_version) kernel $(uname -r)"
deb=$(ls /mnt/check/pattoo-edge_*_arm64.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no arm64 package on the check disk"
cp "$deb" /tmp/ && deb=/tmp/$(basename "$deb")
# The README's command: apt installs the local file, offline (its dependencies are in the guest).
if ! apt-get install -y -q "$deb" > /tmp/apt.log 2>&1; then
  cat /tmp/apt.log; fail "apt-get install $deb"
fi
say "installed $(dpkg-query -W -f '${Package} ${Version} ${Architecture}' pattoo-edge)"
say "version $(pattoo-edge version | tr '\n' ' ')"
wait_answering 180 || fail "service not active and answering 180 s after install"
say "active $(systemctl show -p ActiveState,SubState,MainPID pattoo-edge | tr '\n' ' ')"
wait_polled 120 || fail "the Linux poller stored no poll within 120 s"
say "polled $(graphql '{ pollers { program ok polls datapoints } }')"

restart_ms=$(date +%s%3N)
systemctl restart pattoo-edge || fail "systemctl restart"
wait_answering 180 || fail "service not answering 180 s after systemctl restart"
wait_polled 120 || fail "the Linux poller stored no poll within 120 s of the restart"
say "restarted at_ms=$restart_ms $(systemctl show -p ActiveState,NRestarts pattoo-edge | tr '\n' ' ')"

score=$(systemd-analyze security --no-pager pattoo-edge 2>/dev/null | sed -n 's/.*Overall exposure level for pattoo-edge.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "systemd-analyze security gave no score"
say "security $score"
say "DONE ok restart_ms=$restart_ms"
