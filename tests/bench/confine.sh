#!/usr/bin/env bash
# make bench-confine: what confinement by the kernel adds to an agent's start:
# `ccr-config guard -- true` (the guard and bubblewrap's namespaces) against
# `ccr-config guard --no-confine -- true` (the guard alone) and against `true`, medians of
# RUNS interleaved runs (build/bench/proctime), in a sandbox HOME with its own daemon.
#
#   BUILD=build [RUNS=20] bash tests/bench/confine.sh
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-20}
PROCTIME=$BUILD/bench/proctime
[ -x "$PROCTIME" ] || { echo "bench-confine: $PROCTIME is missing: make bench-tools" >&2; exit 2; }
command -v bwrap >/dev/null || { echo "bench-confine: bubblewrap is not installed" >&2; exit 2; }

. tests/sandbox.bash
sandbox_enter
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ccr-bench-confine.XXXXXX")
KEYD_PID=
cleanup() {
	[ -n "$KEYD_PID" ] && kill "$KEYD_PID" 2>/dev/null && wait "$KEYD_PID" 2>/dev/null
	rm -rf "$WORK"
	sandbox_leave
}
trap cleanup EXIT
export HOME=$WORK/home XDG_RUNTIME_DIR=$WORK/run CCR_KEYD_NO_AUTOSTART=1
unset CCR_HOME CCR_KEYS CCR_KEYD_SOCKET
mkdir -p -m 700 "$HOME" "$XDG_RUNTIME_DIR"
"$BUILD/ccr-keyd" >"$WORK/keyd.log" 2>&1 &
KEYD_PID=$!
for _ in $(seq 100); do "$BUILD/ccr-config" status >/dev/null 2>&1 && break; sleep 0.05; done
CFG=$PWD/$BUILD/ccr-config
echo "# agent start, median of $RUNS interleaved runs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# cmd=1: guard -- true (confined)   cmd=2: guard --no-confine -- true   cmd=3: true"
"$PROCTIME" -n "$RUNS" "$CFG" guard -- /bin/true ::: "$CFG" guard --no-confine -- /bin/true \
	::: /bin/true
