/*
 * Unit tests for the daemon's in-memory keystore: the secret arena, the hash
 * table and the store built on them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "arena.h"
#include "store.h"
#include "table.h"

/* Copy a value into arena memory the way the daemon does. */
static char *
secret(struct arena *a, const char *v)
{
	char *p = arena_alloc(a, strlen(v) + 1);

	memcpy(p, v, strlen(v) + 1);
	return p;
}

static void
test_arena_slots_do_not_overlap_and_are_reused_after_free(void **state)
{
	struct arena *a = arena_new();
	char *p[100];
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		p[i] = arena_alloc(a, 40);
		memset(p[i], i, 40);
	}
	for (i = 0; i < 100; i++) {
		for (int j = 0; j < 40; j++)
			assert_int_equal((unsigned char)p[i][j], i);
	}
	arena_free(a, p[7], 40);
	assert_ptr_equal(arena_alloc(a, 33), p[7]);
	arena_destroy(a);
}

static void
test_arena_free_wipes_the_slot(void **state)
{
	struct arena *a = arena_new();
	char *p = secret(a, "csk-test-wipe-me-0001");

	(void)state;
	arena_free(a, p, 22);
	/* The first bytes now thread the free list; the rest must be zero. */
	for (size_t i = sizeof(void *); i < 32; i++)
		assert_int_equal(p[i], 0);
	arena_destroy(a);
}

static void
test_arena_uses_few_regions_for_ten_thousand_keys(void **state)
{
	struct arena *a = arena_new();
	int i;

	(void)state;
	for (i = 0; i < 10000; i++)
		arena_alloc(a, 52);
	/* One sodium_malloc per value would be 10,000 regions. */
	assert_true(arena_regions(a) < 32);
	assert_true(arena_bytes(a) < 2 * 1024 * 1024);
	arena_destroy(a);
}

static void
test_arena_holds_the_largest_value(void **state)
{
	struct arena *a = arena_new();
	char *p = arena_alloc(a, 16 * 1024 + 1);

	(void)state;
	memset(p, 'x', 16 * 1024 + 1);
	arena_destroy(a);
}

static void
test_table_finds_puts_and_deletes_through_growth(void **state)
{
	struct table t;
	static char keys[5000][16];
	int i;

	(void)state;
	table_init(&t);
	for (i = 0; i < 5000; i++) {
		snprintf(keys[i], sizeof keys[i], "key-%d", i);
		table_put(&t, keys[i], keys[i]);
	}
	assert_int_equal(t.live, 5000);
	for (i = 0; i < 5000; i += 2)
		assert_ptr_equal(table_del(&t, keys[i]), keys[i]);
	for (i = 0; i < 5000; i++)
		assert_ptr_equal(table_get(&t, keys[i]), i % 2 ? keys[i] : NULL);
	assert_int_equal(t.live, 2500);
	assert_null(table_del(&t, "absent"));
	table_free(&t);
}

static void
test_table_reuses_deleted_slots_without_growing_forever(void **state)
{
	struct table t;
	char key[16];
	int i;

	(void)state;
	table_init(&t);
	snprintf(key, sizeof key, "churn");
	for (i = 0; i < 100000; i++) {
		table_put(&t, key, key);
		table_del(&t, key);
	}
	assert_true(t.cap <= 64);
	table_free(&t);
}

static void
test_store_put_get_by_name_and_env(void **state)
{
	struct arena *a = arena_new();
	struct store s;
	const struct entry *e;

	(void)state;
	store_init(&s, a);
	store_put(&s, "cerebras", "CEREBRAS_API_KEY", secret(a, "csk-test-1"), 10, 100, 200, NULL);
	e = store_get(&s, "cerebras");
	assert_non_null(e);
	assert_string_equal(e->value, "csk-test-1");
	assert_ptr_equal(store_by_env(&s, "CEREBRAS_API_KEY"), e);
	assert_string_equal(e->updated_iso, "1970-01-01T00:03:20Z");
	assert_int_equal(store_count(&s), 1);
	store_free(&s);
	arena_destroy(a);
}

static void
test_store_put_replaces_value_and_moves_env(void **state)
{
	struct arena *a = arena_new();
	struct store s;

	(void)state;
	store_init(&s, a);
	store_put(&s, "x", "X_API_KEY", secret(a, "csk-test-old"), 12, 1, 1, NULL);
	store_put(&s, "x", "OTHER_ENV", secret(a, "csk-test-new"), 12, 1, 2, NULL);
	assert_int_equal(store_count(&s), 1);
	assert_null(store_by_env(&s, "X_API_KEY"));
	assert_string_equal(store_by_env(&s, "OTHER_ENV")->value, "csk-test-new");
	store_free(&s);
	arena_destroy(a);
}

static void
test_store_bind_changes_origins_and_keeps_the_rest(void **state)
{
	struct arena *a = arena_new();
	struct store s;
	const struct entry *e;

	(void)state;
	store_init(&s, a);
	store_put(&s, "x", "X_API_KEY", secret(a, "csk-test-1"), 10, 5, 6, NULL);
	assert_string_equal(store_get(&s, "x")->origins, "");
	assert_int_equal(store_bind(&s, "x", "http://a.test https://b.test"), 0);
	e = store_by_env(&s, "X_API_KEY");
	assert_ptr_equal(e, store_get(&s, "x"));
	assert_string_equal(e->origins, "http://a.test https://b.test");
	assert_string_equal(e->value, "csk-test-1");
	assert_int_equal(e->created, 5);
	assert_int_equal(e->updated, 6);
	assert_string_equal(e->updated_iso, "1970-01-01T00:00:06Z");
	assert_int_equal(store_bind(&s, "x", ""), 0);
	assert_string_equal(store_get(&s, "x")->origins, "");
	assert_int_equal(store_bind(&s, "y", "http://a.test"), -1);
	/* A put with origins holds them; one with NULL is unbound. */
	store_put(&s, "y", "Y", secret(a, "csk-test-2"), 10, 1, 1, "https://c.test");
	assert_string_equal(store_get(&s, "y")->origins, "https://c.test");
	store_free(&s);
	arena_destroy(a);
}

static void
test_store_rename_moves_the_key_and_keeps_the_rest(void **state)
{
	struct arena *a = arena_new();
	struct store s;
	const struct entry *e;

	(void)state;
	store_init(&s, a);
	store_put(&s, "x", "X_API_KEY", secret(a, "csk-test-1"), 10, 5, 6, "https://a.test");
	assert_int_equal(store_rename(&s, "x", "y"), 0);
	assert_null(store_get(&s, "x"));
	e = store_get(&s, "y");
	assert_non_null(e);
	assert_ptr_equal(store_by_env(&s, "X_API_KEY"), e);
	assert_string_equal(e->value, "csk-test-1");
	assert_string_equal(e->origins, "https://a.test");
	assert_int_equal(e->created, 5);
	assert_int_equal(e->updated, 6);
	assert_int_equal(store_count(&s), 1);
	assert_int_equal(store_rename(&s, "x", "z"), -1);
	store_free(&s);
	arena_destroy(a);
}

static void
test_store_del_removes_both_indexes(void **state)
{
	struct arena *a = arena_new();
	struct store s;

	(void)state;
	store_init(&s, a);
	store_put(&s, "x", "X_API_KEY", secret(a, "csk-test-1"), 10, 1, 1, NULL);
	assert_int_equal(store_del(&s, "x"), 0);
	assert_int_equal(store_del(&s, "x"), -1);
	assert_null(store_get(&s, "x"));
	assert_null(store_by_env(&s, "X_API_KEY"));
	store_free(&s);
	arena_destroy(a);
}

static void
test_store_sorted_lists_every_key_in_name_order(void **state)
{
	struct arena *a = arena_new();
	struct store s;
	const struct entry **v;
	size_t n;

	(void)state;
	store_init(&s, a);
	store_put(&s, "b", "B_API_KEY", secret(a, "csk-test-b"), 10, 1, 1, NULL);
	store_put(&s, "a", "A_API_KEY", secret(a, "csk-test-a"), 10, 1, 1, NULL);
	store_put(&s, "c", "C_API_KEY", secret(a, "csk-test-c"), 10, 1, 1, NULL);
	store_del(&s, "c");
	v = store_sorted(&s, &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->name, "a");
	assert_string_equal(v[1]->name, "b");
	free(v);
	store_free(&s);
	arena_destroy(a);
}

static void
test_store_load_refuses_two_keys_with_one_env(void **state)
{
	static const char doc[] = "{\"version\":1,\"keys\":{"
				  "\"a\":{\"value\":\"csk-test-1\",\"env\":\"SAME\"},"
				  "\"b\":{\"value\":\"csk-test-2\",\"env\":\"SAME\"}}}";
	struct arena *a = arena_new();
	struct store s;
	char err[256];

	(void)state;
	store_init(&s, a);
	assert_int_equal(store_load(&s, doc, sizeof doc - 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "SAME"));
	store_free(&s);
	arena_destroy(a);
}

static void
test_store_load_reads_the_flat_form_with_default_envs(void **state)
{
	static const char doc[] = "{\"cerebras\":\"csk-test-flat\",\"open-router\":\"csk-test-2\"}";
	struct arena *a = arena_new();
	struct store s;
	char err[256];

	(void)state;
	store_init(&s, a);
	assert_int_equal(store_load(&s, doc, sizeof doc - 1, err, sizeof err), KS_FORM_FLAT);
	assert_string_equal(store_by_env(&s, "OPEN_ROUTER_API_KEY")->value, "csk-test-2");
	assert_string_equal(store_get(&s, "cerebras")->env, "CEREBRAS_API_KEY");
	store_free(&s);
	arena_destroy(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_arena_slots_do_not_overlap_and_are_reused_after_free),
	    cmocka_unit_test(test_arena_free_wipes_the_slot),
	    cmocka_unit_test(test_arena_uses_few_regions_for_ten_thousand_keys),
	    cmocka_unit_test(test_arena_holds_the_largest_value),
	    cmocka_unit_test(test_table_finds_puts_and_deletes_through_growth),
	    cmocka_unit_test(test_table_reuses_deleted_slots_without_growing_forever),
	    cmocka_unit_test(test_store_put_get_by_name_and_env),
	    cmocka_unit_test(test_store_put_replaces_value_and_moves_env),
	    cmocka_unit_test(test_store_bind_changes_origins_and_keeps_the_rest),
	    cmocka_unit_test(test_store_del_removes_both_indexes),
	    cmocka_unit_test(test_store_rename_moves_the_key_and_keeps_the_rest),
	    cmocka_unit_test(test_store_sorted_lists_every_key_in_name_order),
	    cmocka_unit_test(test_store_load_refuses_two_keys_with_one_env),
	    cmocka_unit_test(test_store_load_reads_the_flat_form_with_default_envs),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
