/*
 * Unit tests for the daemon's state machine table (daemon/state.c): the
 * properties that keep keys from being lost or leaked hold for every state
 * and every event, not only for the paths the integration tests walk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "state.h"

/* True when the store may hold values in state s. */
static bool
holds_values(enum state s)
{
	return s == STATE_PLAIN || s == STATE_SEALING || s == STATE_UNLOCKED ||
	       s == STATE_REKEYING;
}

static void
test_a_stop_ends_every_state_and_nothing_leaves_stopping(void **unused)
{
	int s, ev;

	(void)unused;
	for (s = 0; s < STATE_COUNT; s++)
		assert_int_equal(state_next(s, EV_STOP), STATE_STOPPING);
	for (ev = 0; ev < EV_COUNT; ev++) {
		enum state to = state_next(STATE_STOPPING, ev);

		assert_true(to == STATE_STOPPING || to == STATE_COUNT);
	}
}

static void
test_values_are_dropped_only_through_the_wipe(void **unused)
{
	int s, ev;

	(void)unused;
	/* From a state with values, no event leads straight to locked: only locking (wipe). */
	for (s = 0; s < STATE_COUNT; s++) {
		if (!holds_values(s))
			continue;
		for (ev = 0; ev < EV_COUNT; ev++)
			assert_int_not_equal(state_next(s, ev), STATE_LOCKED);
	}
	/* Locking ends in locked only by the wipe. */
	for (ev = 0; ev < EV_COUNT; ev++) {
		if (state_next(STATE_LOCKING, ev) == STATE_LOCKED)
			assert_int_equal(ev, EV_WIPED);
	}
}

static void
test_keys_come_into_a_locked_store_only_by_an_unlock(void **unused)
{
	int s, ev;

	(void)unused;
	/* unlocked is entered from unlocking only by "opened" (the store installed). */
	for (s = 0; s < STATE_COUNT; s++) {
		for (ev = 0; ev < EV_COUNT; ev++) {
			if (state_next(s, ev) != STATE_UNLOCKED || s == STATE_UNLOCKED)
				continue;
			if (s == STATE_UNLOCKING)
				assert_int_equal(ev, EV_OPENED);
			else
				assert_true(s == STATE_SEALING || s == STATE_REKEYING);
		}
	}
	assert_int_equal(state_next(STATE_LOCKED, EV_UNLOCK), STATE_UNLOCKING);
	assert_int_equal(state_next(STATE_LOCKED, EV_OPENED), STATE_COUNT);
	assert_int_equal(state_next(STATE_LOCKING, EV_OPENED), STATE_COUNT);
}

static void
test_a_lock_wins_over_every_job_of_a_sealed_keystore(void **unused)
{
	(void)unused;
	assert_int_equal(state_next(STATE_UNLOCKED, EV_LOCK), STATE_LOCKING);
	assert_int_equal(state_next(STATE_REKEYING, EV_LOCK), STATE_LOCKING);
	assert_int_equal(state_next(STATE_UNLOCKING, EV_LOCK), STATE_LOCKING);
	assert_int_equal(state_next(STATE_LOCKING, EV_LOCK), STATE_LOCKING);
	/* A passphrase job that lands while locking does not unlock it. */
	assert_int_equal(state_next(STATE_LOCKING, EV_SEALED), STATE_LOCKING);
	assert_int_equal(state_next(STATE_LOCKING, EV_FAILED), STATE_LOCKING);
	/* A plain keystore has nothing to lock: the request is refused, not an event. */
	assert_int_equal(state_next(STATE_PLAIN, EV_LOCK), STATE_COUNT);
	assert_int_equal(state_next(STATE_SEALING, EV_LOCK), STATE_COUNT);
}

/* True when the keystore on disk is sealed in state s. */
static bool
sealed_on_disk(enum state s)
{
	return s != STATE_PLAIN && s != STATE_SEALING && s != STATE_STOPPING;
}

static void
test_a_reload_lands_in_plain_or_in_the_wipe_and_a_refused_one_changes_nothing(void **unused)
{
	int s;

	(void)unused;
	for (s = 0; s < STATE_COUNT; s++) {
		if (s == STATE_STOPPING)
			continue;
		if (!sealed_on_disk(s))
			assert_int_equal(state_next(s, EV_RELOAD_PLAIN), STATE_PLAIN);
		/* An unlock under way goes on: it opens the file itself. */
		assert_int_equal(state_next(s, EV_RELOAD_SEALED),
		                 s == STATE_UNLOCKING ? STATE_UNLOCKING : STATE_LOCKING);
		assert_int_equal(state_next(s, EV_RELOAD_REFUSED), s);
	}
	assert_int_equal(state_next(STATE_STOPPING, EV_RELOAD_REFUSED), STATE_COUNT);
}

static void
test_a_reload_the_key_held_opens_keeps_unlocked_and_happens_nowhere_else(void **unused)
{
	int s;

	(void)unused;
	for (s = 0; s < STATE_COUNT; s++)
		assert_int_equal(state_next(s, EV_RELOAD_OPENED),
		                 s == STATE_UNLOCKED ? STATE_UNLOCKED : STATE_COUNT);
}

static void
test_once_sealed_only_a_written_passphrase_remove_makes_the_keystore_plain(void **unused)
{
	int s, ev;

	(void)unused;
	for (s = 0; s < STATE_COUNT; s++) {
		if (!sealed_on_disk(s))
			continue;
		/* A plain file read by SIGHUP is refused (reload.c asks this table). */
		assert_int_equal(state_next(s, EV_RELOAD_PLAIN), STATE_COUNT);
		for (ev = 0; ev < EV_COUNT; ev++) {
			if (state_next(s, ev) == STATE_PLAIN)
				assert_int_equal(ev, EV_UNSEALED);
		}
	}
}

static void
test_every_state_and_event_has_a_name(void **unused)
{
	int s, ev;

	(void)unused;
	for (s = 0; s < STATE_COUNT; s++)
		assert_true(strlen(state_name(s)) > 0 && strcmp(state_name(s), "?") != 0);
	for (ev = 0; ev < EV_COUNT; ev++)
		assert_true(strlen(state_event_name(ev)) > 0 &&
			    strcmp(state_event_name(ev), "?") != 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_stop_ends_every_state_and_nothing_leaves_stopping),
		cmocka_unit_test(test_values_are_dropped_only_through_the_wipe),
		cmocka_unit_test(test_keys_come_into_a_locked_store_only_by_an_unlock),
		cmocka_unit_test(test_a_lock_wins_over_every_job_of_a_sealed_keystore),
		cmocka_unit_test(
		    test_a_reload_lands_in_plain_or_in_the_wipe_and_a_refused_one_changes_nothing),
		cmocka_unit_test(
		    test_a_reload_the_key_held_opens_keeps_unlocked_and_happens_nowhere_else),
		cmocka_unit_test(
		    test_once_sealed_only_a_written_passphrase_remove_makes_the_keystore_plain),
		cmocka_unit_test(test_every_state_and_event_has_a_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
