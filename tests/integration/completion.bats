#!/usr/bin/env bats
# Shell completion for ccr-config in bash, zsh and fish: the scripts load
# without a word of output, offer every command and the options of each, and
# offer the key names of a running daemon — without ever starting one.

load helpers

COMP=$ROOT/completions

setup() {
	export TZ=UTC CCR_KEYD_NO_AUTOSTART=1
	export CCR_HOME=$BATS_TEST_TMPDIR/home
	export CCR_KEYS=$CCR_HOME/keys
	unset XDG_RUNTIME_DIR CCR_KEYD_SOCKET CCR_KEYD_BIN
	# The completions run the ccr-config being completed: this build's.
	export PATH=$CCR_BUILD:$PATH
	SOCK=$BATS_TEST_TMPDIR/run/sock
	LOG=$BATS_TEST_TMPDIR/keyd.log
	PIDS=()
	mkdir -p -m 700 "$BATS_TEST_TMPDIR/run"
	[ -x "$KEYD" ] && [ -x "$CLI" ] || fail "build the binaries first: make"
}

teardown() {
	local pid
	# A daemon a completion started by mistake: stop it by the pid it reports.
	if [ -S "${XDG_RUNTIME_DIR:-/nonexistent}/ccr-keyd/sock" ]; then
		pid=$(CCR_KEYD_NO_AUTOSTART=1 "$CLI" --socket "$XDG_RUNTIME_DIR/ccr-keyd/sock" --json status |
			grep -o '"pid":[0-9]*' | cut -d: -f2)
		[ -z "$pid" ] || PIDS+=("$pid")
	fi
	for pid in "${PIDS[@]}"; do
		alive "$pid" || continue
		kill -TERM "$pid" 2>/dev/null || true
		wait_gone "$pid" 2000 || kill -KILL "$pid" 2>/dev/null || true
	done
}

# start_daemon_with_keys: a daemon on $SOCK holding cerebras and open-router.v2.
start_daemon_with_keys() {
	local i
	"$KEYD" --socket "$SOCK" >>"$LOG" 2>&1 </dev/null &
	PIDS+=("$!")
	for ((i = 0; i < 250; i++)); do
		[ -S "$SOCK" ] && break
		sleep 0.02
	done
	printf '%s\n' "$KEY1" | "$CLI" --socket "$SOCK" set cerebras >/dev/null
	printf '%s\n' "$KEY2" | "$CLI" --socket "$SOCK" set open-router.v2 >/dev/null
}

# help_commands: the commands of ccr-config's table, as --help lists them.
help_commands() {
	"$CLI" --help | awk '/^commands:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }' |
		sort -u
}

# bash_complete WORD...: the candidates bash offers for the last WORD, sorted.
bash_complete() {
	bash --norc --noprofile -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
		_ccr_config
		printf "%s\n" "${COMPREPLY[@]}"' bash "$COMP/ccr-config.bash" "$@" | sort -u
}

# fish_complete LINE: the candidates fish offers at the end of LINE, sorted.
fish_complete() {
	fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$COMP/ccr-config.fish" "$1" |
		cut -f1 | sort -u
}

# zsh_complete LINE: the candidates zsh offers when Tab is pressed after LINE,
# sorted. Drives an interactive zsh in a pseudo-terminal (zsh/zpty) with
# compinit and the completion directory in $fpath; compadd is wrapped to print
# what it is given instead of adding it.
zsh_complete() {
	local driver=$BATS_TEST_TMPDIR/zcomplete.zsh
	cat >"$driver" <<'EOF'
zmodload zsh/zpty || exit 2
integer deadline=$(( SECONDS + 20 ))
# wait_for MARK: read the terminal until <<MARK>>, printing the matches seen.
wait_for() {
  local line m
  while (( SECONDS < deadline )); do
    zpty -r -t z line 2>/dev/null || { sleep 0.02; continue; }
    line=${line//$'\r'/}
    while [[ $line == *'<<match:'*'>>'* ]]; do
      m=${line#*<<match:}
      print -r -- ${m%%>>*}
      line=${line#*<<match:*>>}
    done
    [[ $line == *"<<$1>>"* ]] && return 0
  done
  return 1
}
zpty z zsh -f -i || exit 2
zpty -w z "PS1='' PS2='' RPS1=''; fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' insert-tab false; bindkey '^I' complete-word"
[[ -n $3 ]] && zpty -w z "$3"
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits; builtin compadd -A __hits "$@"
  local __h; for __h in $__hits; do print -r -- "<""<match:$__h>"">" >/dev/tty; done
  return 1
}'
zpty -w z 'print -r -- "<""<ready>"">"'
wait_for ready >/dev/null || { zpty -d z; exit 3; }
zpty -n -w z "$2"$'\t'
sleep 0.3
zpty -n -w z $'\C-u'
zpty -w z 'print -r -- "<""<end>"">"'
wait_for end
rc=$?
zpty -d z
exit $rc
EOF
	zsh -f "$driver" "${FPATH_DIR-$COMP}" "$1" "${2:-}" | sort -u
}

# ccr_bash_complete WORD...: the candidates the `ccr` function's completion
# (ccr-config shell-init bash) offers for the last WORD, sorted.
ccr_bash_complete() {
	bash --norc --noprofile -c '
		eval "$("$1" shell-init bash)"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
		_ccr_shell
		printf "%s\n" "${COMPREPLY[@]}"' bash "$CLI" "$@" | sed '/^$/d' | sort -u
}

# ccr_fish_complete LINE: what fish offers at the end of LINE with the `ccr` function loaded.
ccr_fish_complete() {
	fish --no-config -c '$argv[1] shell-init fish | source; complete -C $argv[2]' "$CLI" "$1" |
		cut -f1 | sort -u
}

# The router's commands `ccr <TAB>` offers.
ROUTER_WORDS=$'activate\ncode\nconfig\nhelp\nmodel\nrestart\nstart\nstatus\nstop\nui\nversion'


@test "bash: the script loads silently and registers the completion" {
	run bash --norc --noprofile -c 'source "$1" && complete -p ccr-config' bash "$COMP/ccr-config.bash"
	[ "$status" -eq 0 ]
	[ "$output" = 'complete -F _ccr_config ccr-config' ] || fail "$output"
}

@test "bash: every command, the global options, and each command's options" {
	diff <(help_commands) <(bash_complete ccr-config "") >&2
	[ "$(bash_complete ccr-config --)" = $'--help\n--json\n--socket\n--version' ]
	[ "$(bash_complete ccr-config --socket /x s)" = $'set\nshell-init\nstatus' ]
	[ "$(bash_complete ccr-config set NAME --)" = $'--env\n--from-env\n--help' ]
	[ "$(bash_complete ccr-config exec -)" = $'--\n--all\n--fallback-env\n--help\n--only' ]
	[ "$(bash_complete ccr-config exec --all -- tru)" = "$(compgen -c -- tru | sort -u)" ]
	[ "$(bash_complete ccr-config shell-init "")" = $'bash\nfish\nzsh' ]
	[ "$(bash_complete ccr-config import "")" = $'env\nfile' ]
	[ "$(bash_complete ccr-config import env --)" = $'--dry-run\n--only\n--overwrite' ]
	[ "$(bash_complete ccr-config passphrase "")" = $'change\nremove\nset' ]
	[ "$(bash_complete ccr-config unlock --)" = $'--for\n--help\n--stdin' ]
}

# usage_options CMD: the options of CMD's table entry, as its --help lists them
# under options: (--json and --help, which every command takes, left out).
usage_options() {
	"$CLI" "$1" --help | sed -n '/^options:/,/^$/p' |
		grep -oE -- '^  (-[a-zA-Z], |    )--[a-z][a-z-]+' | grep -oE -- '--[a-z][a-z-]+' |
		grep -vxE -- '--(json|help)' | sort -u
}

# missing WANTED OFFERED: the lines of WANTED that OFFERED lacks.
missing() {
	comm -23 <(printf '%s\n' "$1" | sort -u) <(printf '%s\n' "$2" | sort -u)
}

@test "bash, zsh and fish offer every option of each command's table entry" {
	local c want
	[ "$(usage_options import)" = $'--dry-run\n--only\n--overwrite' ] || fail "cannot read the table"
	for c in $(help_commands); do
		[ "$c" != help ] || continue
		want=$(usage_options "$c")
		[ -n "$want" ] || continue
		case $c in
		import)
			[ -z "$(missing "$(usage_options import | grep -v -e --only)" \
				"$(bash_complete ccr-config import file x --)")" ] || fail "bash: import file"
			[ -z "$(missing "$want" "$(bash_complete ccr-config import env --)")" ] ||
				fail "bash: import env"
			[ -z "$(missing "$want" "$(fish_complete 'ccr-config import env --')")" ] ||
				fail "fish: import env"
			[ -z "$(missing "$want" "$(zsh_complete 'ccr-config import env --')")" ] ||
				fail "zsh: import env"
			continue
			;;
		esac
		[ -z "$(missing "$want" "$(zsh_complete "ccr-config $c --")")" ] ||
			fail "zsh: $c lacks $(missing "$want" "$(zsh_complete "ccr-config $c --")")"
		[ -z "$(missing "$want" "$(bash_complete ccr-config "$c" --)")" ] ||
			fail "bash: $c lacks $(missing "$want" "$(bash_complete ccr-config "$c" --)")"
		[ -z "$(missing "$want" "$(fish_complete "ccr-config $c --")")" ] ||
			fail "fish: $c lacks $(missing "$want" "$(fish_complete "ccr-config $c --")")"
	done
}

@test "bash: key names come from the running daemon, honouring --socket" {
	start_daemon_with_keys
	[ "$(bash_complete ccr-config --socket "$SOCK" get "")" = $'cerebras\nopen-router.v2' ]
	[ "$(bash_complete ccr-config --socket "$SOCK" delete op)" = open-router.v2 ]
	CCR_KEYD_SOCKET=$SOCK
	export CCR_KEYD_SOCKET
	[ "$(bash_complete ccr-config set c)" = cerebras ]
	# Only the first argument is a key name.
	[ -z "$(bash_complete ccr-config get cerebras "")" ]
}

@test "zsh: the script loads from fpath and when sourced after compinit, silently" {
	run --separate-stderr zsh -f -c 'fpath=($1 $fpath); autoload -U compinit; compinit -u -D
		print -r -- $_comps[ccr-config]' zsh "$COMP"
	[ "$status" -eq 0 ] && [ -z "$stderr" ] || fail "$stderr"
	[ "$output" = _ccr-config ] || fail "$output"
	run --separate-stderr zsh -f -c 'autoload -U compinit; compinit -u -D; source $1
		print -r -- $_comps[ccr-config]' zsh "$COMP/_ccr-config"
	[ "$status" -eq 0 ] && [ -z "$stderr" ] || fail "$stderr"
	[ "$output" = _ccr-config ] || fail "$output"
}

@test "zsh: every command, options, and the key names of the running daemon" {
	diff <(help_commands) <(zsh_complete 'ccr-config ') >&2
	[ "$(zsh_complete 'ccr-config import env --')" = $'--dry-run\n--only\n--overwrite' ]
	[ "$(zsh_complete 'ccr-config exec -- tru')" = "$(compgen -c -- tru | sort -u)" ]
	start_daemon_with_keys
	[ "$(zsh_complete "ccr-config --socket $SOCK get ")" = $'cerebras\nopen-router.v2' ]
}

@test "fish: the script loads silently and lists the commands" {
	run --separate-stderr fish --no-config -c 'source $argv[1]; complete -C "ccr-config "' \
		"$COMP/ccr-config.fish"
	[ "$status" -eq 0 ] && [ -z "$stderr" ] || fail "$stderr"
	diff <(help_commands) <(printf '%s\n' "$output" | cut -f1 | sort -u) >&2
}

@test "fish: options of each command, and the key names of the running daemon" {
	[ "$(fish_complete 'ccr-config import env --')" = $'--dry-run\n--help\n--json\n--only\n--overwrite' ]
	[ "$(fish_complete 'ccr-config passphrase ')" = $'change\nremove\nset' ]
	[ "$(fish_complete 'ccr-config exec -- tru')" = "$(compgen -c -- tru | sort -u)" ]
	start_daemon_with_keys
	[ "$(fish_complete "ccr-config --socket $SOCK get ")" = $'cerebras\nopen-router.v2' ]
	[ "$(fish_complete "ccr-config --socket=$SOCK delete ce")" = cerebras ]
}

@test "completing a key name never starts a daemon" {
	unset CCR_KEYD_NO_AUTOSTART
	export CCR_KEYD_BIN=$KEYD XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/xdg
	mkdir -m 700 "$XDG_RUNTIME_DIR"
	[ -z "$(bash_complete ccr-config get "")" ]
	[ -z "$(fish_complete 'ccr-config get ')" ]
	[ -z "$(zsh_complete 'ccr-config get ')" ]
	[ ! -e "$XDG_RUNTIME_DIR/ccr-keyd/sock" ] || fail "a daemon was started"
	[ ! -e "$CCR_HOME/keyd.log" ] || fail "a daemon was started"
}

@test "bash: ccr config <TAB> completes through the ccr function as ccr-config does" {
	run bash --norc --noprofile -c 'eval "$("$1" shell-init bash)"; complete -p ccr' bash "$CLI"
	[ "$output" = 'complete -F _ccr_shell ccr' ] || fail "$output"
	[ "$(ccr_bash_complete ccr config ge)" = get ] || fail "$(ccr_bash_complete ccr config ge)"
	diff <(help_commands | grep -v '^help$') <(ccr_bash_complete ccr config "" | grep -v '^help$') >&2
	[ "$(ccr_bash_complete ccr config shell-init "")" = $'bash\nfish\nzsh' ]
	[ "$(ccr_bash_complete ccr config set NAME --)" = $'--env\n--from-env\n--help' ]
	[ "$(ccr_bash_complete ccr "")" = "$ROUTER_WORDS" ] || fail "$(ccr_bash_complete ccr "")"
	[ -z "$(ccr_bash_complete ccr code "")" ]
	start_daemon_with_keys
	[ "$(ccr_bash_complete ccr config --socket "$SOCK" get "")" = $'cerebras\nopen-router.v2' ]
}

@test "zsh: ccr config <TAB> completes through the ccr function, from fpath or beside ccr-config" {
	local setup='eval "$('"$CLI"' shell-init zsh)"'
	[ "$(zsh_complete 'ccr config shell-init ' "$setup")" = $'bash\nfish\nzsh' ]
	[ "$(zsh_complete 'ccr ' "$setup")" = "$ROUTER_WORDS" ] || fail "$(zsh_complete 'ccr ' "$setup")"
	start_daemon_with_keys
	[ "$(zsh_complete "ccr config --socket $SOCK get " "$setup")" = $'cerebras\nopen-router.v2' ]
	# Not installed in $fpath: the function finds the script beside ccr-config.
	FPATH_DIR=$BATS_TEST_TMPDIR/empty
	mkdir -p "$FPATH_DIR"
	[ "$(zsh_complete 'ccr config passphrase ' "$setup")" = $'change\nremove\nset' ] ||
		fail "$(zsh_complete 'ccr config passphrase ' "$setup")"
}

@test "fish: ccr config <TAB> completes through the ccr function as ccr-config does" {
	[ "$(ccr_fish_complete 'ccr config shell-init ')" = $'bash\nfish\nzsh' ]
	[ "$(ccr_fish_complete 'ccr config passphrase ')" = $'change\nremove\nset' ]
	[ "$(ccr_fish_complete 'ccr ')" = "$ROUTER_WORDS" ] || fail "$(ccr_fish_complete 'ccr ')"
	start_daemon_with_keys
	[ "$(ccr_fish_complete "ccr config --socket $SOCK get ")" = $'cerebras\nopen-router.v2' ]
}

@test "router: its options, and the router's commands after --" {
	[ "$(bash_complete ccr-config router -)" = $'--\n--background\n--fallback-env\n--help\n--keep-env\n--no-confine' ]
	[ "$(bash_complete ccr-config router -- st)" = $'start\nstatus\nstop' ]
	[ "$(fish_complete 'ccr-config router -- st')" = $'start\nstatus\nstop' ]
	[ "$(zsh_complete 'ccr-config router -- st')" = $'start\nstatus\nstop' ]
}
