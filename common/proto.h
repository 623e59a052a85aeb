/*
 * The wire protocol, version 1 (docs/DESIGN.md, "Protocol"): newline-delimited JSON
 * requests and replies over a Unix stream socket. Requests are decoded with
 * cJSON (proto_decode.c), the plainest ones by a scanner (proto_scan.c); requests and replies are encoded directly into a
 * struct buf (proto.c), which is all the client needs.
 */
#ifndef CCR_PROTO_H
#define CCR_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "origin.h"
#include "utf8.h"

struct cJSON;

#define PROTO_VERSION 1
#define PROTO_LINE_MAX (64 * 1024)
#define PROTO_VALUE_MAX (16 * 1024)
#define PROTO_ID_MAX 160
/* The longest time a "for" may ask (unlock, allow): a week, in seconds. */
#define PROTO_FOR_MAX (7 * 86400.0)

/* The message of a denied unlock or passphrase change: only it may be typed again. */
#define PROTO_WRONG_PASSPHRASE "wrong passphrase"

enum proto_op {
	OP_HELLO,
	OP_GET,
	OP_RESOLVE,
	OP_SET,
	OP_DELETE,
	OP_LIST,
	OP_STATUS,
	OP_LOCK,
	OP_UNLOCK,
	OP_PASSPHRASE,
	OP_ALLOW,
	OP_GUARD,
	OP_USE,
	OP_BIND,
	OP_RENAME,
	OP_COUNT
};

enum proto_err {
	PE_OK,
	PE_BAD_REQUEST,
	PE_UNKNOWN_OP,
	PE_INVALID_NAME,
	PE_INVALID_VALUE,
	PE_NOT_FOUND,
	PE_CONFLICT,
	PE_TOO_LARGE,
	PE_LOCKED,
	PE_DENIED,
	PE_BUSY,
	PE_IO_ERROR,
	PE_COUNT
};

/* bind's "mode": what a key's origins become. */
enum proto_bind_mode {
	BIND_SET,     /* exactly the request's origins */
	BIND_ADD,     /* the key's and the request's */
	BIND_REMOVE,  /* the key's but the request's */
	BIND_INITIAL, /* the request's when the key has none, else unchanged */
};

/* A line the decoder's fast path may read (proto_scan.h); longer ones go to cJSON. */
#define PROTO_SCAN_MAX 512

/*
 * A decoded request. Its strings point into doc, or into text when the fast
 * path read it, and live until proto_request_free.
 */
struct proto_request {
	enum proto_op op; /* OP_COUNT when the line names no known op */
	struct cJSON *doc;
	char id[PROTO_ID_MAX]; /* the "id" member as JSON text, "" when absent */
	const char *name;      /* get, set, delete, rename */
	const char *new_name;  /* rename: the name the key gets */
	const char *env;       /* set: optional env name; resolve: a single name */
	const char *value;     /* set, unlock, passphrase */
	size_t value_len;
	const struct cJSON *envs; /* resolve: the array form, each a valid env name */
	const char *action; /* passphrase: "set", "change" or "remove" */
	const char *new_value; /* passphrase change/set: the new passphrase */
	double seconds;        /* unlock, allow: "for", 0 when absent */
	bool masked;           /* get: the masked value instead of the value */
	bool all;              /* allow: every key instead of "name" */
	const char *proof;     /* hello: the path of a client's proof file (daemon/proof.c) */
	bool has_origins;      /* set, bind: the request carried "origins" */
	bool env_confirmed;    /* set: a person confirmed an env name unlike a credential's */
	enum proto_bind_mode mode;     /* bind */
	size_t text_len;               /* bytes of text in use */
	/* The large members last: proto_decode clears only their first byte. */
	char origins[ORIGIN_LIST_MAX]; /* set, bind: canonical, sorted, distinct (origin.h) */
	char origin[ORIGIN_MAX + 1];   /* use: canonical */
	char text[PROTO_SCAN_MAX];     /* the scanner's copies of the strings (proto_scan.h) */
};

/* The wire name of an op ("get"), or NULL. */
const char *proto_op_name(enum proto_op op);

/* True when op has its row in the decoder's table of request shapes (proto_decode.c). */
bool proto_op_has_shape(enum proto_op op);

/* The wire name of an error code ("not_found"). */
const char *proto_err_name(enum proto_err err);

/* The error code for a wire name; PE_COUNT when unknown. */
enum proto_err proto_err_from_name(const char *name);

/* True when the len bytes at s are text a line may carry: well-formed UTF-8 (utf8.h). */
static inline bool
proto_utf8_valid(const char *s, size_t len)
{
	return utf8_valid(s, len);
}

/*
 * What may be a key's value, the one rule: not empty, at most PROTO_VALUE_MAX
 * bytes, one line (no CR or LF), no NUL, UTF-8 text. A set request's line
 * that breaks it is refused by the daemon (its decoder and the keystore's
 * loader say so in their own words); the client checks it first, to say
 * which part a key breaks before anything is sent.
 */
enum proto_value_fault {
	PV_OK,
	PV_EMPTY,
	PV_TOO_LONG,
	PV_LINES,
	PV_NUL,
	PV_NOT_UTF8,
};

/* The first part of the rule the len bytes at v break, or PV_OK. */
enum proto_value_fault proto_value_check(const char *v, size_t len);

/* What is wrong, for "the value …": "is empty", "is longer than 16 KiB", … ("" for PV_OK). */
const char *proto_value_fault_text(enum proto_value_fault fault);

/* True when the len bytes at s hold a \u0000 escape, which would cut a C string short. */
bool proto_has_nul_escape(const char *s, size_t len);

/* True when nothing but JSON whitespace (space, tab, CR, LF) lies between p and end. */
bool proto_space_only(const char *p, const char *end);

/*
 * Decode one request line (without its newline). On success returns PE_OK and
 * fills req, which the caller releases with proto_request_free. On failure
 * returns the error code, sets *msg to a static message, and leaves req->id
 * set when the line carried a usable id, so the error reply can echo it.
 */
enum proto_err proto_decode(const char *line, size_t len, struct proto_request *req,
			    const char **msg);

/* Release what proto_decode allocated, wiping any secret it held. */
void proto_request_free(struct proto_request *req);

/* Begin a request line: {"op":"OP" */
void proto_request_begin(struct buf *b, enum proto_op op);

/* Begin a success reply: {"ok":true[,"id":ID] (id may be NULL or ""). */
void proto_reply_begin(struct buf *b, const char *id);

/* Append a whole failure reply line for err with a message that holds no secret. */
void proto_reply_error(struct buf *b, const char *id, enum proto_err err, const char *msg);

/* Append ,"key": — the caller writes the value. Inline, so a constant key costs no strlen. */
static inline void
proto_field_key(struct buf *b, const char *key)
{
	size_t n = strlen(key);

	/* Keys are the protocol's own constants: quoted, never escaped. */
	buf_reserve(b, n + 4);
	b->data[b->len++] = ',';
	b->data[b->len++] = '"';
	memcpy(b->data + b->len, key, n);
	b->len += n;
	b->data[b->len++] = '"';
	b->data[b->len++] = ':';
	b->data[b->len] = '\0';
}

/* Append ,"key":"value" (len bytes of value). */
static inline void
proto_field_str(struct buf *b, const char *key, const char *value, size_t len)
{
	proto_field_key(b, key);
	buf_add_json(b, value, len);
}

/*
 * Append ,"key":"value" (len bytes) with the escapes of set (buf.h). The
 * client's --json output of free text (paths, messages) takes BUF_JSON_CJSON,
 * the bytes it always had; proto_field_str is the wire's BUF_JSON_WIRE.
 */
void proto_field_str_as(struct buf *b, const char *key, const char *value, size_t len,
                        enum buf_json_set set);

/* Append ,"key":N */
void proto_field_int(struct buf *b, const char *key, long long v);

/* Append ,"key":true or false */
void proto_field_bool(struct buf *b, const char *key, bool v);

/* Append ,"key":["a","b"] from the space-separated words of list ("" gives []). */
void proto_field_list(struct buf *b, const char *key, const char *list);


/* End a request or reply: }\n */
void proto_end(struct buf *b);

#endif
