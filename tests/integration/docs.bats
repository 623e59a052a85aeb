#!/usr/bin/env bats
# The man pages: clean roff (groff -ww and man print no warning), the usual
# sections, and nothing the programs accept left undocumented — every option
# and command the binaries list in --help, every option the daemon parses,
# every environment variable the C code reads, every exit code; and every
# reference to a design file points at docs/DESIGN.md and a section it has.

load helpers

KEYD_8=$ROOT/docs/ccr-keyd.8
CONFIG_1=$ROOT/docs/ccr-config.1

# text PAGE: the page as plain text, one paragraph a line (wide, no hyphenation).
text() {
	MANWIDTH=1000 man -E ascii -l "$1" 2>/dev/null | col -bx
}

# section PAGE NAME: the plain text of one section (.SH NAME).
section() {
	text "$1" | awk -v s="$2" '/^[A-Z]/ { on = ($0 == s); next } on'
}

@test "groff -man -ww -z prints nothing for ccr-keyd.8" {
	run groff -man -ww -z "$KEYD_8"
	[ "$status" -eq 0 ] && [ -z "$output" ] || fail "$output"
}

@test "groff -man -ww -z prints nothing for ccr-config.1" {
	run groff -man -ww -z "$CONFIG_1"
	[ "$status" -eq 0 ] && [ -z "$output" ] || fail "$output"
}

@test "man -l renders both pages without a warning" {
	local page err
	for page in "$KEYD_8" "$CONFIG_1"; do
		err=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		[ -z "$err" ] || fail "$page:" "$err"
		MANWIDTH=80 man -l "$page" 2>/dev/null | col -b | grep -q '^SYNOPSIS'
	done
}

@test "both pages have the usual sections" {
	local page s
	for page in "$KEYD_8" "$CONFIG_1"; do
		for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT FILES SECURITY \
			"SEE ALSO"; do
			grep -qx ".SH \"\\?$s\"\\?" "$page" || fail "$(basename "$page"): no section $s"
		done
	done
	grep -qx '.SH SIGNALS' "$KEYD_8"
	grep -qx '.SH "\?SEALED KEYSTORE"\?' "$KEYD_8"
	grep -qx '.SH COMMANDS' "$CONFIG_1"
}

@test "ccr-keyd.8 documents every option of ccr-keyd --help and of its option table" {
	local opts o doc
	opts=$("$CCR_BUILD/ccr-keyd" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
	opts+=$'\n'$(sed -n 's/^[[:space:]]*{"\([a-z][a-z-]*\)", *\(no\|required\)_argument.*/--\1/p' \
		"$ROOT/daemon/main.c")
	[ "$(printf '%s\n' "$opts" | sort -u | wc -l)" -ge 8 ] || fail "could not read the options"
	doc=$(section "$KEYD_8" OPTIONS)
	for o in $(printf '%s\n' "$opts" | sort -u); do
		grep -qE -- "^ +(-[a-zA-Z], )?$o( |$)" <<<"$doc" || fail "ccr-keyd.8 lacks $o"
	done
}

# table_options CMD: the options of CMD's table entry as its --help lists them,
# "-x --long" or "none --long" a line (--json and --help, which all take, left out).
table_options() {
	"$CCR_BUILD/ccr-config" "$1" --help | sed -n '/^options:/,/^$/p' |
		sed -nE 's/^  -([a-zA-Z]), --([a-z][a-z-]+).*/-\1 --\2/p; s/^      --([a-z][a-z-]+).*/none --\1/p' |
		grep -vE -- ' --(json|help)$'
}

# entry DOC CMD: the lines of the COMMANDS entries (all of them) of CMD.
entry() {
	awk -v c="$2" '$0 ~ "^       " c "( |$)" { on = 1; print; next } /^ {7}[a-z]/ { on = 0 } on' <<<"$1"
}

@test "ccr-config.1 documents every command and every option of the command table" {
	local cmds c doc e letter o n=0
	cmds=$("$CCR_BUILD/ccr-config" --help | awk '/^commands:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }')
	[ "$(wc -w <<<"$cmds")" -ge 16 ] || fail "could not read the commands"
	doc=$(section "$CONFIG_1" COMMANDS)
	for c in $cmds; do
		grep -qE "^ {7}$c( |$)" <<<"$doc" || fail "ccr-config.1 has no entry for $c"
		e=$(entry "$doc" "$c")
		while read -r letter o; do
			n=$((n + 1))
			grep -qE -- "^ {7}$c .*$o" <<<"$e" || fail "ccr-config.1: $c's synopsis lacks $o"
			[ "$letter" = none ] && letter= || letter="$letter, "
			grep -qE -- "^ {8,}$letter$o( |$)" <<<"$e" ||
				fail "ccr-config.1: $c does not explain $letter$o in an entry of its own"
		done < <(table_options "$c")
	done
	[ "$n" -ge 15 ] || fail "read only $n options"
	doc=$(section "$CONFIG_1" OPTIONS)
	while read -r letter o; do
		[ "$letter" = none ] && letter=
		grep -qE -- "^ +(-[a-zA-Z], )*${letter:+$letter, }(-[a-zA-Z], )*$o( |$)" <<<"$doc" ||
			fail "ccr-config.1 lacks $letter $o"
	done < <("$CCR_BUILD/ccr-config" --help | sed -n '/^options:/,/^$/p' |
		sed -nE 's/^  -([a-zA-Z]), --([a-z][a-z-]+).*/-\1 --\2/p')
}

@test "ccr-config.1 covers the commands being added: check, import, migrate, passphrase, unlock, lock" {
	local doc
	doc=$(section "$CONFIG_1" COMMANDS)
	grep -qE '^ {7}check \[CONFIG\]' <<<"$doc"
	grep -qE '^ {7}import env .*--only.*--overwrite.*--dry-run' <<<"$doc"
	grep -qE '^ {7}import file PATH .*--overwrite.*--dry-run' <<<"$doc"
	grep -qE '^ {7}migrate \[CONFIG\] \[--dry-run\]' <<<"$doc"
	grep -qE '^ {7}passphrase set\|change\|remove \[--stdin\]' <<<"$doc"
	grep -qE '^ {7}unlock \[--for DURATION\]' <<<"$doc"
	grep -qE '^ {7}lock( |$)' <<<"$doc"
	section "$KEYD_8" OPTIONS | grep -qE '^ +--lock-after DURATION'
}

@test "every environment variable the code reads is documented where it applies" {
	local dir var page f
	for dir in common client daemon; do
		for var in $(grep -rhoE '[a-z_]*env[a-z_]*\("[A-Z][A-Z0-9_]*"' "$ROOT/$dir" |
			sed -E 's/.*\("//; s/"$//' | grep -v TEST | sort -u); do
			case $dir in
			common) set -- "$KEYD_8" "$CONFIG_1" ;;
			client) set -- "$CONFIG_1" ;;
			daemon) set -- "$KEYD_8" ;;
			esac
			for page; do
				section "$page" ENVIRONMENT | grep -qE "^ {7}(.*, )?$var(,| |$)" ||
					fail "$(basename "$page") does not document \$$var (read in $dir/)"
			done
		done
	done
	for var in CCR_HOME CCR_KEYS CCR_KEYD_SOCKET XDG_RUNTIME_DIR CCR_KEYD_NO_AUTOSTART CCR_KEYD_BIN; do
		for f in "$KEYD_8" "$CONFIG_1"; do
			section "$f" ENVIRONMENT | grep -qE "^ {7}(.*, )?$var(,| |$)" ||
				fail "$(basename "$f") does not document \$$var"
		done
	done
}

@test "the exit codes are documented: ccr-config 0 to 5, ccr-keyd 0 to 2" {
	local doc c
	doc=$(section "$CONFIG_1" "EXIT STATUS")
	for c in 0 1 2 3 4 5; do
		grep -qE "^ {7}$c( |$)" <<<"$doc" || fail "ccr-config.1: exit $c"
	done
	grep -q 127 <<<"$doc"
	doc=$(section "$KEYD_8" "EXIT STATUS")
	for c in 0 1 2; do
		grep -qE "^ {7}$c( |$)" <<<"$doc" || fail "ccr-keyd.8: exit $c"
	done
	for c in SIGTERM SIGINT SIGHUP; do
		section "$KEYD_8" SIGNALS | grep -q "$c" || fail "ccr-keyd.8: $c"
	done
}

@test "the files are documented: keystore, socket, log, units, LaunchAgent, completions" {
	local doc f
	doc=$(section "$KEYD_8" FILES)
	for f in '~/.claude-code-router/keys' keys.lock keyd.log '$XDG_RUNTIME_DIR/ccr-keyd/sock' \
		keyd.sock ccr-keyd.socket ccr-keyd.service io.github.ccr-keyd.plist; do
		grep -qF -- "$f" <<<"$doc" || fail "ccr-keyd.8 FILES lacks $f"
	done
	doc=$(section "$CONFIG_1" FILES)
	for f in config.json '~/.claude-code-router/keys' bash-completion/completions/ccr-config \
		zsh/site-functions/_ccr-config fish/vendor_completions.d/ccr-config.fish; do
		grep -qF -- "$f" <<<"$doc" || fail "ccr-config.1 FILES lacks $f"
	done
}

@test "every reference to a design file points at docs/DESIGN.md, and every section it cites is there" {
	local refs bad sec n=0
	[ -f "$ROOT/docs/DESIGN.md" ] || fail "docs/DESIGN.md is missing"
	# Sources, build files and docs; what the build and npm put in the tree is not ours.
	refs=$(cd "$ROOT" && grep -rnoE '[A-Za-z0-9._/-]*DESIGN\.md' \
		--exclude-dir=.git --exclude-dir=build --exclude-dir=node_modules --exclude-dir=v2 \
		--exclude=docs.bats .)
	[ -n "$refs" ] || fail "no reference found: the search itself is broken"
	# Outside docs/ the path is docs/DESIGN.md; inside docs/ the sibling DESIGN.md.
	bad=$(printf '%s\n' "$refs" | grep -vE '^\./[^:]+:[0-9]+:docs/DESIGN\.md$' |
		grep -vE '^\./docs/[^/:]+:[0-9]+:DESIGN\.md$' || true)
	[ -z "$bad" ] || fail "references to a design file that is not docs/DESIGN.md:" "$bad"
	# A cited section, as in (DESIGN.md, "Performance targets"), is a heading of it.
	while IFS= read -r sec; do
		n=$((n + 1))
		grep -qE "^#+ $sec\$" "$ROOT/docs/DESIGN.md" ||
			fail "docs/DESIGN.md has no section \"$sec\", which a file cites"
	done < <(cd "$ROOT" && grep -rhoE 'DESIGN\.md\)?,? "[^"]+"' \
		--exclude-dir=.git --exclude-dir=build --exclude-dir=node_modules \
		--exclude=docs.bats . |
		sed -E 's/.*"([^"]+)"/\1/' | sort -u)
	[ "$n" -gt 0 ] || fail "no cited section found: the search itself is broken"
}

@test "README opens with a quick start for router users: install, the three commands, what changed" {
	local top
	top=$(head -30 "$ROOT/README.md")
	[ "$(sed -n 6p "$ROOT/README.md")" = "## Quick start for router users" ] || fail "$(head -8 "$ROOT/README.md")"
	grep -q 'make install PREFIX=~/.local' <<<"$top" || fail "no install in the quick start"
	grep -q 'shell-init bash' <<<"$top" || fail "no shell-init line in the quick start"
	grep -qE '^ccr config migrate ' <<<"$top" && grep -qE '^ccr config check ' <<<"$top" &&
		grep -qE '^ccr code ' <<<"$top" || fail "the three commands are not there"
	grep -q '^What changed:' <<<"$top" || fail "no word of what changed"
	# The implementation comes after it.
	[ "$(grep -n '^## How it works' "$ROOT/README.md" | cut -d: -f1)" -gt 20 ]
}
