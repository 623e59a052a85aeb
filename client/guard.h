/*
 * The guard `ccr code` runs the agent under (ccr-keyd.8, "CODING AGENTS"): a
 * small process of ours, a child subreaper, that registers itself with
 * ccr-keyd for as long as it lives, so that the agent and everything it
 * leaves behind — double-forked, setsid or not — is refused keys.
 */
#ifndef CCR_GUARD_H
#define CCR_GUARD_H

struct cli;

/*
 * Run the command args under a guard named label (what refusals and the
 * audit log call the agent under it): this process forks the guard, which
 * registers (starting ccr-keyd when the client may), forks the command and
 * execs it with run(args), and stays until the last process under it is
 * gone; this process returns as soon as the command itself exits. fd, when
 * not -1, is for the command alone: neither the guard nor this process keeps
 * it. Returns the exit code for this process: the command's own (128 plus the
 * signal that killed it), or an error's after saying why.
 */
int guard_run(struct cli *cli, const char *label, int (*run)(char **args), char **args, int fd);

#endif
