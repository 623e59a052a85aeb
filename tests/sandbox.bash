# Keeps every test, benchmark and tool run away from the user's own keys.
#
# Sourced by tests/run.sh, tests/bench/run.sh and tests/faults/memcheck.sh:
#
#   sandbox_enter      remember where the user's keys and daemon live, then point
#                      HOME, XDG_RUNTIME_DIR and CCR_HOME at a fresh temporary directory, drop
#                      XDG_*_HOME and every CCR_* override, for this shell and its children
#   sandbox_check WHO  print one TAP "not ok" line naming WHO, and return 1, when
#                      the user's keystore directory or socket directory changed
#                      since sandbox_enter
#   sandbox_leave      remove the temporary directory
#
# What is watched: $HOME/.claude-code-router, $CCR_HOME and the directories of
# $CCR_KEYS and $CCR_KEYD_SOCKET as they were on entry, and
# $XDG_RUNTIME_DIR/ccr-keyd (or /run/user/UID/ccr-keyd). Each entry's type, mode,
# owner, size, mtime and inode, and each readable file's SHA-256, are compared,
# so a test key written into the real keystore, a socket replaced or a file
# removed is caught. A daemon the user runs there is never contacted.

# The user's directories that tests must leave exactly as they were.
sandbox_watched() {
	local d
	{
		printf '%s\n' "${SANDBOX_REAL_HOME:+$SANDBOX_REAL_HOME/.claude-code-router}"
		printf '%s\n' "${SANDBOX_REAL_CCR_HOME:-}"
		[ -n "${SANDBOX_REAL_KEYS:-}" ] && dirname -- "$SANDBOX_REAL_KEYS"
		[ -n "${SANDBOX_REAL_SOCKET:-}" ] && dirname -- "$SANDBOX_REAL_SOCKET"
		printf '%s\n' "${SANDBOX_REAL_RUNTIME:+$SANDBOX_REAL_RUNTIME/ccr-keyd}"
	} | while IFS= read -r d; do
		[ -n "$d" ] && printf '%s\n' "$d"
	done | sort -u
}

# sandbox_fingerprint: one line per entry under each watched directory.
sandbox_fingerprint() {
	local d f
	while IFS= read -r d; do
		if [ ! -e "$d" ] && [ ! -L "$d" ]; then
			printf 'absent %s\n' "$d"
			continue
		fi
		# A log file grows when the user's own daemon writes to it: only its
		# existence counts.
		find "$d" -xdev -name '*.log' -printf '%y %p\n' -o \
			-printf '%y %m %U %s %T@ %i %p\n' 2>/dev/null | sort -k7
		find "$d" -xdev -type f ! -name '*.log' -readable -print0 2>/dev/null |
			xargs -0r sha256sum 2>/dev/null | sort -k2
	done < <(sandbox_watched)
}

sandbox_enter() {
	local uid
	uid=$(id -u)
	SANDBOX_REAL_HOME=${HOME:-$(getent passwd "$uid" | cut -d: -f6)}
	SANDBOX_REAL_CCR_HOME=${CCR_HOME:-}
	SANDBOX_REAL_KEYS=${CCR_KEYS:-}
	SANDBOX_REAL_SOCKET=${CCR_KEYD_SOCKET:-}
	SANDBOX_REAL_RUNTIME=${XDG_RUNTIME_DIR:-}
	if [ -z "$SANDBOX_REAL_RUNTIME" ] && [ -d "/run/user/$uid" ]; then
		SANDBOX_REAL_RUNTIME=/run/user/$uid
	fi
	SANDBOX_BEFORE=$(sandbox_fingerprint)

	SANDBOX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ccr-sandbox.XXXXXX")
	chmod 700 "$SANDBOX_DIR"
	mkdir -m 700 "$SANDBOX_DIR/home" "$SANDBOX_DIR/run"
	export HOME=$SANDBOX_DIR/home
	export XDG_RUNTIME_DIR=$SANDBOX_DIR/run
	# Unset, they default to directories under the temporary HOME.
	unset XDG_CONFIG_HOME XDG_DATA_HOME XDG_CACHE_HOME XDG_STATE_HOME
	export CCR_HOME=$HOME/.claude-code-router
	unset CCR_KEYS CCR_KEYD_SOCKET CCR_KEYD_BIN CCR_KEYD_NO_AUTOSTART
	unset LISTEN_PID LISTEN_FDS LISTEN_FDNAMES
	# npm keeps its cache out of the user's home too, but across runs.
	export npm_config_cache=${npm_config_cache:-$PWD/build/npm-cache}
	export SANDBOX_DIR SANDBOX_REAL_HOME SANDBOX_REAL_CCR_HOME SANDBOX_REAL_KEYS \
		SANDBOX_REAL_SOCKET SANDBOX_REAL_RUNTIME
}

sandbox_check() {
	local now
	now=$(sandbox_fingerprint)
	[ "$now" = "$SANDBOX_BEFORE" ] && return 0
	printf '  not ok - %s changed the user'"'"'s own files (%s)\n' "$1" \
		"$(sandbox_watched | paste -sd' ')"
	diff <(printf '%s\n' "$SANDBOX_BEFORE") <(printf '%s\n' "$now") | sed 's/^/  # /' | head -20
	SANDBOX_BEFORE=$now # report each change once, against the suite that made it
	return 1
}

sandbox_leave() {
	[ -n "${SANDBOX_DIR:-}" ] && rm -rf "$SANDBOX_DIR"
}
