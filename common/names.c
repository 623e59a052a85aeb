/*
 * The naming rules shared by the daemon, the client and the import commands.
 */
#include "names.h"

#include <string.h>

/* Which bytes may appear in a key name: [A-Za-z0-9._-]. */
static const bool name_chars[256] = {
	['.'] = true, ['_'] = true, ['-'] = true,
	['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true,
	['5'] = true, ['6'] = true, ['7'] = true, ['8'] = true, ['9'] = true,
	['A'] = true, ['B'] = true, ['C'] = true, ['D'] = true, ['E'] = true, ['F'] = true,
	['G'] = true, ['H'] = true, ['I'] = true, ['J'] = true, ['K'] = true, ['L'] = true,
	['M'] = true, ['N'] = true, ['O'] = true, ['P'] = true, ['Q'] = true, ['R'] = true,
	['S'] = true, ['T'] = true, ['U'] = true, ['V'] = true, ['W'] = true, ['X'] = true,
	['Y'] = true, ['Z'] = true,
	['a'] = true, ['b'] = true, ['c'] = true, ['d'] = true, ['e'] = true, ['f'] = true,
	['g'] = true, ['h'] = true, ['i'] = true, ['j'] = true, ['k'] = true, ['l'] = true,
	['m'] = true, ['n'] = true, ['o'] = true, ['p'] = true, ['q'] = true, ['r'] = true,
	['s'] = true, ['t'] = true, ['u'] = true, ['v'] = true, ['w'] = true, ['x'] = true,
	['y'] = true, ['z'] = true,
};

static bool
is_name_char(char c)
{
	return name_chars[(unsigned char)c];
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
		char c = s[i];

		if (i >= ENV_MAX_LEN)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
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
