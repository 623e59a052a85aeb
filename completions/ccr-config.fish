# fish completion for ccr-config(1): commands, options, and the key names of the
# running ccr-keyd. Installed as share/fish/vendor_completions.d/ccr-config.fish
# (or copy it to ~/.config/fish/completions/).

# The command being completed (its first non-option word), or nothing.
function __ccr_config_command
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case -s --socket
                set -e words[1]
            case '-*'
            case '*'
                echo $words[1]
                return 0
        end
        set -e words[1]
    end
    return 1
end

# True when no command has been given yet.
function __ccr_config_needs_command
    not __ccr_config_command >/dev/null
end

# True when the command is one of the arguments.
function __ccr_config_using
    set -l cmd (__ccr_config_command)
    or return 1
    contains -- $cmd $argv
end

# The positional arguments after the command (options and their values left out).
function __ccr_config_args
    set -l words (commandline -opc)
    set -e words[1]
    set -l seen 0
    set -l skip 0
    for w in $words
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $w
            case -s --socket --env --from-env --only --for
                set skip 1
            case '-*'
            case '*'
                if test $seen -eq 1
                    echo $w
                else
                    set seen 1
                end
        end
    end
end

# True when the command is $argv[1] and it has exactly $argv[2] positional arguments so far.
function __ccr_config_at
    __ccr_config_using $argv[1]
    or return 1
    test (count (__ccr_config_args)) -eq $argv[2]
end

# True when the command is import and its first argument is $argv[1].
function __ccr_config_import
    __ccr_config_using import
    or return 1
    set -l args (__ccr_config_args)
    test "$args[1]" = $argv[1]
end

# True when the command line already has a "--" (exec: the command follows).
function __ccr_config_after_dashdash
    contains -- -- (commandline -opc)
end

# exec -- CMD ARGS: complete CMD, then whatever CMD's own completion offers.
function __ccr_config_exec_complete
    set -l words (commandline -opc)
    set -l i (contains -i -- -- $words)
    set -l rest $words[(math $i + 1)..-1]
    if not set -q rest[1]
        __fish_complete_command
    else
        complete -C (string join ' ' -- (string escape -- $rest) (commandline -ct))
    end
end

# The key names the daemon holds, from `ccr-config --json list`. Never starts a
# daemon; nothing when none answers or it is locked.
function __ccr_config_keys
    set -l words (commandline -opc)
    set -l cmd $words[1]
    command -sq -- $cmd; or test -x "$cmd"; or set cmd ccr-config
    set -l sock
    set -l i 2
    while test $i -lt (count $words)
        if contains -- $words[$i] -s --socket
            set sock --socket $words[(math $i + 1)]
        end
        set i (math $i + 1)
    end
    for w in $words
        string match -q -- '--socket=*' $w; and set sock --socket (string replace -- '--socket=' '' $w)
    end
    env CCR_KEYD_NO_AUTOSTART=1 $cmd $sock --json list 2>/dev/null </dev/null |
        string match -ar '"name":"[A-Za-z0-9._-]*"' |
        string replace -r '^"name":"(.*)"$' '$1'
end

complete -c ccr-config -f

# Global options.
complete -c ccr-config -n __ccr_config_needs_command -s s -l socket -r -F -d 'Talk to the daemon on this socket'
complete -c ccr-config -n 'not __ccr_config_after_dashdash' -s j -l json -d 'Print JSON'
complete -c ccr-config -n __ccr_config_needs_command -s v -l version -d 'Print the version'
complete -c ccr-config -n __ccr_config_needs_command -s V -d 'Print the version'
complete -c ccr-config -n 'not __ccr_config_after_dashdash' -s h -l help -d 'Show help'

# Commands.
complete -c ccr-config -n __ccr_config_needs_command -a set -d 'Store a key (stdin, prompt, or --from-env)'
complete -c ccr-config -n __ccr_config_needs_command -a get -d "Show a key's env name, masked value, update time, origins"
complete -c ccr-config -n __ccr_config_needs_command -a list -d 'List keys, masked, with their origins'
complete -c ccr-config -n __ccr_config_needs_command -a delete -d 'Delete a key'
complete -c ccr-config -n __ccr_config_needs_command -a rename -d 'Give a key another name'
complete -c ccr-config -n __ccr_config_needs_command -a bind -d 'Show or set the origins a key may be sent to'
complete -c ccr-config -n __ccr_config_needs_command -a status -d 'Is ccr-keyd running, how was it started'
complete -c ccr-config -n __ccr_config_needs_command -a exec -d "Run a command with the keys the router's config references"
complete -c ccr-config -n __ccr_config_needs_command -a check -d "Where each key the router's config references comes from"
complete -c ccr-config -n __ccr_config_needs_command -a shell-init -d 'Print the ccr shell function'
complete -c ccr-config -n __ccr_config_needs_command -a router -d "Run the router's ccr, keys only to its server"
complete -c ccr-config -n __ccr_config_needs_command -a import -d 'Store keys from the environment or a key file'
complete -c ccr-config -n __ccr_config_needs_command -a migrate -d "Move literal keys out of the router's config.json"
complete -c ccr-config -n __ccr_config_needs_command -a passphrase -d 'Seal the keystore, change or remove its passphrase'
complete -c ccr-config -n __ccr_config_needs_command -a unlock -d 'Unlock a sealed keystore'
complete -c ccr-config -n __ccr_config_needs_command -a lock -d 'Lock a sealed keystore now'
complete -c ccr-config -n __ccr_config_needs_command -a allow -d 'Let coding agents read keys for a while'
complete -c ccr-config -n __ccr_config_needs_command -a guard -d 'Run a coding agent so that it and all it starts get no key, confined'
complete -c ccr-config -n __ccr_config_needs_command -a confine -d 'Run a command where it reaches no keystore, socket or process of ccr-keyd'
complete -c ccr-config -n __ccr_config_needs_command -a help -d 'List the commands or show one'
complete -c ccr-config -n __ccr_config_needs_command -a version -d 'Print the version'

# set NAME [--env VAR] [--from-env VAR]; get NAME [--reveal]; delete NAME
complete -c ccr-config -n '__ccr_config_at set 0; or __ccr_config_at get 0; or __ccr_config_at delete 0; or __ccr_config_at rename 0' -a '(__ccr_config_keys)' -d Key
complete -c ccr-config -n '__ccr_config_using set' -l env -x -d 'Environment name of the key'
complete -c ccr-config -n '__ccr_config_using set' -l from-env -x -a '(set -xn)' -d 'Read the value from this variable'
complete -c ccr-config -n '__ccr_config_using delete' -s y -l yes -d 'Delete without asking'
complete -c ccr-config -n '__ccr_config_using get' -s r -l reveal -d 'Print the raw value alone (outside any agent; audited)'

# bind NAME [URL...] [--add|--remove] [--from-config]
complete -c ccr-config -n '__ccr_config_at bind 0' -a '(__ccr_config_keys)' -d Key
complete -c ccr-config -n '__ccr_config_using bind' -s a -l add -d 'Add the origins of the URLs'
complete -c ccr-config -n '__ccr_config_using bind' -s r -l remove -d 'Remove the origins of the URLs'
complete -c ccr-config -n '__ccr_config_using bind' -s c -l from-config -d "The origins config.json gives the key"

# exec [--all] [--fallback-env] -- CMD [ARGS...]
complete -c ccr-config -n '__ccr_config_using exec; and not __ccr_config_after_dashdash' -l all -d 'Inject every key, referenced or not'
complete -c ccr-config -n '__ccr_config_using exec; and not __ccr_config_after_dashdash' -l only -x -a '(__ccr_config_keys)' -d 'Inject only these keys'
complete -c ccr-config -n '__ccr_config_using exec; and not __ccr_config_after_dashdash' -l fallback-env -d 'Run with the plain environment when the daemon fails'
complete -c ccr-config -n '__ccr_config_using exec; and not __ccr_config_after_dashdash' -a -- -d 'End of options; the command follows'
complete -c ccr-config -n '__ccr_config_using exec; and __ccr_config_after_dashdash' -x -a '(__ccr_config_exec_complete)'

# router [--keep-env] [--fallback-env] [--background] -- ROUTER-ARGS
complete -c ccr-config -n '__ccr_config_using router; and not __ccr_config_after_dashdash' -l keep-env -d 'code, ui: keep the provider keys exported in the shell'
complete -c ccr-config -n '__ccr_config_using router; and not __ccr_config_after_dashdash' -l fallback-env -d 'Start with the plain environment when the daemon fails'
complete -c ccr-config -n '__ccr_config_using router; and not __ccr_config_after_dashdash' -l background -d 'start: return once the router listens'
complete -c ccr-config -n '__ccr_config_using router; and not __ccr_config_after_dashdash' -l no-confine -d 'code: the agent under the guard only, not confined'
complete -c ccr-config -n '__ccr_config_using router; and not __ccr_config_after_dashdash' -a -- -d "End of options; the router's command follows"
complete -c ccr-config -n '__ccr_config_using router; and __ccr_config_after_dashdash; and __ccr_config_at router 0' -a 'start stop restart status code ui model activate version help'

# check [CONFIG]; migrate [CONFIG] [--dry-run]
complete -c ccr-config -n '__ccr_config_at check 0; or __ccr_config_at migrate 0' -F
complete -c ccr-config -n '__ccr_config_using migrate' -l dry-run -d 'Show what would change, change nothing'

# shell-init [--agents] bash|zsh|fish
complete -c ccr-config -n '__ccr_config_using shell-init' -s a -l agents -d 'Also wrap the coding agents: each under the guard, confined'
complete -c ccr-config -n '__ccr_config_at shell-init 0' -a 'bash zsh fish'

# import env [--only A,B] [--overwrite] [--dry-run]; import file PATH [...]
complete -c ccr-config -n '__ccr_config_at import 0' -a env -d 'Variables named *_API_KEY'
complete -c ccr-config -n '__ccr_config_at import 0' -a file -d 'A key file'
complete -c ccr-config -n '__ccr_config_import file; and __ccr_config_at import 1' -F
complete -c ccr-config -n '__ccr_config_import env' -l only -x -a '(set -xn | string match "*_API_KEY")' -d 'Import only these variables'
complete -c ccr-config -n '__ccr_config_using import' -l overwrite -d 'Replace keys that hold another value'
complete -c ccr-config -n '__ccr_config_using import' -l dry-run -d 'Show what would change, change nothing'

# passphrase set|change|remove [--stdin]
complete -c ccr-config -n '__ccr_config_at passphrase 0' -a set -d 'Seal the keystore'
complete -c ccr-config -n '__ccr_config_at passphrase 0' -a change -d 'Change the passphrase'
complete -c ccr-config -n '__ccr_config_at passphrase 0' -a remove -d 'Go back to a plain keystore'
complete -c ccr-config -n '__ccr_config_using passphrase' -l stdin -d 'Read the passphrase as one line from stdin'

# unlock [--for DURATION]
complete -c ccr-config -n '__ccr_config_using unlock' -l for -x -d 'Lock again after this long (90s, 15m, 2h)'
complete -c ccr-config -n '__ccr_config_using unlock' -l stdin -d 'Read the passphrase as one line from stdin'

# allow NAME...|--all [--for DURATION] [--revoke]
complete -c ccr-config -n '__ccr_config_using allow' -a '(__ccr_config_keys)' -d Key
complete -c ccr-config -n '__ccr_config_using allow' -l all -d 'Every key'
complete -c ccr-config -n '__ccr_config_using allow' -l for -x -d 'How long (default 10m; 90s, 15m, 2h)'
complete -c ccr-config -n '__ccr_config_using allow' -l revoke -d 'Take the override back'

# guard [--no-confine] [--] CMD [ARGS...], confine [--] CMD [ARGS...]
complete -c ccr-config -n '__ccr_config_using guard; and not __ccr_config_after_dashdash' -l no-confine -d 'The guard only: no kernel confinement'
complete -c ccr-config -n '__ccr_config_using guard confine; and not __ccr_config_after_dashdash' -a -- -d 'End of options; the command follows'
complete -c ccr-config -n '__ccr_config_using guard confine; and __ccr_config_after_dashdash' -x -a '(__ccr_config_exec_complete)'

# help [COMMAND]
complete -c ccr-config -n '__ccr_config_at help 0' -a 'set get list delete rename bind status exec check shell-init router import migrate passphrase unlock lock allow guard confine version'
