/*
 * Did-you-mean: the edit distance (with transpositions, ignoring case) from a
 * mistyped word to each command or key name, and the nearest ones named; and
 * finding a key by its env name.
 */
#include "suggest.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Words longer than this are never compared. */
#define WORD_MAX 64

/* The optimal-string-alignment distance between a and b, ignoring case; SIZE_MAX/2 when too long.
 */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[WORD_MAX + 1][WORD_MAX + 1];

	if (la > WORD_MAX || lb > WORD_MAX)
		return (size_t)-1 / 2;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]),
			    cb = tolower((unsigned char)b[j - 1]);
			size_t best = d[i - 1][j - 1] + (ca != cb);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

void
suggest_init(struct suggestion *sg, const char *word)
{
	memset(sg, 0, sizeof *sg);
	sg->word = word;
	sg->distance = (size_t)-1;
}

/* How far candidate is from the word, or SIZE_MAX when too far to be suggested. */
static size_t
score(const struct suggestion *sg, const char *candidate)
{
	size_t len = strlen(sg->word), d;
	/* One slip in a short word, two in a longer one; a start of 3 or more counts as one. */
	size_t limit = len <= 3 ? 1 : 2;

	if (candidate == NULL || candidate[0] == '\0' || strcmp(candidate, sg->word) == 0)
		return (size_t)-1;
	d = distance(sg->word, candidate);
	if (d > 1 && len >= 3 && strncasecmp(candidate, sg->word, len) == 0)
		d = 1;
	return d <= limit ? d : (size_t)-1;
}

/* Keep candidate at distance d when it is no farther than the best so far. */
static void
keep(struct suggestion *sg, const char *candidate, size_t d)
{
	size_t i;

	if (d == (size_t)-1 || d > sg->distance)
		return;
	for (i = 0; i < sg->n; i++) {
		if (strcmp(sg->best[i], candidate) == 0)
			return;
	}
	if (d < sg->distance) {
		sg->n = 0;
		sg->distance = d;
	}
	if (sg->n < SUGGEST_MAX)
		sg->best[sg->n++] = candidate;
}

void
suggest_offer(struct suggestion *sg, const char *candidate)
{
	keep(sg, candidate, score(sg, candidate));
}

void
suggest_phrase(const struct suggestion *sg, char *out, size_t size)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < sg->n && used < size; i++) {
		int n = snprintf(out + used, size - used, "%s'%s'",
		                 i == 0           ? ""
		                 : i + 1 == sg->n ? " or "
		                                  : ", ",
		                 sg->best[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

const struct jsonr *
suggest_key_with(const struct jsonr *keys, const char *member, const char *value)
{
	const struct jsonr *k;

	jsonr_foreach(k, keys)
	{
		if (strcmp(cli_str(k, member), value) == 0)
			return k;
	}
	return NULL;
}

const struct jsonr *
suggest_find_key(const struct jsonr *keys, const char *word)
{
	const struct jsonr *k = suggest_key_with(keys, "name", word);

	return k != NULL ? k : suggest_key_with(keys, "env", word);
}

int
suggest_no_key(const struct jsonr *keys, const char *word, const char *advice)
{
	struct suggestion sg;
	const struct jsonr *k;
	char near[256];

	suggest_init(&sg, word);
	jsonr_foreach(k, keys)
	{
		/* One candidate per key: its name, or its env name when that is nearer. */
		size_t dn = score(&sg, cli_str(k, "name")), de = score(&sg, cli_str(k, "env"));

		if (de < dn)
			keep(&sg, cli_str(k, "env"), de);
		else
			keep(&sg, cli_str(k, "name"), dn);
	}
	suggest_phrase(&sg, near, sizeof near);
	if (near[0] != '\0')
		return cli_error(EXIT_NOT_FOUND, "no key named %s (did you mean %s?); %s", word,
		                 near, advice);
	return cli_error(EXIT_NOT_FOUND, "no key named %s; %s", word, advice);
}
