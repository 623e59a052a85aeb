#!/usr/bin/env bats
# make install / make uninstall: the exact staged layout, templates filled with
# the installed paths, a LaunchAgent plist that is well-formed and complete, a
# per-user install without root that the user manager finds, and an uninstall
# that leaves no file behind.

load helpers

# The staged tree of `make install DESTDIR=… PREFIX=/usr`: mode and path of every
# entry that is not a directory. The Node module (the router preload and the client
# it uses) is every .cjs and .mjs of client/node, and its package.json.
expected_usr() {
	{
		printf '%s\n' '755 usr/bin/ccr-config' '755 usr/bin/ccr-keyd' \
			'644 usr/lib/systemd/user/ccr-keyd.service' \
			'644 usr/lib/systemd/user/ccr-keyd.socket' \
			'644 usr/lib/systemd/user/ccr-router.service' \
			'644 usr/share/bash-completion/completions/ccr-config' \
			'644 usr/share/ccr-keyd/io.github.ccr-keyd.plist' \
			'644 usr/share/ccr-keyd/io.github.ccr-keyd.router.plist' \
			'644 usr/share/fish/vendor_completions.d/ccr-config.fish' \
			'644 usr/share/man/man1/ccr-config.1' \
			'644 usr/share/man/man8/ccr-keyd.8' \
			'644 usr/share/zsh/site-functions/_ccr-config' \
			'644 usr/lib/ccr-keyd/node/package.json'
		(cd "$ROOT/client/node" && ls -- *.cjs *.mjs) | sed 's|^|644 usr/lib/ccr-keyd/node/|'
	} | sort -k2
}

setup() {
	STAGE=$BATS_TEST_TMPDIR/stage
	USERDIR=
	[ -x "$CCR_BUILD/ccr-keyd" ] && [ -x "$CCR_BUILD/ccr-config" ] ||
		fail "build the binaries first: make"
}

teardown() {
	if [ -n "$USERDIR" ]; then
		rm -rf "$USERDIR"
	fi
}

# mk ARGS...: run make in the project as `make test` built it, without
# rebuilding the binaries (others may be editing sources while tests run).
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$ROOT" --no-print-directory -s \
		BUILD="$CCR_BUILD" -o "$CCR_BUILD/ccr-keyd" -o "$CCR_BUILD/ccr-config" "$@"
}

# layout DIR: "MODE PATH" of every non-directory under DIR, sorted.
layout() {
	(cd "$1" && find . ! -type d -printf '%m %P\n' | sort -k2)
}

# plist_value KEYPATH...: the element after <key>K1</key> … <key>Kn</key>, nested
# dicts, in the staged plist, as text (or the element name for true/false).
plist_value() {
	local xp='/plist/dict' k
	for k in "$@"; do
		xp="$xp/key[.='$k']/following-sibling::*[1]"
	done
	xmllint --xpath "concat(name($xp), ':', string($xp))" "$STAGE/usr/share/ccr-keyd/io.github.ccr-keyd.plist"
}

# plist_array KEY: the strings of the array after <key>KEY</key>, one a line.
plist_array() {
	local xp="/plist/dict/key[.='$1']/following-sibling::*[1]" n i
	n=$(xmllint --xpath "count($xp/string)" "$STAGE/usr/share/ccr-keyd/io.github.ccr-keyd.plist")
	for ((i = 1; i <= n; i++)); do
		# xmllint ends each result with a newline.
		xmllint --xpath "string($xp/string[$i])" "$STAGE/usr/share/ccr-keyd/io.github.ccr-keyd.plist"
	done
}

@test "make install DESTDIR=… PREFIX=/usr lays out exactly the expected files" {
	run mk install DESTDIR="$STAGE" PREFIX=/usr
	[ "$status" -eq 0 ] || fail "$output"
	diff -u <(expected_usr) <(layout "$STAGE") >&2
	# The preload and the modules it needs are all there.
	[ -f "$STAGE/usr/lib/ccr-keyd/node/preload.cjs" ] && [ -f "$STAGE/usr/lib/ccr-keyd/node/router.cjs" ] &&
		[ -f "$STAGE/usr/lib/ccr-keyd/node/guard.cjs" ] && [ -f "$STAGE/usr/lib/ccr-keyd/node/index.cjs" ]
}

@test "installed files are the sources, and templates carry the installed paths" {
	mk install DESTDIR="$STAGE" PREFIX=/usr AGENT_HOME=/Users/alice >/dev/null
	cmp "$CCR_BUILD/ccr-keyd" "$STAGE/usr/bin/ccr-keyd"
	cmp "$CCR_BUILD/ccr-config" "$STAGE/usr/bin/ccr-config"
	cmp "$ROOT/docs/ccr-keyd.8" "$STAGE/usr/share/man/man8/ccr-keyd.8"
	cmp "$ROOT/docs/ccr-config.1" "$STAGE/usr/share/man/man1/ccr-config.1"
	cmp "$ROOT/systemd/ccr-keyd.socket" "$STAGE/usr/lib/systemd/user/ccr-keyd.socket"
	cmp "$ROOT/completions/ccr-config.bash" "$STAGE/usr/share/bash-completion/completions/ccr-config"
	cmp "$ROOT/completions/_ccr-config" "$STAGE/usr/share/zsh/site-functions/_ccr-config"
	grep -qx 'ExecStart=/usr/bin/ccr-keyd --idle-exit 600' \
		"$STAGE/usr/lib/systemd/user/ccr-keyd.service"
	grep -qx 'ExecStart=/usr/bin/ccr-config router -- start' \
		"$STAGE/usr/lib/systemd/user/ccr-router.service"
	grep -qx 'Environment=CCR_KEYD_NO_AUTOSTART=1' "$STAGE/usr/lib/systemd/user/ccr-router.service"
	local f
	for f in "$ROOT"/client/node/*.cjs "$ROOT"/client/node/*.mjs; do
		cmp "$f" "$STAGE/usr/lib/ccr-keyd/node/$(basename "$f")"
	done
	# Text files only: a binary may hold such bytes by chance (ccr-keyd held "@Z@").
	run grep -rlIE '@[A-Z_]+@' "$STAGE"
	[ "$status" -eq 1 ] || fail "placeholders left in:" "$output"
	run "$STAGE/usr/bin/ccr-keyd" --version
	[ "$status" -eq 0 ]
	[[ "$output" == "ccr-keyd "* ]]
}

@test "the installed LaunchAgent plist is well-formed and says what launchd needs" {
	mk install DESTDIR="$STAGE" PREFIX=/usr AGENT_HOME=/Users/alice >/dev/null
	run xmllint --noout "$STAGE/usr/share/ccr-keyd/io.github.ccr-keyd.plist"
	[ "$status" -eq 0 ] && [ -z "$output" ] || fail "$output"
	[ "$(plist_value Label)" = string:io.github.ccr-keyd ]
	[ "$(plist_array ProgramArguments)" = $'/usr/bin/ccr-keyd\n--idle-exit\n600' ] ||
		fail "ProgramArguments:" "$(plist_array ProgramArguments)"
	[ "$(plist_value Sockets Listeners SockPathName)" = \
		string:/Users/alice/.claude-code-router/keyd.sock ]
	[ "$(plist_value Sockets Listeners SockPathMode)" = integer:384 ] # 0600
	[ "$(plist_value RunAtLoad)" = true: ]
	[ "$(plist_value StandardErrorPath)" = string:/Users/alice/.claude-code-router/keyd.log ]
	# The daemon asks launch_activate_socket for "Listeners" (daemon/activation.c).
	grep -q 'launch_activate_socket("Listeners"' "$ROOT/daemon/activation.c"
}

@test "the installed ccr-config starts the router with the installed preload" {
	mk install DESTDIR="$STAGE" PREFIX=/usr >/dev/null
	mkdir -p "$BATS_TEST_TMPDIR/bin" "$BATS_TEST_TMPDIR/home"
	printf '#!/bin/sh\nprintf "%%s\\n" "$NODE_OPTIONS"\n' >"$BATS_TEST_TMPDIR/bin/ccr"
	chmod +x "$BATS_TEST_TMPDIR/bin/ccr"
	run env HOME="$BATS_TEST_TMPDIR/home" CCR_HOME="$BATS_TEST_TMPDIR/home" \
		CCR_KEYD_SOCKET="$BATS_TEST_TMPDIR/nosock" CCR_KEYD_NO_AUTOSTART=1 \
		PATH="$BATS_TEST_TMPDIR/bin:$PATH" \
		"$STAGE/usr/bin/ccr-config" router --fallback-env -- start
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *"--require=$STAGE/usr/lib/ccr-keyd/node/preload.cjs"* ]] || fail "$output"
}

@test "the router's LaunchAgent plist is well-formed and runs ccr-config router start" {
	mk install DESTDIR="$STAGE" PREFIX=/usr AGENT_HOME=/Users/alice >/dev/null
	local plist=$STAGE/usr/share/ccr-keyd/io.github.ccr-keyd.router.plist
	run xmllint --noout "$plist"
	[ "$status" -eq 0 ] && [ -z "$output" ] || fail "$output"
	[ "$(xmllint --xpath "string(/plist/dict/key[.='Label']/following-sibling::*[1])" "$plist")" = \
		io.github.ccr-keyd.router ]
	[ "$(xmllint --xpath "string(/plist/dict/key[.='ProgramArguments']/following-sibling::*[1])" "$plist" |
		tr -d '\t\n')" = '/usr/bin/ccr-configrouter--start' ]
	[ "$(xmllint --xpath "string(/plist/dict/key[.='StandardErrorPath']/following-sibling::*[1])" "$plist")" = \
		/Users/alice/.claude-code-router/router.log ]
}

@test "make uninstall removes every file make install put there" {
	mk install DESTDIR="$STAGE" PREFIX=/usr >/dev/null
	run mk uninstall DESTDIR="$STAGE" PREFIX=/usr
	[ "$status" -eq 0 ] || fail "$output"
	run layout "$STAGE"
	[ -z "$output" ] || fail "left behind:" "$output"
	[ ! -e "$STAGE/usr/share/ccr-keyd" ] || fail "share/ccr-keyd/ is left"
	[ ! -e "$STAGE/usr/lib/ccr-keyd" ] || fail "lib/ccr-keyd/ is left"
	# Uninstalling twice is harmless.
	run mk uninstall DESTDIR="$STAGE" PREFIX=/usr
	[ "$status" -eq 0 ] || fail "$output"
}

@test "man finds the installed pages" {
	mk install DESTDIR="$STAGE" PREFIX=/usr >/dev/null
	run env MANPATH="$STAGE/usr/share/man" man -w ccr-keyd
	[ "$output" = "$STAGE/usr/share/man/man8/ccr-keyd.8" ] || fail "$output"
	run env MANPATH="$STAGE/usr/share/man" man -w 1 ccr-config
	[ "$output" = "$STAGE/usr/share/man/man1/ccr-config.1" ] || fail "$output"
}

# as_user CMD...: run CMD as an unprivileged user (nobody) when we are root.
as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		"$@"
	fi
}

# install_tree DIR: copy what make install reads — the Makefile, mk/, the files
# it installs and the two binaries — to DIR/src, readable by everyone, and print
# DIR/src. Run as root, the test below installs as nobody, who cannot read a
# checkout that sits in a private directory (root's home, a mktemp -d); it reads
# this copy instead, wherever the checkout is.
install_tree() {
	local src=$1/src
	mkdir -p "$src/client" "$src/build"
	cp -R "$ROOT/Makefile" "$ROOT/mk" "$ROOT/docs" "$ROOT/systemd" "$ROOT/launchd" \
		"$ROOT/completions" "$src/"
	cp -R "$ROOT/client/node" "$src/client/"
	cp "$CCR_BUILD/ccr-keyd" "$CCR_BUILD/ccr-config" "$src/build/"
	chmod -R a+rX "$src"
	printf '%s\n' "$src"
}

@test "make install PREFIX=~/.local works without root, and the user manager finds the units" {
	local h src
	USERDIR=$(mktemp -d "${TMPDIR:-/tmp}/ccr-install.XXXXXX")
	h=$USERDIR/home
	mkdir "$h"
	src=$(install_tree "$USERDIR")
	[ "$(id -u)" -ne 0 ] || chown -R 65534:65534 "$USERDIR"
	# ~ unexpanded, as zsh passes it.
	run as_user env HOME="$h" make -C "$src" --no-print-directory -s BUILD="$src/build" \
		-o "$src/build/ccr-keyd" -o "$src/build/ccr-config" install 'PREFIX=~/.local'
	[ "$status" -eq 0 ] || fail "$output"
	[ -x "$h/.local/bin/ccr-keyd" ] && [ -x "$h/.local/bin/ccr-config" ]
	grep -qx "ExecStart=$h/.local/bin/ccr-keyd --idle-exit 600" \
		"$h/.local/share/systemd/user/ccr-keyd.service"
	[ -f "$h/.local/share/systemd/user/ccr-keyd.socket" ]
	[ ! -e "$h/.local/lib/systemd" ] || fail "units in ~/.local/lib, which systemd --user never reads"
	[ -f "$h/.local/share/man/man8/ccr-keyd.8" ]
	[ -f "$h/.local/share/bash-completion/completions/ccr-config" ]
	grep -q "<string>$h/.claude-code-router/keyd.sock</string>" \
		"$h/.local/share/ccr-keyd/io.github.ccr-keyd.plist"
	# The directory is on the user manager's unit search path.
	run env HOME="$h" XDG_RUNTIME_DIR="$USERDIR" systemd-analyze --user unit-paths
	[[ $'\n'"$output"$'\n' == *$'\n'"$h/.local/share/systemd/user"$'\n'* ]] || fail "$output"
	run as_user env HOME="$h" make -C "$src" --no-print-directory -s BUILD="$src/build" \
		uninstall PREFIX="$h/.local"
	[ "$status" -eq 0 ] || fail "$output"
	run find "$h" -type f
	[ -z "$output" ] || fail "left behind:" "$output"
}

@test "after make install PREFIX=~/.local the line it prints loads ccr-config's completion in bash and zsh" {
	local h bin
	USERDIR=$(mktemp -d "${TMPDIR:-/tmp}/ccr-install.XXXXXX")
	h=$USERDIR/home
	mkdir "$h"
	run env HOME="$h" make -C "$ROOT" --no-print-directory -s BUILD="$CCR_BUILD" \
		-o "$CCR_BUILD/ccr-keyd" -o "$CCR_BUILD/ccr-config" install 'PREFIX=~/.local'
	[ "$status" -eq 0 ] || fail "$output"
	bin=$h/.local/bin/ccr-config
	[[ "$output" == *"  eval \"\$($bin shell-init bash)\""* ]] || fail "no line to enable completion:" "$output"
	# Neither shell looks there by itself: no bash-completion loader, no such fpath entry.
	run env HOME="$h" bash --norc --noprofile -c 'eval "$("$1" shell-init bash)"; complete -p ccr-config' _ "$bin"
	[ "$output" = 'complete -F _ccr_config ccr-config' ] || fail "bash:" "$output"
	run env HOME="$h" zsh -f -i 2>/dev/null <<ZSH
eval "\$('$bin' shell-init zsh)"
autoload -U compinit; compinit -u -D
print -r -- "comp[\${_comps[ccr-config]}] dir[\${fpath[(r)$h/*]}]"
ZSH
	[[ "$output" == *"comp[_ccr-config] dir[$h/.local/share/zsh/site-functions]"* ]] || fail "zsh:" "$output"
	# With compinit before the eval, too.
	run env HOME="$h" zsh -f -c 'autoload -U compinit; compinit -u -D; eval "$("$1" shell-init zsh)"; print -r -- "comp[${_comps[ccr-config]}]"' _ "$bin"
	[ "$output" = 'comp[_ccr-config]' ] || fail "zsh, compinit first:" "$output"
}
