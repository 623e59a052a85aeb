#!/usr/bin/env bash
# Run every fuzz target for a bounded time on a scratch copy of its corpus.
# Prints one TAP line per target and the executions each ran.
set -u
dir=$1 seconds=$2
n=0 failed=0
for bin in "$dir"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin" | sed 's/^fuzz_//')
	n=$((n + 1))
	work=$(mktemp -d)
	cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
	log=$(mktemp)
	if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/" "$work" >"$log" 2>&1; then
		# libFuzzer ends with "Done N runs in S second(s)".
		execs=$(sed -n 's/^Done \([0-9][0-9]*\) runs.*/\1/p' "$log" | tail -1)
		echo "ok $n - fuzz $name: ${execs:-?} executions in ${seconds}s, no crash"
	else
		failed=$((failed + 1))
		echo "not ok $n - fuzz $name crashed; artifact kept in $work"
		tail -40 "$log" | sed 's/^/# /'
		rm -f "$log"
		continue
	fi
	rm -rf "$work" "$log"
done
echo "1..$n"
[ "$failed" -eq 0 ]
