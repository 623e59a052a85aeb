/*
 * ccr-config check, the bindings' part: the daemon hands the router a key only
 * for a request to an origin the key is bound to, so a key the config's
 * providers use must be bound, and to every origin they send it to. Each gap is
 * a warning that names the command that closes it.
 */
#include <stdio.h>
#include <string.h>

#include "binding.h"
#include "check.h"
#include "config.h"

/* Warn when provider p sends key k to an origin k's binding lacks. */
static void
check_provider(const struct config_provider *p, const struct jsonr *k, struct buf *warnings)
{
	const char *name = cli_str(k, "name");
	const struct jsonr *bound = jsonr_get(k, "origins");
	char list[BINDING_TEXT_MAX];

	if (p->origin[0] == '\0' || jsonr_count(bound) == 0 || binding_has(bound, p->origin))
		return;
	binding_join(bound, ", ", list, sizeof list);
	check_warn(warnings, "origin_not_bound",
	           "provider %s sends %s ($%s) to %s, but %s is bound to %s only: the daemon "
	           "will refuse the router the key there; if that origin is right, run: "
	           "ccr-config bind %s --add %s",
	           p->label, name, cli_str(k, "env"), p->origin, name, list, name, p->origin);
}

/* Warn about the key k, which the config's providers use and which is bound to no origin. */
static void
check_unbound(const struct jsonr *k, const struct names *wanted, struct buf *warnings)
{
	const char *name = cli_str(k, "name");
	char list[BINDING_TEXT_MAX];

	binding_join_names(wanted, ", ", list, sizeof list);
	if (wanted->n == 0)
		check_warn(warnings, "key_unbound",
		           "%s ($%s) is bound to no origin, and no provider that uses it has an "
		           "api_base_url: the daemon will not hand it to the router; bind it with: "
		           "ccr-config bind %s URL",
		           name, cli_str(k, "env"), name);
	else
		check_warn(warnings, "key_unbound",
		           "%s ($%s) is bound to no origin: the router's first request binds it to "
		           "whatever the config names then; bind it now with: ccr-config bind %s "
		           "--from-config (that is, to %s)",
		           name, cli_str(k, "env"), name, list);
}

void
check_bindings(const struct buf *text, const struct jsonr *keys, struct buf *warnings)
{
	struct config_provider *p = NULL;
	const struct jsonr *k;
	char err[256];
	size_t n = 0, i, j;

	if (config_providers(text, &p, &n, err, sizeof err) == -1)
		return; /* check_exposure says why the router cannot parse it */
	jsonr_foreach(k, keys)
	{
		const char *env = cli_str(k, "env");
		struct names wanted = {0};
		bool used = false;

		for (i = 0; i < n; i++) {
			for (j = 0; j < p[i].refs.n; j++) {
				if (strcmp(p[i].refs.v[j], env) != 0)
					continue;
				used = true;
				check_provider(&p[i], k, warnings);
				if (p[i].origin[0] != '\0')
					names_add(&wanted, p[i].origin, strlen(p[i].origin));
				break;
			}
		}
		if (used && jsonr_count(jsonr_get(k, "origins")) == 0)
			check_unbound(k, &wanted, warnings);
		names_free(&wanted);
	}
	config_providers_free(p, n);
}
