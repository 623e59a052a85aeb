# A terminal for tests of what ccr-config does when a person is at it: script(1)
# (util-linux) gives the command a pseudo-terminal, and each answer is typed
# only once its prompt has shown, so no answer is typed early and none is lost.
#
#   run on_tty "CMD" "PROMPT" "ANSWER" ["PROMPT" "ANSWER"]...
#
# $output is what the terminal showed (CRs removed), $status CMD's exit status.

# tty_feed OUT [PROMPT ANSWER]...: type each ANSWER once PROMPT shows in OUT
# for the n-th time (n counting the answers given to that prompt so far).
tty_feed() {
	local out=$1 i n
	local -A seen=()
	shift
	while [ $# -ge 2 ]; do
		seen[$1]=$((${seen[$1]:-0} + 1))
		for ((i = 0; i < 1000; i++)); do
			n=$(grep -oF -- "$1" "$out" | wc -l)
			[ "$n" -ge "${seen[$1]}" ] && break
			sleep 0.01
		done
		printf '%s\n' "$2"
		shift 2
	done
}

# on_tty CMD [PROMPT ANSWER]...: run the shell command CMD on a terminal.
on_tty() {
	local cmd=$1 out rc=0
	shift
	command -v script >/dev/null || skip "needs script (util-linux) for a terminal"
	out=$(mktemp "$BATS_TEST_TMPDIR/tty.XXXXXX")
	timeout 30 script -qfec "$cmd" /dev/null < <(tty_feed "$out" "$@") >"$out" 2>&1 || rc=$?
	tr -d '\r' <"$out"
	return "$rc"
}
