/*
 * What every ccr-config command shares: the command table entry, the run-time
 * context, the daemon connection (with auto-start), error reporting with the
 * exit codes of docs/DESIGN.md, and reading a key without echo or argv.
 */
#ifndef CCR_CLI_H
#define CCR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "buf.h"
#include "conn.h"
#include "paths.h"
#include "proto.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_NOT_FOUND = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
	EXIT_DENIED = 4,
	EXIT_FAILURE_OTHER = 5,
};

struct cli;
struct names;

/*
 * What an option's argument must be. The parser refuses one that is not,
 * where it stands on the command line: "--for needs a duration (90s, 15m,
 * 2h), not 'soon'".
 */
enum cmd_arg_rule {
	ARG_ANY,         /* any word */
	ARG_DURATION,    /* a duration longer than zero (unlock --for) */
	ARG_DURATION_1S, /* a duration of a second or more (allow --for: whole seconds) */
};

/* One option of a command, as --help, the parser, the man page check and the completions read it.
 */
struct cmd_option {
	const char *name;       /* the long name without its dashes: "env" */
	char letter;            /* the short name ('e' for -e), or 0 for none */
	const char *arg;        /* the argument's name ("VAR"), or NULL for a flag */
	const char *help;       /* what it does, in one line */
	enum cmd_arg_rule rule; /* what the argument must be */
};

/* The most options one command may have (--json and --help not counted). */
#define CMD_OPTIONS_MAX 8

/* cmd_args.max for a command that takes any number of operands. */
#define CMD_ARGS_ANY (-1)

/* What a command takes after its options: the parser checks it before the command runs. */
struct cmd_args {
	int min;       /* operands at least */
	int max;       /* operands at most, or CMD_ARGS_ANY */
	bool in_order; /* options end at the first operand (what follows is another program's) */
	bool literal;  /* no option parsing: every word, "--" and "-x" too, is an operand */
};

/* A command line parsed by its table entry: what a command's run receives. */
struct args {
	char *value[CMD_OPTIONS_MAX]; /* option i's argument (in argv), "" for a flag, or NULL */
	int argc;                     /* the operands */
	char **argv;                  /* argc operands, then NULL */
};

/* One command: a table entry in main.c, defined in its own cmd_*.c file. */
struct command {
	const char *name;
	const char *usage;                /* arguments after the name */
	const char *summary;              /* one line for --help */
	const struct cmd_option *options; /* ended by an entry without a name; NULL for none */
	struct cmd_args args;             /* how many operands, and how options end */
	const char *json;    /* what --json prints on success, or NULL when only errors */
	const char *example; /* one command line for --help */
	int (*run)(struct cli *cli, const struct args *args);
};

struct cli {
	const struct command *const *commands;
	const struct command *cmd;
	char socket[PATHS_MAX];
	bool json;
	bool autostart;     /* may start ccr-keyd when nobody answers */
	bool env_confirmed; /* a person said yes to an env name unlike a credential's */
	int timeout_ms;     /* how long to wait for a reply; 0 for the default */
	struct conn conn;
	bool connected;
	const char *progname;
	char bad_option[160]; /* what cli_parse found wrong with an option, for cli_usage to say */
};

/*
 * Parse a command's arguments (argv[0] is its name) by its table entry into
 * args: each option's argument, checked by its rule, then the operands,
 * counted. Returns 0, or EXIT_USAGE after saying what was wrong.
 */
int cli_parse(struct cli *cli, int argc, char **argv, struct args *args);

/* True when the command line has option opt (an index in the command's options). */
static inline bool
args_has(const struct args *args, int opt)
{
	return args->value[opt] != NULL;
}

/* True when s is one of the NULL-terminated list (false for a NULL s). */
bool cli_one_of(const char *s, const char *const *list);

/*
 * Find name as execvp would (on PATH when it has no slash, else as is) and
 * write its path to out. Returns 0, or -1 with errno ENOENT (nowhere) or
 * EACCES (found, not executable).
 */
int cli_which(const char *name, char *out, size_t size);

/* Print a command's --help: usage, summary, one line per option, an example. */
void cli_command_help(const struct command *cmd, FILE *f);

/* Print the list of commands for ccr-config --help. */
void cli_help(const struct command *const *commands, FILE *f);

/*
 * Report an error and return code: "ccr-config: MESSAGE" on stderr, or, with
 * --json, {"ok":false,"error":NAME,"message":MESSAGE} on stdout once the command
 * ends with a non-zero code (the first error only; later ones go to stderr).
 */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Begin the --json success document about the key called name: {"ok":true,"name":NAME. */
void cli_json_key(struct buf *doc, const char *name);

/*
 * End a --json success document begun with proto_reply_begin, print it to
 * stdout as one line, and release it.
 */
void cli_json_out(struct buf *doc);

/* Write an error --json is holding back to stderr: the command goes on regardless. */
void cli_errors_flush(void);

/* Print a warning line "ccr-config: warning: MESSAGE" to stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print what was wrong with the options, if anything, and the usage of the command; return
 * EXIT_USAGE. */
int cli_usage(struct cli *cli);

/* Connect to the daemon (starting it when allowed). Returns 0, or an exit code after printing why.
 */
int cli_connect(struct cli *cli);

/*
 * Send one request and read its reply. Returns the reply, or NULL after
 * printing why, with *code set to the exit code.
 */
struct jsonr *cli_call(struct cli *cli, const struct buf *req, int *code);

/*
 * Send req (freeing it) and return the reply when it succeeded; else NULL
 * after printing why, with *code set to the exit code.
 */
struct jsonr *cli_call_ok(struct cli *cli, struct buf *req, int *code);

/*
 * Report a failed reply as "ccr-config: MESSAGE" (with what to do) and return
 * its exit code: not_found 1, locked or denied 4, busy 3, others 5.
 */
int cli_reply_failed(const struct jsonr *reply);

/*
 * Send one request of op with no fields. Returns the reply when it succeeded,
 * else NULL after printing why, with *code set to the exit code.
 */
struct jsonr *cli_call_op(struct cli *cli, enum proto_op op, int *code);

/*
 * Ask for every key's name and env name with one "list". Returns the checked
 * reply (its "keys" array), or NULL with *code set after printing why.
 */
struct jsonr *cli_list(struct cli *cli, int *code);

/*
 * Ask for the values of the n env names in envs with one "resolve". Returns the
 * checked reply, whose "values" object maps each env name found to its value,
 * or NULL with *code set after printing why. Release it with conn_reply_free.
 */
struct jsonr *cli_resolve(struct cli *cli, const char *const *envs, size_t n, int *code);

/*
 * Send one "set" of name, env (NULL for the default) and len bytes of value,
 * with origins (NULL or empty for none) as the binding a key gets when it has
 * none yet, and "env_confirmed" when cli->env_confirmed. Returns the reply,
 * success or failure, for the caller to judge, or NULL with *code set after
 * printing why the daemon could not be asked.
 */
struct jsonr *cli_store(struct cli *cli, const char *name, const char *env, const char *value,
                        size_t len, const struct names *origins, int *code);

/* The exit code for a protocol error code. */
int cli_exit_for(enum proto_err err);

/* The string member key of obj, or "" when absent. */
const char *cli_str(const struct jsonr *obj, const char *key);

/*
 * Read a key into out: from stdin when it is not a terminal (one trailing
 * newline dropped), else from a prompt on the terminal with echo off; white
 * space around it is removed with a warning (cli_trim_value). Returns 0, or an
 * exit code after printing why.
 */
int cli_read_secret(const char *prompt, struct buf *out);

/*
 * Remove the white space a bad paste leaves before and after a key, saying on
 * stderr how many characters went from where in what ("the key"); never prints
 * the key.
 */
void cli_trim_value(struct buf *value, const char *what);

/*
 * Read one passphrase line: from stdin with from_stdin (one line, the newline
 * dropped; when stdin has ended, the error is missing, if not NULL), else from
 * a prompt on the terminal with echo off. Returns 0, or an exit code after
 * printing why.
 */
int cli_read_line_secret(const char *prompt, bool from_stdin, const char *missing, struct buf *out);

/* True when a person is at the terminal: stdin and stderr are terminals. */
bool cli_on_terminal(void);

/* Ask question on the terminal; true when the answer is y or yes. */
bool cli_confirm(const char *question);

/*
 * Unlock the keystore: read the passphrase (prompt, or stdin with from_stdin),
 * send it, report; on a terminal a wrong passphrase may be typed again, three
 * tries in all. seconds > 0 limits the unlock. Returns an exit code.
 */
int cli_unlock(struct cli *cli, double seconds, bool from_stdin);

/*
 * True when reply refuses a passphrase as wrong: the one refusal worth typing
 * again (a process inside a coding agent is denied too, for another reason).
 */
bool cli_wrong_passphrase(const struct jsonr *reply);

/* Refuse core dumps and ptrace by others: this process is about to hold a key. */
void cli_protect(void);

/* Format an ISO 8601 UTC time for people: "2026-11-28 21:04" in local time, or "-". */
void cli_time_local(const char *iso, char *out, size_t size);

/*
 * Become cmd (execvp). Returns only when it cannot run, after saying why (and
 * hint, unless NULL): 127 when not found, else 126, as a shell would.
 */
int cli_exec(char **cmd, const char *hint);

/*
 * Write the absolute path of this program (as the kernel has it: a path
 * replaced on disk while it runs ends in " (deleted)" on Linux) to out.
 * Returns 0, or -1 when it cannot be told.
 */
int cli_self_path(char *out, size_t size);

/* Milliseconds on a monotonic clock. */
long long cli_now_ms(void);

/* Put /dev/null on stdin, stdout and stderr (a process that outlives its terminal). */
void cli_detach_stdio(void);

/*
 * Start ccr-keyd for socket (autostart.c), once its directory passes the same
 * trust check as a connection's. Returns 0, CONN_UNTRUSTED with err set when
 * the directory is not ours, or -1 with err set.
 */
int autostart_daemon(const char *socket, char *err, size_t errsize);

/* Run ccr-config with the given table; the body of main(). */
int cli_main(const struct command *const *commands, int argc, char **argv);

#endif
