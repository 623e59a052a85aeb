/*
 * The naming rules shared by the daemon, the client and the import commands,
 * and the one list of environment names that are never stored or injected.
 */
#include "names.h"

#include <stdio.h>
#include <string.h>

/*
 * Names that make a program load code, or look for code, configuration or trust
 * somewhere else: a key stored under one of them would let whoever writes the
 * keystore (or plants a daemon) run code in every process `exec` starts. The
 * Node module keeps a copy (client/node/index.cjs, REFUSED_ENV), and a test
 * proves the two equal (tests/integration/trust.bats). Keep the docs in step:
 * README.md, docs/ccr-config.1, docs/PROTOCOL.md (tests/integration/docs.bats).
 */
/* clang-format off */
const char *const env_refused_list[] = {
	/* the dynamic loader and the C library */
	"LD_*", "DYLD_*", "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES",
	"LOCALDOMAIN", "LOCPATH", "MALLOC_*", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF",
	"RES_OPTIONS", "TZDIR",
	/* where everything looks */
	"PATH", "HOME", "SHELL", "TMPDIR", "TMP", "TEMP", "XDG_*",
	/* shells: start-up files, prompts and word splitting run or reshape commands */
	"BASH_*", "BASHOPTS", "CDPATH", "ENV", "FPATH", "GLOBIGNORE", "IFS", "INPUTRC",
	"PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS3", "PS4", "SHELLOPTS", "ZDOTDIR",
	/* language run-times: options, module paths, start-up scripts */
	"NODE_*", "NPM_CONFIG_*", "ELECTRON_RUN_AS_NODE", "PYTHON*", "PERL*", "RUBY*",
	"GEM_HOME", "GEM_PATH", "BUNDLE_GEMFILE", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
	"JDK_JAVA_OPTIONS", "JAVA_HOME", "CLASSPATH", "LUA_*", "PHPRC", "PHP_INI_SCAN_DIR",
	"GOENV", "GOFLAGS", "GOPATH", "GOPROXY", "GOROOT", "GOTOOLCHAIN",
	/* whom TLS trusts */
	"SSL_CERT_FILE", "SSL_CERT_DIR", "OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES",
	"CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE",
	/* git, ssh, gpg: helpers they run, agents they ask */
	"GIT_*", "SSH_*", "GNUPGHOME", "GPG_AGENT_INFO",
	/* commands other programs run for you */
	"EDITOR", "VISUAL", "PAGER", "MANPAGER", "LESSOPEN", "LESSCLOSE", "BROWSER",
	/* modules that terminal and desktop libraries load */
	"TERMINFO", "TERMINFO_DIRS", "GTK_MODULES", "GTK_PATH", "GIO_MODULE_DIR",
	"QT_PLUGIN_PATH", "DBUS_SESSION_BUS_ADDRESS",
	/* our own: where the router, the keystore and the daemon live */
	"CCR_HOME", "CCR_KEYS", "CCR_KEYD_*",
	NULL,
};
/* clang-format on */

/*
 * The endings of an env name that looks like a credential's: a key is stored
 * under any other name only with a person's yes, on a terminal outside any
 * coding agent (env_is_credential). A list of bad names cannot be complete
 * (MAKEFILES, TAR_OPTIONS, SUDO_ASKPASS … each runs code); this rule is
 * positive, and the refused list still applies on top. Keep the docs in step:
 * README.md, docs/ccr-config.1, docs/PROTOCOL.md, docs/DESIGN.md.
 */
const char *const env_credential_suffixes[] = {
	"_API_KEY", "_APIKEY", "_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PAT", NULL,
};

/* What a byte may be part of: a key name ([A-Za-z0-9._-]), an env name ([A-Z0-9_]). */
enum { IN_NAME = 1, IN_ENV = 2, IN_BOTH = IN_NAME | IN_ENV };

/* Each byte's IN_ bits: a table, since every key loaded is checked byte by byte. */
/* clang-format off */
static const unsigned char name_bytes[256] = {
	['.'] = IN_NAME, ['-'] = IN_NAME, ['_'] = IN_BOTH,
	['0'] = IN_BOTH, ['1'] = IN_BOTH, ['2'] = IN_BOTH, ['3'] = IN_BOTH, ['4'] = IN_BOTH,
	['5'] = IN_BOTH, ['6'] = IN_BOTH, ['7'] = IN_BOTH, ['8'] = IN_BOTH, ['9'] = IN_BOTH,
	['A'] = IN_BOTH, ['B'] = IN_BOTH, ['C'] = IN_BOTH, ['D'] = IN_BOTH, ['E'] = IN_BOTH,
	['F'] = IN_BOTH, ['G'] = IN_BOTH, ['H'] = IN_BOTH, ['I'] = IN_BOTH, ['J'] = IN_BOTH,
	['K'] = IN_BOTH, ['L'] = IN_BOTH, ['M'] = IN_BOTH, ['N'] = IN_BOTH, ['O'] = IN_BOTH,
	['P'] = IN_BOTH, ['Q'] = IN_BOTH, ['R'] = IN_BOTH, ['S'] = IN_BOTH, ['T'] = IN_BOTH,
	['U'] = IN_BOTH, ['V'] = IN_BOTH, ['W'] = IN_BOTH, ['X'] = IN_BOTH, ['Y'] = IN_BOTH,
	['Z'] = IN_BOTH,
	['a'] = IN_NAME, ['b'] = IN_NAME, ['c'] = IN_NAME, ['d'] = IN_NAME, ['e'] = IN_NAME,
	['f'] = IN_NAME, ['g'] = IN_NAME, ['h'] = IN_NAME, ['i'] = IN_NAME, ['j'] = IN_NAME,
	['k'] = IN_NAME, ['l'] = IN_NAME, ['m'] = IN_NAME, ['n'] = IN_NAME, ['o'] = IN_NAME,
	['p'] = IN_NAME, ['q'] = IN_NAME, ['r'] = IN_NAME, ['s'] = IN_NAME, ['t'] = IN_NAME,
	['u'] = IN_NAME, ['v'] = IN_NAME, ['w'] = IN_NAME, ['x'] = IN_NAME, ['y'] = IN_NAME,
	['z'] = IN_NAME,
};
/* clang-format on */

static bool
is_name_char(char c)
{
	return (name_bytes[(unsigned char)c] & IN_NAME) != 0;
}

bool
name_is_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || s[0] == '.' || s[0] == '_' || s[0] == '-')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= NAME_MAX_LEN || !is_name_char(s[i]))
			return false;
	}
	return true;
}

bool
env_is_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= ENV_MAX_LEN || (name_bytes[(unsigned char)s[i]] & IN_ENV) == 0)
			return false;
	}
	return true;
}

void
name_default_env(const char *name, char *out)
{
	size_t i;

	if (env_is_valid(name)) {
		strcpy(out, name);
		return;
	}
	if (name[0] >= '0' && name[0] <= '9')
		*out++ = '_';
	for (i = 0; name[i] != '\0' && i < NAME_MAX_LEN; i++) {
		char c = name[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c == '.' || c == '-')
			c = '_';
		out[i] = c;
	}
	strcpy(out + i, "_API_KEY");
}

bool
name_from_env(const char *env, char *out)
{
	static const char suffix[] = "_API_KEY";
	size_t len, stem, i;

	if (!env_is_valid(env))
		return false;
	len = strlen(env);
	if (len <= sizeof suffix - 1 || strcmp(env + len - (sizeof suffix - 1), suffix) != 0)
		return false;
	stem = len - (sizeof suffix - 1);
	if (stem > NAME_MAX_LEN)
		return false;
	for (i = 0; i < stem; i++) {
		char c = env[i];

		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[stem] = '\0';
	return name_is_valid(out);
}

bool
env_is_refused(const char *env)
{
	size_t i, n;

	for (i = 0; env_refused_list[i] != NULL; i++) {
		const char *r = env_refused_list[i];

		if (r[0] != env[0])
			continue;
		n = strlen(r);
		if (r[n - 1] == '*' ? strncmp(env, r, n - 1) == 0 : strcmp(env, r) == 0)
			return true;
	}
	return false;
}

bool
env_is_credential(const char *env)
{
	size_t i, n, len = strlen(env), digits = 0;

	/* A numbered variant (OPENAI_API_KEY_2, as migrate makes) is one too. */
	while (digits < len && env[len - 1 - digits] >= '0' && env[len - 1 - digits] <= '9')
		digits++;
	if (digits > 0 && digits < len && env[len - 1 - digits] == '_')
		len -= digits + 1;
	for (i = 0; env_credential_suffixes[i] != NULL; i++) {
		n = strlen(env_credential_suffixes[i]);
		if (len > n && strncmp(env + len - n, env_credential_suffixes[i], n) == 0)
			return true;
	}
	return false;
}

void
env_unconfirmed_message(const char *env, char *out, size_t size)
{
	snprintf(out, size,
	         "$%s does not look like a credential's name (…_API_KEY, _KEY, _TOKEN, "
	         "_SECRET, _PASSWORD, _PAT); store it with ccr-config set on a terminal "
	         "outside any agent, which asks you to confirm it",
	         env);
}

void
env_refused_message(const char *env, char *out, size_t size)
{
	snprintf(out, size,
	         "$%s changes how programs load or where they look; ccr-keyd never stores or "
	         "injects it; use another name with --env",
	         env);
}
