/*
 * jsonget: read one JSON line from each line of stdin and print the member at
 * PATH of each, so that the integration tests need no jq.
 *
 *   jsonget PATH        e.g. jsonget ok, jsonget keys.0.masked, jsonget .
 *
 * PATH is a dot-separated list of object keys and array indexes; "." is the
 * whole document. A string prints as is, anything else as compact JSON.
 * Exit status: 0 every line had PATH, 1 some line lacked it, 2 some line was
 * not JSON (or usage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* The item at the dot-separated path under doc, or NULL. */
static const cJSON *
walk(const cJSON *doc, const char *path)
{
	char *copy, *part, *save = NULL, *end;
	const cJSON *at = doc;

	if (strcmp(path, ".") == 0)
		return doc;
	copy = strdup(path);
	if (copy == NULL)
		return NULL;
	for (part = strtok_r(copy, ".", &save); part != NULL && at != NULL;
	     part = strtok_r(NULL, ".", &save)) {
		long i = strtol(part, &end, 10);

		if (cJSON_IsArray(at) && *part != '\0' && *end == '\0')
			at = cJSON_GetArrayItem(at, (int)i);
		else if (cJSON_IsObject(at))
			at = cJSON_GetObjectItemCaseSensitive(at, part);
		else
			at = NULL;
	}
	free(copy);
	return at;
}

/* Print one item: a string raw, anything else as compact JSON. */
static void
print_item(const cJSON *item)
{
	char *text;

	if (cJSON_IsString(item)) {
		printf("%s\n", item->valuestring);
		return;
	}
	text = cJSON_PrintUnformatted(item);
	printf("%s\n", text != NULL ? text : "");
	cJSON_free(text);
}

int
main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	if (argc != 2) {
		fputs("usage: jsonget PATH < json-lines\n", stderr);
		return 2;
	}
	while ((n = getline(&line, &cap, stdin)) != -1) {
		cJSON *doc = cJSON_ParseWithLength(line, (size_t)n);
		const cJSON *item;

		if (doc == NULL) {
			fprintf(stderr, "jsonget: not JSON: %s", line);
			rc = 2;
			continue;
		}
		item = walk(doc, argv[1]);
		if (item == NULL) {
			if (rc == 0)
				rc = 1;
		} else {
			print_item(item);
		}
		cJSON_Delete(doc);
	}
	free(line);
	return rc;
}
