/*
 * check's word on coding agents: whether the agents that ccr starts run
 * confined by the kernel here, and whether this shell wraps the agent
 * commands (shell-init --agents), so that one started by hand is too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "confine.h"
#include "jsonr.h"

void
check_agents(struct buf *json, bool print)
{
	const char *w = getenv("CCR_KEYD_WRAPS_AGENTS");
	bool wrapped = w != NULL && strcmp(w, "1") == 0;
	char why[512] = "";
	bool confined = confine_available(why, sizeof why);

	buf_adds(json, ",\"agents\":{\"confined\":");
	buf_adds(json, confined ? "true" : "false");
	if (!confined) {
		buf_adds(json, ",\"why\":");
		jsonr_print_str(json, why, strlen(why));
	}
	buf_adds(json, wrapped ? ",\"wrapped\":true}" : ",\"wrapped\":false}");
	if (!print)
		return;
	if (confined)
		printf("agents: those ccr starts run confined by the kernel (bubblewrap)");
	else
		printf(
		    "agents: not confined here (%s): the guard alone keeps keys from them, and a "
		    "plain keystore file is theirs to read; seal it (ccr-config passphrase set)",
		    why);
	if (wrapped)
		printf("; this shell runs claude, codex, … under the guard too\n");
	else
		printf("; this shell does not wrap the agent commands: add to its rc file "
		       "eval \"$(ccr-config shell-init --agents bash)\" (or zsh; fish: "
		       "ccr-config shell-init --agents fish | source)\n");
}
