/*
 * Unit tests for the protocol's table (daemon/ops.c, and the decoder's
 * shapes in common/proto_decode.c): every op has exactly one row, and every
 * row is reachable — its op decodes from its wire name, and the row names a
 * handler, a state gate and an agent rule that are what they claim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ops.h"
#include "proto.h"

static void
test_every_op_has_one_wire_name_and_a_shape(void **unused)
{
	int op, other;

	(void)unused;
	for (op = 0; op < OP_COUNT; op++) {
		const char *name = proto_op_name((enum proto_op)op);

		assert_non_null(name);
		assert_true(name[0] != '\0');
		assert_true(proto_op_has_shape((enum proto_op)op));
		for (other = 0; other < op; other++)
			assert_string_not_equal(name, proto_op_name((enum proto_op)other));
	}
	assert_null(proto_op_name(OP_COUNT));
	assert_false(proto_op_has_shape(OP_COUNT));
}

static void
test_every_op_decodes_from_its_name_whatever_else_it_lacks(void **unused)
{
	int op;

	(void)unused;
	for (op = 0; op < OP_COUNT; op++) {
		struct proto_request req;
		const char *msg = NULL;
		char line[128];
		enum proto_err err;

		snprintf(line, sizeof line, "{\"op\":\"%s\",\"id\":7}",
		         proto_op_name((enum proto_op)op));
		err = proto_decode(line, strlen(line), &req, &msg);
		/* An op that needs members is refused for the lack of them, never as unknown. */
		assert_int_not_equal(err, PE_UNKNOWN_OP);
		assert_int_equal(req.op, op);
		assert_string_equal(req.id, "7");
		proto_request_free(&req);
	}
}

static void
test_every_op_has_a_row_with_a_handler_a_gate_and_an_agent_rule(void **unused)
{
	int op;

	(void)unused;
	for (op = 0; op < OP_COUNT; op++) {
		const struct op_entry *e = ops_entry((enum proto_op)op);

		assert_non_null(e);
		/* Exactly one of a handler and a change for the writer. */
		assert_true((e->run != NULL) != e->write);
		assert_true((unsigned)e->state < GATE_COUNT);
		assert_true(e->state != GATE_SHORTEN); /* state.c's own, for a bare unlock */
		assert_true(e->agent == AGENT_ANY || e->agent == AGENT_GRANTED ||
		            e->agent == AGENT_NEVER);
		if (e->agent == AGENT_NEVER)
			assert_non_null(e->refusal);
		assert_true(e->touch == TOUCH_NEVER || e->touch == TOUCH_ALWAYS ||
		            e->touch == TOUCH_IF_NAMED);
		assert_true(e->names == NAMES_NAME || e->names == NAMES_KEY ||
		            e->names == NAMES_ENVS);
	}
	assert_null(ops_entry(OP_COUNT));
}

static void
test_writes_go_to_the_writer_and_are_judged_as_writes(void **unused)
{
	int op;

	(void)unused;
	for (op = 0; op < OP_COUNT; op++) {
		const struct op_entry *e = ops_entry((enum proto_op)op);

		if (!e->write)
			continue;
		assert_int_equal(e->state, GATE_WRITE);
		assert_int_equal(e->agent, AGENT_NEVER);
		assert_true(e->change == CHANGE_SET || e->change == CHANGE_DELETE ||
		            e->change == CHANGE_BIND || e->change == CHANGE_RENAME);
	}
	assert_true(ops_entry(OP_SET)->write && ops_entry(OP_DELETE)->write &&
	            ops_entry(OP_BIND)->write && ops_entry(OP_RENAME)->write);
}

static void
test_what_reveals_a_value_is_a_read_an_agent_needs_a_grant_for(void **unused)
{
	static const enum proto_op reveal[] = {OP_GET, OP_USE, OP_RESOLVE};
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof reveal / sizeof reveal[0]; i++) {
		assert_int_equal(ops_entry(reveal[i])->state, GATE_READ);
		assert_int_equal(ops_entry(reveal[i])->agent, AGENT_GRANTED);
	}
	/* Nothing else is read by an agent under a grant. */
	assert_int_equal(ops_entry(OP_LIST)->agent, AGENT_ANY);
	assert_int_equal(ops_entry(OP_HELLO)->agent, AGENT_ANY);
	assert_int_equal(ops_entry(OP_STATUS)->agent, AGENT_ANY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op_has_one_wire_name_and_a_shape),
		cmocka_unit_test(test_every_op_decodes_from_its_name_whatever_else_it_lacks),
		cmocka_unit_test(test_every_op_has_a_row_with_a_handler_a_gate_and_an_agent_rule),
		cmocka_unit_test(test_writes_go_to_the_writer_and_are_judged_as_writes),
		cmocka_unit_test(test_what_reveals_a_value_is_a_read_an_agent_needs_a_grant_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
