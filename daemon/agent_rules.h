/*
 * The coding agents the guard knows (ccr-keyd.8, "CODING AGENTS"): one
 * built-in list of rules, extended, never shrunk, by the policy file beside
 * the keystore, and the matching of a process against them. agent.c walks
 * ancestries and asks agent_rules_match about each process.
 */
#ifndef CCR_AGENT_RULES_H
#define CCR_AGENT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "paths.h"
#include "proc.h"

/* The policy file's name, beside the keystore. */
#define AGENT_POLICY_FILE "agents"

/* One rule of the list: see agent_rules.c for the built-in ones and the file's format. */
struct agent_rule {
	int kind;       /* AGENT_EXE, AGENT_SCRIPT, AGENT_INTERPRETER (agent_rules.c) */
	char *name;     /* the agent's name, as refusals and the audit log give it */
	char *fragment; /* AGENT_SCRIPT: path components of its script */
};

/* The list in force: the built-in rules, then those the policy file adds. */
struct agent_rules {
	char policy[PATHS_MAX];
	struct agent_rule *added; /* from the policy file */
	size_t nadded;
	struct {
		bool present;
		dev_t dev;
		ino_t ino;
		long long mtime_ns, ctime_ns, size;
	} seen;              /* the policy file as last read, to notice a change */
	uint64_t checked_ms; /* when the file was last looked at */
};

/*
 * Set list up for the policy file in dir and read it. Returns 0 (also when
 * there is no file), or -1 with err set when it is there but not a private
 * regular file of ours or has a line it cannot read.
 */
int policy_init(struct agent_rules *list, const char *dir, char *err, size_t errsize);

/*
 * Read the policy file again if it changed, at most once a second (now_ms:
 * the loop's clock); a bad change is logged and the rules before it kept.
 */
void policy_refresh(struct agent_rules *list, uint64_t now_ms);

/* Release the rules the policy file added. */
void policy_free(struct agent_rules *list);

/* The number of rules in force, the built-in ones included. */
size_t agent_rules_count(const struct agent_rules *list);

/*
 * True when name (an executable's basename) is an interpreter whose script
 * names the program (list NULL: by the built-in rules alone).
 */
bool agent_rules_interpreter(const struct agent_rules *list, const char *name);

/*
 * The agent p (read with its arguments) is, by its executable's name, its
 * comm or its argv[0], or as an interpreter by the script it runs; NULL when
 * it is none.
 */
const char *agent_rules_match(const struct agent_rules *list, const struct proc_info *p);

#endif
