# bash completion for ccr-config(1): commands, options, and the key names of
# the running ccr-keyd. Installed as share/bash-completion/completions/ccr-config;
# works without the bash-completion package too (source it from ~/.bashrc).

# _ccr_config_keys CMD [SOCKET]: the key names the daemon holds, one a line.
# Asks `CMD --json list` without ever starting a daemon; prints nothing when
# none answers or it is locked. Names are [A-Za-z0-9._-], so grep and sed
# read them out of the JSON.
_ccr_config_keys() {
	local cmd=$1 sock=$2 json
	json=$(CCR_KEYD_NO_AUTOSTART=1 "$cmd" ${sock:+--socket "$sock"} --json list 2>/dev/null </dev/null) ||
		return 0
	printf '%s\n' "$json" | grep -o '"name":"[A-Za-z0-9._-]*"' | sed 's/^"name":"//; s/"$//'
}

# _ccr_config_reply WORDS...: offer the words that start with the current one.
_ccr_config_reply() {
	local w
	for w in "$@"; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
}

# _ccr_config_files: offer file names.
_ccr_config_files() {
	compopt -o filenames 2>/dev/null
	local IFS=$'\n'
	COMPREPLY+=($(compgen -f -- "$cur"))
}

_ccr_config() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	local cmd=${COMP_WORDS[0]} sock= sub= subi=0 i w nargs=0 first= dashdash=0
	local commands="set get list delete rename bind status exec check shell-init router import migrate
		passphrase unlock lock allow guard confine help version"
	COMPREPLY=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	cmd=${cmd/#\~/$HOME}
	command -v "$cmd" >/dev/null 2>&1 || cmd=ccr-config

	# Global options come before the command; --socket takes a value.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-s | --socket)
			# bash splits --socket=PATH into --socket, =, PATH.
			if [[ ${COMP_WORDS[i + 1]} == = ]]; then
				sock=${COMP_WORDS[i + 2]}
				((i += 2))
			else
				sock=${COMP_WORDS[i + 1]}
				((i++))
			fi
			;;
		-*) ;;
		*)
			sub=$w
			subi=$i
			break
			;;
		esac
	done
	sock=${sock/#\~/$HOME}

	if [[ -z $sub ]]; then
		case $prev in
		-s | --socket)
			_ccr_config_files
			return 0
			;;
		=)
			if [[ ${COMP_WORDS[COMP_CWORD - 2]} == --socket ]]; then
				_ccr_config_files
				return 0
			fi
			;;
		esac
		if [[ $cur == -* ]]; then
			_ccr_config_reply --socket --json --version --help
		else
			_ccr_config_reply $commands
		fi
		return 0
	fi

	# Positional arguments of the command before the current word.
	for ((i = subi + 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if ((dashdash)); then
			((nargs++))
			continue
		fi
		case $w in
		--) dashdash=1 ;;
		--env | --from-env | --only | --for) ((i++)) ;;
		-*) ;;
		*)
			((nargs++ == 0)) && first=$w
			;;
		esac
	done

	case $prev in
	--env | --for) return 0 ;;
	--from-env)
		COMPREPLY=($(compgen -e -- "$cur"))
		return 0
		;;
	--only)
		COMPREPLY=($(compgen -e -- "${cur##*,}" | grep '_API_KEY$' | sed "s/^/${cur%"${cur##*,}"}/"))
		return 0
		;;
	esac

	case $sub in
	set)
		if [[ $cur == -* ]]; then
			_ccr_config_reply --env --from-env --help
		elif ((nargs == 0)); then
			_ccr_config_reply $(_ccr_config_keys "$cmd" "$sock")
		fi
		;;
	rename)
		if [[ $cur == -* ]]; then
			_ccr_config_reply --json --help
		elif ((nargs == 0)); then
			_ccr_config_reply $(_ccr_config_keys "$cmd" "$sock")
		fi
		;;
	get | delete)
		if [[ $cur == -* ]]; then
			[[ $sub == delete ]] && _ccr_config_reply --yes
			[[ $sub == get ]] && _ccr_config_reply --reveal
			_ccr_config_reply --json --help
		elif ((nargs == 0)); then
			_ccr_config_reply $(_ccr_config_keys "$cmd" "$sock")
		fi
		;;
	bind)
		if [[ $cur == -* ]]; then
			_ccr_config_reply --add --remove --from-config --json --help
		elif ((nargs == 0)); then
			_ccr_config_reply $(_ccr_config_keys "$cmd" "$sock")
		else
			_ccr_config_reply https:// http://
		fi
		;;
	list | status | version)
		_ccr_config_reply --json --help
		;;
	lock)
		_ccr_config_reply --help
		;;
	unlock)
		_ccr_config_reply --for --stdin --help
		;;
	exec)
		if ((dashdash)); then
			if ((nargs == 0)); then
				COMPREPLY=($(compgen -c -- "$cur" | sort -u))
			else
				_ccr_config_files
			fi
		else
			if [[ $prev == --only ]]; then
				_ccr_config_reply $(_ccr_config_keys "$cmd" "$sock")
			else
				_ccr_config_reply --all --only --fallback-env -- --help
			fi
		fi
		;;
	router)
		if ((dashdash)); then
			((nargs == 0)) && _ccr_config_reply start stop restart status code ui model \
				activate version help
		else
			_ccr_config_reply --keep-env --fallback-env --background --no-confine -- --help
		fi
		;;
	check | migrate)
		if [[ $cur == -* ]]; then
			[[ $sub == migrate ]] && _ccr_config_reply --dry-run
			_ccr_config_reply --help
		elif ((nargs == 0)); then
			_ccr_config_files
		fi
		;;
	shell-init)
		if [[ $cur == -* ]]; then
			_ccr_config_reply --agents --help
		elif ((nargs == 0)); then
			_ccr_config_reply bash zsh fish
		fi
		;;
	import)
		if ((nargs == 0)); then
			[[ $cur == -* ]] && _ccr_config_reply --help || _ccr_config_reply env file
		elif [[ $first == env ]]; then
			_ccr_config_reply --only --overwrite --dry-run
		elif [[ $first == file ]]; then
			if [[ $cur == -* ]]; then
				_ccr_config_reply --overwrite --dry-run
			elif ((nargs == 1)); then
				_ccr_config_files
			fi
		fi
		;;
	passphrase)
		if [[ $cur == -* ]]; then
			_ccr_config_reply --stdin --help
		elif ((nargs == 0)); then
			_ccr_config_reply set change remove
		fi
		;;
	allow)
		if [[ $prev == --for ]]; then
			_ccr_config_reply 90s 10m 1h
		elif [[ $cur == -* ]]; then
			_ccr_config_reply --all --for --revoke --help
		else
			_ccr_config_reply $(_ccr_config_keys "$cmd" "$sock")
		fi
		;;
	guard | confine)
		if ((dashdash)) || [[ -n $first && $first != -* ]]; then
			if ((nargs == 0)); then
				COMPREPLY=($(compgen -c -- "$cur" | sort -u))
			else
				_ccr_config_files
			fi
		elif [[ $cur == -* ]]; then
			[[ $sub == guard ]] && _ccr_config_reply --no-confine
			_ccr_config_reply -- --help
		else
			COMPREPLY=($(compgen -c -- "$cur" | sort -u))
		fi
		;;
	help)
		((nargs == 0)) && _ccr_config_reply $commands
		;;
	esac
	return 0
}

complete -F _ccr_config ccr-config
