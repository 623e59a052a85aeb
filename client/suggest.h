/*
 * What the user meant: the nearest command or key name to a mistyped word
 * ("did you mean …?"), and a key given by its env name.
 */
#ifndef CCR_SUGGEST_H
#define CCR_SUGGEST_H

#include <stddef.h>

#include "jsonr.h"

/* The most candidates one suggestion names. */
#define SUGGEST_MAX 3

/* The candidates nearest to one word so far. */
struct suggestion {
	const char *word;
	const char *best[SUGGEST_MAX];
	size_t n;
	size_t distance;
};

/* Start looking for the candidates nearest to word. */
void suggest_init(struct suggestion *sg, const char *word);

/* Consider candidate: kept when near enough to the word and no farther than the best. */
void suggest_offer(struct suggestion *sg, const char *candidate);

/* Write "'list'" or "'get' or 'set'" to out, or "" when nothing was near. */
void suggest_phrase(const struct suggestion *sg, char *out, size_t size);

/*
 * The key that word names in a list reply's "keys": the key of that name, else
 * the key whose env name it is (each env name belongs to one key). Returns the
 * key, or NULL when there is none.
 */
const struct jsonr *suggest_find_key(const struct jsonr *keys, const char *word);

/* The first key in a list reply's "keys" whose member ("name", "env") is value, or NULL. */
const struct jsonr *suggest_key_with(const struct jsonr *keys, const char *member,
                                     const char *value);

/*
 * Say that no key is named word, with the nearest names and env names of keys
 * and the advice after, and return EXIT_NOT_FOUND:
 * "no key named cerebra (did you mean 'cerebras'?); ADVICE".
 */
int suggest_no_key(const struct jsonr *keys, const char *word, const char *advice);

#endif
