/*
 * The naming rules shared by the daemon, the client and the import commands.
 */
#include "names.h"

#include <string.h>

static bool
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
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
