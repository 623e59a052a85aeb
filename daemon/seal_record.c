/*
 * Reading and writing the seal record: one line of JSON,
 * {"version":1,"sealed":true,"generation":7}, replaced whole like the keystore.
 */
#include "seal_record.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "fileio.h"
#include "sealed.h"

bool
seal_record_kept(const struct seal_record *r)
{
	return r->sealed || r->generation > 0;
}

int
seal_record_path(const char *keys, char *out, size_t size)
{
	int n = snprintf(out, size, "%s.seal", keys);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
seal_record_read(const char *path, struct seal_record *r, char *err, size_t errsize)
{
	struct buf text = {0};
	const cJSON *ver, *sealed, *gen;
	cJSON *doc = NULL;
	char why[512];
	int rc;

	memset(r, 0, sizeof *r);
	rc = fileio_read(path, 1, &text, NULL, why, sizeof why);
	if (rc == 1) {
		buf_free(&text);
		return 0;
	}
	if (rc == 0) {
		doc = cJSON_ParseWithLength(text.data, text.len);
		ver = cJSON_GetObjectItemCaseSensitive(doc, "version");
		sealed = cJSON_GetObjectItemCaseSensitive(doc, "sealed");
		gen = cJSON_GetObjectItemCaseSensitive(doc, "generation");
		if (!cJSON_IsNumber(ver) || ver->valuedouble != 1 || !cJSON_IsBool(sealed) ||
		    !cJSON_IsNumber(gen) || gen->valuedouble < 0 ||
		    gen->valuedouble > (double)SEALED_GENERATION_MAX ||
		    gen->valuedouble != (double)(unsigned long long)gen->valuedouble) {
			snprintf(why, sizeof why, "%s is not a valid seal record", path);
			rc = -1;
		} else {
			r->sealed = cJSON_IsTrue(sealed);
			r->generation = (unsigned long long)gen->valuedouble;
		}
	}
	if (rc == -1)
		snprintf(err, errsize,
			 "%s; it records whether the keystore is sealed, and refusing it is safer "
			 "than guessing (to start over, remove it: rm %s)",
			 why, path);
	cJSON_Delete(doc);
	buf_free(&text);
	return rc;
}

int
seal_record_write(const char *path, const struct seal_record *r, char *err, size_t errsize)
{
	char text[128];
	int n = snprintf(text, sizeof text, "{\"version\":1,\"sealed\":%s,\"generation\":%llu}\n",
			 r->sealed ? "true" : "false", r->generation);

	/* 1: in place, but the directory's fsync failed; the next write tries again. */
	return fileio_write_atomic(path, text, (size_t)n, 0600, err, errsize) == -1 ? -1 : 0;
}
