/*
 * The table of ops, one row each: everything the daemon decides about an op
 * before and after its handler runs (ops.h says what each column means).
 */
#include "ops.h"

/* Why an agent may send none of the ops that change keys or the passphrase. */
#define REFUSE_CHANGE                                                                              \
	"and ccr-keyd takes no set, delete, rename, unlock or passphrase from inside one; "        \
	"run the command yourself in a terminal outside the agent"

/* A masked get reveals no value. */
static bool
masked(const struct proto_request *req)
{
	return req->masked;
}

/* An unlock without a passphrase can only bring the lock forward. */
static bool
without_passphrase(const struct proto_request *req)
{
	return req->value == NULL || req->value_len == 0;
}

// clang-format off
static const struct op_entry ops[OP_COUNT] = {
	[OP_HELLO] = {.run = op_hello},
	[OP_STATUS] = {.run = op_status},
	[OP_GET] = {.run = op_get,
	            .state = GATE_READ,
	            .agent = AGENT_GRANTED,
	            .harmless = masked},
	[OP_USE] = {.run = op_use, .state = GATE_READ, .agent = AGENT_GRANTED, .names = NAMES_KEY},
	[OP_RESOLVE] = {.run = op_resolve,
	                .state = GATE_READ,
	                .agent = AGENT_GRANTED,
	                .names = NAMES_ENVS},
	[OP_LIST] = {.run = op_list, .state = GATE_READ},
	[OP_SET] = {.write = true,
	            .change = CHANGE_SET,
	            .state = GATE_WRITE,
	            .agent = AGENT_NEVER,
	            .refusal = REFUSE_CHANGE,
	            .touch = TOUCH_ALWAYS},
	[OP_DELETE] = {.write = true,
	               .change = CHANGE_DELETE,
	               .state = GATE_WRITE,
	               .agent = AGENT_NEVER,
	               .refusal = REFUSE_CHANGE,
	               .touch = TOUCH_IF_NAMED},
	[OP_RENAME] = {.write = true,
	               .change = CHANGE_RENAME,
	               .state = GATE_WRITE,
	               .agent = AGENT_NEVER,
	               .refusal = REFUSE_CHANGE,
	               .touch = TOUCH_IF_NAMED},
	[OP_BIND] = {.write = true,
	             .change = CHANGE_BIND,
	             .state = GATE_WRITE,
	             .agent = AGENT_NEVER,
	             .refusal = "and an agent cannot change where a key may be sent; run "
	                        "ccr-config bind in a terminal outside the agent",
	             .names = NAMES_KEY},
	[OP_LOCK] = {.run = op_lock, .state = GATE_LOCK},
	[OP_UNLOCK] = {.run = op_unlock,
	               .state = GATE_UNLOCK,
	               .agent = AGENT_NEVER,
	               .harmless = without_passphrase,
	               .refusal = REFUSE_CHANGE},
	[OP_PASSPHRASE] = {.run = op_passphrase,
	                   .state = GATE_PASSPHRASE,
	                   .agent = AGENT_NEVER,
	                   .refusal = REFUSE_CHANGE,
	                   .touch = TOUCH_ALWAYS},
	[OP_ALLOW] = {.run = agent_op_allow,
	              .agent = AGENT_NEVER,
	              .refusal = "and an agent cannot allow itself keys; run ccr-config allow in "
	                         "a terminal outside the agent"},
	[OP_GUARD] = {.run = agent_op_guard},
};
// clang-format on

const struct op_entry *
ops_entry(enum proto_op op)
{
	return (unsigned)op < OP_COUNT ? &ops[op] : NULL;
}
