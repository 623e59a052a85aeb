/*
 * ccr-model: run the model-based test against a ccr-keyd binary.
 *
 *   ccr-model KEYD DIR
 *
 * DIR is a fresh private directory for the keystore, the socket and the
 * daemon's log. Settings come from the environment:
 *
 *   MODEL_SECONDS  how long to run (default 60)
 *   MODEL_OPS      stop after this many client operations (default: no limit)
 *   MODEL_CLIENTS  concurrent clients (default 6)
 *   MODEL_SEED     the seed; printed on every run, so a failure can be replayed
 *   MODEL_ACTIONS  the controller's actions, of "lock,unlock,unlock-wrong,renew,shorten,
 *                  set,change,change-wrong,remove,swap" (default: all; swap puts a
 *                  plain file or an older sealed copy in under a SIGHUP, to be refused)
 *   MODEL_FAULTS   which faults to inject, of "hup,kill,term" (the default: all three;
 *                  term is a SIGTERM and restart, which must exit 0), or "none"
 *
 * The seed fixes every choice (requests, values, passphrases, faults and when
 * they fire relative to a request); thread timing is the machine's. At the
 * end every key is read back and compared with the model, the daemon is
 * stopped with SIGTERM and must exit 0 (so a sanitizer finding fails the
 * run), and the file is checked once more. Prints TAP comment lines; exits 0
 * when no reply diverged from the model, 1 when one did, 2 on a setup error.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "names.h"
#include "sealed.h"

int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t
rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

unsigned
rng_below(struct rng *r, unsigned n)
{
	return n == 0 ? 0 : (unsigned)(rng_next(r) % n);
}

/* Append a line to one of the rings. */
static void
vnote(struct world *w, char *line, size_t size, const char *fmt, va_list ap)
{
	int n = snprintf(line, size, "%8.3f ", (now_us() - w->start_us) / 1e6);

	vsnprintf(line + n, size - (size_t)n, fmt, ap);
}

void
note(struct world *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(w, w->notes[w->nnotes++ % MODEL_NOTES], sizeof w->notes[0], fmt, ap);
	va_end(ap);
}

void
gnote(struct world *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(w, w->gnotes[w->ngnotes++ % MODEL_GNOTES], sizeof w->gnotes[0], fmt, ap);
	va_end(ap);
}

void
diverge(struct world *w, const char *fmt, ...)
{
	unsigned long i = w->nnotes > MODEL_NOTES ? w->nnotes - MODEL_NOTES : 0, g;
	va_list ap;

	if (w->divergences++ > 0)
		return; /* the first one tells; what follows it may be its echo */
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	printf("# DIVERGENCE after %lu operations: ", w->ops);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n# replay with MODEL_SEED=%llu; the last global events:\n",
	       (unsigned long long)w->seed);
	for (g = w->ngnotes > MODEL_GNOTES ? w->ngnotes - MODEL_GNOTES : 0; g < w->ngnotes; g++)
		printf("#   %s\n", w->gnotes[g % MODEL_GNOTES]);
	printf("# the last client events:\n");
	for (; i < w->nnotes; i++)
		printf("#   %s\n", w->notes[i % MODEL_NOTES]);
	fflush(stdout);
	daemon_log_tail(w, 40);
}

bool
actor_connect(struct actor *a)
{
	struct world *w = a->w;

	while (!w->stop && (!w->up || a->conn.fd == -1 || a->gen != w->gen)) {
		if (!w->up) {
			wire_close(&a->conn);
			w->parked++;
			pthread_cond_broadcast(&w->cv);
			pthread_cond_wait(&w->cv, &w->mu);
			w->parked--;
			continue;
		}
		wire_close(&a->conn);
		if (wire_connect(&a->conn, w->sock) == -1) {
			diverge(w, "actor %d cannot connect to the daemon: %s", a->id,
				strerror(errno));
			return false;
		}
		a->gen = w->gen;
	}
	return !w->stop;
}

void
coverage_seen(struct world *w, const cJSON *status)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(status, "transitions"), *e;
	int i;

	cJSON_ArrayForEach(e, t)
	{
		for (i = 0; i < w->ntrans && strcmp(w->trans_names[i], e->string) != 0; i++)
			;
		if (i == w->ntrans) {
			if (w->ntrans == 128)
				continue;
			snprintf(w->trans_names[w->ntrans++], sizeof w->trans_names[0], "%s",
				 e->string);
		}
		w->trans_now[i] = (unsigned long)e->valuedouble;
	}
}

void
coverage_restart(struct world *w)
{
	int i;

	for (i = 0; i < w->ntrans; i++) {
		w->trans_sum[i] += w->trans_now[i];
		w->trans_now[i] = 0;
	}
}

/*
 * True for a transition this test cannot drive or cannot see: a reload that
 * finds the file's form changed (only another program does that), a sealed
 * reload while unlocked (the key held opens every file the model writes), a refused
 * reload in a passing state (files are swapped in only at rest), a failed
 * passphrase set (an I/O error), and everything at exit (no status follows).
 */
static bool
out_of_reach(const char *t)
{
	bool sealed_side = strncmp(t, "plain/", 6) != 0 && strncmp(t, "sealing/", 8) != 0;
	bool at_rest = strncmp(t, "plain/", 6) == 0 || strncmp(t, "locked/", 7) == 0 ||
		       strncmp(t, "unlocked/", 9) == 0;

	return (sealed_side && strstr(t, "/reload-plain") != NULL) ||
	       (!sealed_side && strstr(t, "/reload-sealed") != NULL) ||
	       (!at_rest && strstr(t, "/reload-refused") != NULL) ||
	       strcmp(t, "unlocked/reload-sealed") == 0 ||
	       strcmp(t, "sealing/failed") == 0 || strstr(t, "/stop") != NULL ||
	       strncmp(t, "stopping/", 9) == 0;
}

/* Print which of the daemon's possible transitions the run drove, and how often. */
static void
coverage_report(struct world *w)
{
	int i, hit = 0, reach = 0;

	coverage_restart(w);
	for (i = 0; i < w->ntrans; i++) {
		reach += !out_of_reach(w->trans_names[i]);
		hit += w->trans_sum[i] > 0;
	}
	printf("# state transitions driven: %d of the %d in the daemon's table (%d within this "
	       "test's reach: no other program writes the file, no I/O error, exit unseen):",
	       hit, w->ntrans, reach);
	for (i = 0; i < w->ntrans; i++)
		printf("%s%s %lu", i % 4 == 0 ? "\n#  " : ", ", w->trans_names[i], w->trans_sum[i]);
	printf("\n");
	for (i = 0; i < w->ntrans; i++) {
		if (w->trans_sum[i] == 0 && !out_of_reach(w->trans_names[i]))
			printf("# never driven in this run: %s\n", w->trans_names[i]);
	}
}

/* A number from the environment, or dflt. */
static double
env_num(const char *name, double dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtod(v, NULL) : dflt;
}

/* Settings, paths and the model's keys. Returns 0 or -1. */
static int
setup(struct world *w, const char *keyd, const char *dir)
{
	const char *faults = getenv("MODEL_FAULTS"), *seed = getenv("MODEL_SEED");
	const char *actions = getenv("MODEL_ACTIONS");
	char path[600];
	int c, k;

	w->seed = seed != NULL && *seed != '\0' ? strtoull(seed, NULL, 10)
						: ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	w->seconds = env_num("MODEL_SECONDS", 60);
	w->max_ops = (long)env_num("MODEL_OPS", 0);
	w->nclients = (int)env_num("MODEL_CLIENTS", 6);
	if (w->nclients < 1 || w->nclients > MODEL_MAX_CLIENTS)
		return -1;
	w->hup = faults == NULL || strstr(faults, "hup") != NULL;
	w->kill = faults == NULL || strstr(faults, "kill") != NULL;
	w->term = faults == NULL || strstr(faults, "term") != NULL;
	if (actions != NULL && *actions != '\0')
		snprintf(w->actions, sizeof w->actions, ",%s,", actions);
	snprintf(w->keyd, sizeof w->keyd, "%s", keyd);
	snprintf(w->dir, sizeof w->dir, "%s", dir);
	snprintf(w->keyfile, sizeof w->keyfile, "%s/home/keys", dir);
	snprintf(w->sock, sizeof w->sock, "%s/run/sock", dir);
	snprintf(w->log, sizeof w->log, "%s/keyd.log", dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof path, "%s/home", dir);
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof path, "%s/run", dir);
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	for (c = 0; c < w->nclients; c++) {
		for (k = 0; k < MODEL_KEYS; k++) {
			struct mkey *m = &w->keys[c][k];

			snprintf(m->name, sizeof m->name, "m%dk%d", c, k);
			name_default_env(m->name, m->env);
			cand_set(m, MODEL_ABSENT);
		}
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->mode = G_PLAIN;
	return 0;
}

/*
 * NULL when a run of secs seconds did enough to judge the daemon by, else
 * what it lacked: a run in which the clients stalled or no fault fired would
 * pass with 0 divergences having tested little. Runs under 20 s (a quick
 * replay) are not held to it.
 */
static const char *
too_little(const struct world *w, double secs)
{
	if (secs < 20 || (w->max_ops > 0 && w->ops >= (unsigned long)w->max_ops))
		return NULL;
	if (w->ops < 100 * (unsigned long)secs)
		return "fewer than 100 operations a second";
	if (w->hup && w->hups == 0)
		return "no SIGHUP was sent";
	if (w->kill && w->kills == 0)
		return "no SIGKILL was sent";
	if (w->actions[0] == '\0' && w->unlocks == 0)
		return "the keystore was never unlocked";
	return NULL;
}

/* At the end, quiet: every key reads back as the model says. Returns 0 or -1. */
static int
final_reads(struct world *w)
{
	struct wire c = {.fd = -1};
	char req[256];
	int ci, k, why;
	cJSON *r;

	if (wire_connect(&c, w->sock) == -1) {
		diverge(w, "cannot connect for the final reads");
		return -1;
	}
	if (w->pass[0] != '\0') {
		snprintf(req, sizeof req, "{\"op\":\"unlock\",\"value\":\"%s\"}\n", w->pass);
		r = wire_call(&c, req, 60000, &why);
		if (r == NULL || !jok(r))
			diverge(w, "the final unlock failed: %s", r != NULL ? jerr(r) : "no reply");
		cJSON_Delete(r);
	}
	for (ci = 0; ci < w->nclients && w->divergences == 0; ci++) {
		for (k = 0; k < MODEL_KEYS && w->divergences == 0; k++) {
			struct mkey *m = &w->keys[ci][k];
			long seq = MODEL_ABSENT;
			const char *v;

			snprintf(req, sizeof req, "{\"op\":\"get\",\"name\":\"%s\"}\n", m->name);
			r = wire_call(&c, req, 60000, &why);
			v = jstr(r, "value");
			if (r != NULL && jok(r) && v != NULL)
				seq = value_seq(w, m->name, v, strlen(v), m->sent);
			else if (r == NULL || strcmp(jerr(r), "not_found") != 0)
				seq = -3;
			if (!cand_has(m, seq))
				diverge(w, "at the end %s reads #%ld, not what the model holds", m->name,
					seq);
			cand_set(m, seq);
			cJSON_Delete(r);
		}
	}
	wire_close(&c);
	buf_free(&c.in);
	return w->divergences > 0 ? -1 : 0;
}

/* Print what ran and how fast. */
static void
summary(const struct world *w, double secs)
{
	int c;

	printf("# %lu operations in %.1f s (%.0f ops/s) by %d clients", w->ops, secs,
	       w->ops / (secs > 0 ? secs : 1), w->nclients);
	for (c = 0; c < w->nclients; c++)
		printf("%s%lu", c == 0 ? " (" : " ", w->client_ops[c]);
	printf(")\n# locks %lu, unlocks %lu, wrong passphrases %lu, passphrase set/change/remove "
	       "%lu, --for shortened %lu, auto-locks seen %lu\n",
	       w->locks, w->unlocks, w->wrong, w->rekeys, w->shortens, w->autolocks);
	printf("# SIGHUP %lu, SIGKILL %lu, SIGTERM %lu, replies lost to a kill %lu, locked answers "
	       "%lu, file checks %lu, divergences %d\n",
	       w->hups, w->kills, w->terms, w->lost_replies, w->locked_replies, w->file_checks,
	       w->divergences);
	printf("# swapped in under a SIGHUP and refused: %lu plain files while sealed, %lu older "
	       "sealed copies\n",
	       w->swaps_plain, w->swaps_older);
}

int
main(int argc, char **argv)
{
	static struct world w;
	static struct actor actors[MODEL_MAX_CLIENTS + 1];
	const char *passes[1], *little;
	double secs;
	int64_t end, next_report;
	int i, status;

	if (argc != 3 || setup(&w, argv[1], argv[2]) == -1) {
		fputs("usage: ccr-model KEYD DIR (settings in MODEL_* variables)\n", stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (sealed_init() == -1)
		return 2;
	printf("# ccr-model: seed %llu (MODEL_SEED=%llu replays its choices), %d clients, %.0f s, "
	       "faults:%s%s%s\n",
	       (unsigned long long)w.seed, (unsigned long long)w.seed, w.nclients, w.seconds,
	       w.hup ? " SIGHUP" : "", w.kill ? " SIGKILL" : "", w.term ? " SIGTERM" : "");
	fflush(stdout);
	w.start_us = now_us();
	if (daemon_start(&w) == -1)
		return 2;
	w.up = true;
	for (i = 0; i <= w.nclients; i++) {
		actors[i] = (struct actor){.w = &w, .id = i, .rng = {w.seed + 7919 * (uint64_t)i}};
		actors[i].conn.fd = -1;
		pthread_create(&actors[i].thread, NULL, i < w.nclients ? client_main : controller_main,
			       &actors[i]);
	}
	end = w.start_us + (int64_t)(w.seconds * 1e6);
	next_report = w.start_us + 60 * 1000000LL;
	pthread_mutex_lock(&w.mu);
	while (!w.stop && now_us() < end) {
		struct timespec ts;

		if (now_us() >= next_report) {
			/* A line a minute, so that a long run shows it is alive. */
			printf("# %.0f s: %lu operations, %lu kills, %lu reloads, divergences %d\n",
			       (now_us() - w.start_us) / 1e6, w.ops, w.kills + w.terms, w.hups,
			       w.divergences);
			fflush(stdout);
			next_report += 60 * 1000000LL;
		}

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&w.cv, &w.mu, &ts);
	}
	w.stop = true;
	pthread_cond_broadcast(&w.cv);
	pthread_mutex_unlock(&w.mu);
	for (i = 0; i <= w.nclients; i++)
		pthread_join(actors[i].thread, NULL);
	pthread_mutex_lock(&w.mu);
	if (w.divergences == 0 && w.up)
		final_reads(&w);
	if (w.pid > 0) {
		status = daemon_stop(&w);
		if (w.divergences == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			diverge(&w, "ccr-keyd did not exit 0 on SIGTERM (wait status %d)", status);
	}
	passes[0] = w.pass;
	if (w.divergences == 0)
		file_check(&w, passes, 1, true);
	secs = (now_us() - w.start_us) / 1e6;
	summary(&w, secs);
	coverage_report(&w);
	little = too_little(&w, secs);
	if (little != NULL)
		printf("# the run did too little to judge the daemon by: %s\n", little);
	pthread_mutex_unlock(&w.mu);
	buf_free(&w.old_copy);
	return w.divergences > 0 || little != NULL ? 1 : 0;
}
