#!/usr/bin/env bash
# Pattoo.Edge build entry point.
#   ./build.sh run                 publish the AOT binary for this machine and run it on the embedded default config
#   ./build.sh test                install test prerequisites, publish the binary once, run every test
#   ./build.sh publish x64|arm64|all   cross-publish trimmed native-AOT binaries (fails on any trim/AOT warning from our code)
#   ./build.sh package x64|arm64|all   publish, then build artifacts/packages/pattoo-edge_<VERSION>_<amd64|arm64>.deb
#   ./build.sh check-arm64         package arm64, boot a Debian 12 arm64 guest under qemu-system-aarch64 (built once,
#                                  cached in ~/.cache/pattoo-edge/arm64-guest), install the .deb in it and check it (root)
#   ./build.sh bench [NAME]        run the benchmarks (prints ratios against peers measured in the same run);
#                                  NAME: storage, flash (root: loop devices), chunks, appliance, api, snmp, modbus, bacnet, opcua, forward
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
ARTIFACTS=$ROOT/artifacts
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

host_arch() {
  case "$(uname -m)" in
    x86_64) echo x64 ;;
    aarch64|arm64) echo arm64 ;;
    *) echo "unsupported machine $(uname -m)" >&2; exit 1 ;;
  esac
}

apt_install() { # installs the Debian packages that are missing
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

publish() { # publish ARCH -> artifacts/publish/linux-ARCH/pattoo-edge
  local arch=$1 rid=linux-$1
  apt_install clang zlib1g-dev
  if [ "$arch" != "$(host_arch)" ] && [ "$arch" = arm64 ]; then
    apt_install gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross
  fi
  local out=$ARTIFACTS/publish/$rid logf=$ARTIFACTS/publish-$rid.log
  mkdir -p "$out"
  log "publishing $rid (native AOT)"
  local commit day
  commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  day=$(date -u +%Y-%m-%d)
  if ! dotnet publish src/Pattoo.Edge/Pattoo.Edge.csproj -c Release -r "$rid" -o "$out" -nologo -v:minimal \
      -p:PattooCommit="$commit" -p:PattooBuildDate="$day" >"$logf" 2>&1; then
    cat "$logf" >&2; echo "publish $rid failed (log: $logf)" >&2; exit 1
  fi
  # Trim/AOT warnings raised by our own assemblies fail the build; the libraries' are listed.
  local ours
  # (Third-party warnings point into the NuGet cache or at the library's own build paths, /_/.)
  ours=$(grep -E 'warning (IL|CS)[0-9]+' "$logf" | sed 's/ \[[^]]*\]$//' | grep -vE '/\.nuget/packages/|^/_/' | sort -u || true)
  if [ -n "$ours" ]; then
    echo "$ours" >&2; echo "publish $rid: our code raised trim/AOT warnings (above)" >&2; exit 1
  fi
  local theirs
  theirs=$(grep -cE 'warning IL[0-9]+' "$logf" || true)
  [ "$theirs" != 0 ] && log "$rid: $theirs trim/AOT warnings from third-party libraries (see $logf)"
  log "$rid: $(stat -c %s "$out/pattoo-edge" | numfmt --to=iec-i --suffix=B) $out/pattoo-edge"
}

test_prereqs() {
  # Native AOT needs a C toolchain. Real protocol peers: net-snmp's snmpd (SNMP), socat
  # (virtual serial lines for Modbus RTU), VictoriaMetrics and Prometheus (remote_write forwarding),
  # mosquitto and its clients (MQTT forwarding), lintian (the .deb), and the npm peers in tests/peers (Modbus, BACnet,
  # OPC UA servers; playwright-core for the dashboard) and Debian's chromium for the dashboard tests.
  apt_install clang zlib1g-dev snmpd snmp socat chromium victoria-metrics prometheus mosquitto mosquitto-clients lintian
  # Debian starts a system snmpd on port 161, VictoriaMetrics on 8428, Prometheus on 9090 and mosquitto on 1883;
  # the tests run their own on high ports.
  systemctl disable --now snmpd victoria-metrics prometheus mosquitto >/dev/null 2>&1 || true
  npm_peers
}

npm_peers() { # the npm protocol peers (Modbus, BACnet, OPC UA servers) and playwright-core
  command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -d tests/peers/node_modules ] || [ tests/peers/package-lock.json -nt tests/peers/node_modules ]; then
    log "installing test peers (npm ci in tests/peers)"
    npm ci --prefix tests/peers --no-audit --no-fund --loglevel=error
  fi
}

case "${1:-help}" in
  run)
    publish "$(host_arch)"
    shift
    exec "$ARTIFACTS/publish/linux-$(host_arch)/pattoo-edge" run "$@"
    ;;
  test)
    test_prereqs
    publish "$(host_arch)"
    export PATTOO_EDGE_BINARY=$ARTIFACTS/publish/linux-$(host_arch)/pattoo-edge
    log "running tests"
    set +e
    dotnet test Pattoo.Edge.sln -c Release -m:1 --logger "console;verbosity=normal" 2>&1 | tee "$ARTIFACTS/test.log" | grep --line-buffered -vE '^\s+Passed '
    rc=${PIPESTATUS[0]}
    set -e
    count() { { grep -oE "^\s+$1: +[0-9]+" "$ARTIFACTS/test.log" || true; } | awk '{s+=$2} END {print s+0}'; }
    passed=$(count Passed); failed=$(count Failed); skipped=$(count Skipped)
    echo "$passed passed, $failed failed, $skipped skipped"
    if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
      echo "tests failed (exit $rc; full log: $ARTIFACTS/test.log)" >&2; exit 1
    fi
    ;;
  publish)
    case "${2:-}" in
      x64|arm64) publish "$2" ;;
      all) publish x64; publish arm64 ;;
      *) echo "usage: ./build.sh publish x64|arm64|all" >&2; exit 2 ;;
    esac
    ;;
  package)
    case "${2:-}" in
      x64|arm64) arches=$2 ;;
      all) arches="x64 arm64" ;;
      *) echo "usage: ./build.sh package x64|arm64|all" >&2; exit 2 ;;
    esac
    for arch in $arches; do
      publish "$arch"
      log "package: $(packaging/build-deb.sh "$arch" "$ARTIFACTS/publish/linux-$arch/pattoo-edge" "$ARTIFACTS/packages")"
    done
    ;;
  check-arm64)
    [ "$(id -u)" -eq 0 ] || { echo "check-arm64 needs root (debootstrap, binfmt_misc)" >&2; exit 1; }
    apt_install qemu-system-arm qemu-user-static qemu-utils debootstrap e2fsprogs curl python3
    publish arm64
    deb=$(packaging/build-deb.sh arm64 "$ARTIFACTS/publish/linux-arm64/pattoo-edge" "$ARTIFACTS/packages")
    log "package: $deb"
    guest=${PATTOO_ARM64_GUEST:-$HOME/.cache/pattoo-edge/arm64-guest}
    packaging/check-arm64/build-guest.sh "$guest"
    packaging/check-arm64/check-arm64.sh "$guest" "$deb" "$ARTIFACTS/check-arm64"
    ;;
  bench)
    apt_install prometheus-node-exporter victoria-metrics prometheus-snmp-exporter snmpd snmp socat prometheus e2fsprogs util-linux
    # The Debian packages start system-wide services; the benchmarks run their own copies.
    systemctl disable --now prometheus prometheus-node-exporter victoria-metrics prometheus-snmp-exporter snmpd >/dev/null 2>&1 || true
    npm_peers
    publish "$(host_arch)"
    export PATTOO_EDGE_BINARY=$ARTIFACTS/publish/linux-$(host_arch)/pattoo-edge
    dotnet run -c Release --project bench/Pattoo.Edge.Bench -- "${@:2}"
    ;;
  *)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    [ "${1:-help}" = help ] || exit 2
    ;;
esac
