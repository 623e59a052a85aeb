/*
 * The request decoder's parts, for common/ alone and the tests: the table of
 * shapes and both paths through it (proto_decode.c), each op's checks
 * (proto_check.c), and the fast path's scanner (proto_scan.c). The fast path
 * reads the requests clients send most (get, use, hello, list, status)
 * without building a cJSON tree; it takes only the plainest form of JSON and
 * leaves every other line, and every request it would refuse, to the cJSON
 * path, so the two decode alike. proto_decode_tree is that path alone.
 */
#ifndef CCR_PROTO_DECODE_H
#define CCR_PROTO_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

/* The longest line and the most members the scanner reads; longer or more go to cJSON. */
#define SCAN_LINE_MAX PROTO_SCAN_MAX
#define SCAN_MEMBERS 8

enum scan_kind { SCAN_STRING, SCAN_TRUE, SCAN_FALSE, SCAN_INT };

/* One member as it stands in the line: no escapes, so its bytes are its value. */
struct scan_member {
	const char *key;
	size_t key_len;
	enum scan_kind kind;
	const char *value; /* a string without its quotes, or an integer's digits */
	size_t value_len;
};

/* A scanned line: its members in order. */
struct scan {
	size_t n;
	struct scan_member m[SCAN_MEMBERS];
};

/*
 * True when the len bytes at line are one JSON object with only JSON
 * whitespace around it, of at most SCAN_MEMBERS members, each a key and
 * either a string of printable ASCII without escapes, true, false, or an
 * integer of at most 15 digits written as JSON writes it: then sc holds them.
 * False for anything else, and the line is cJSON's to read.
 */
bool proto_scan(const char *line, size_t len, struct scan *sc);

/* proto_decode by the cJSON path alone, never the scanner (for differential tests). */
enum proto_err proto_decode_tree(const char *line, size_t len, struct proto_request *req,
                                 const char **msg);

/*
 * The checks of the rows of proto_decode.c's shapes: each takes and checks
 * what its op carries besides the string members, from req->doc, and
 * returns PE_OK or the error with *msg set.
 */
enum proto_err proto_check_name(struct proto_request *req, const char **msg);
enum proto_err proto_check_get(struct proto_request *req, const char **msg);
enum proto_err proto_check_set(struct proto_request *req, const char **msg);
enum proto_err proto_check_rename(struct proto_request *req, const char **msg);
enum proto_err proto_check_resolve(struct proto_request *req, const char **msg);
enum proto_err proto_check_allow(struct proto_request *req, const char **msg);
enum proto_err proto_check_unlock(struct proto_request *req, const char **msg);
enum proto_err proto_check_use(struct proto_request *req, const char **msg);
enum proto_err proto_check_bind(struct proto_request *req, const char **msg);

/* proto_check_use for a use the scanner read: req->origin holds the origin as sent. */
enum proto_err proto_check_use_scanned(struct proto_request *req, const char **msg);

#endif
