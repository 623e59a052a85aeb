/*
 * A growing byte buffer for request lines, replies and file images. It may hold
 * secrets, so it is wiped before its memory is released or reused.
 */
#ifndef CCR_BUF_H
#define CCR_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Overwrite len bytes at p in a way the compiler may not optimise away. */
void wipe(void *p, size_t len);

/* Grow b so that extra more bytes fit; aborts when memory is exhausted. */
void buf_grow(struct buf *b, size_t extra);

/* Make room for extra more bytes (and the NUL after them). */
static inline void
buf_reserve(struct buf *b, size_t extra)
{
	if (b->cap - b->len <= extra)
		buf_grow(b, extra);
}

/* Append len bytes. */
void buf_add(struct buf *b, const void *p, size_t len);

/* Append a NUL-terminated string. */
void buf_adds(struct buf *b, const char *s);

/* Append one byte. */
void buf_addc(struct buf *b, char c);

/* Append a decimal integer. */
void buf_addi(struct buf *b, long long v);

/*
 * The two escape sets of a JSON string literal. Both write \" \\ \n \r \t,
 * every other byte below 0x20 as \u00XX, and all else (UTF-8, DEL) as it is;
 * they differ in \b and \f alone. Each keeps the bytes its output has always
 * had: requests, replies, keystore files and the audit log were written with
 * the short set from the start (and buf_json_len sizes replies by it), while
 * the client's --json output was cJSON_PrintUnformatted's until the client
 * dropped cJSON, and scripts may compare it byte for byte.
 */
enum buf_json_set {
	BUF_JSON_WIRE,  /* \b and \f as \u0008 and \u000c */
	BUF_JSON_CJSON, /* \b and \f as cJSON writes them: "\b", "\f" */
};

/* The length of s (len bytes) as buf_add_json writes it, quotes included. */
size_t buf_json_len(const char *s, size_t len);

/* Append s (len bytes) as a JSON string literal, quotes included, escaped by set. */
void buf_add_json_as(struct buf *b, const char *s, size_t len, enum buf_json_set set);

/* Append s (len bytes) as a JSON string literal with the wire's escapes. */
static inline void
buf_add_json(struct buf *b, const char *s, size_t len)
{
	buf_add_json_as(b, s, len, BUF_JSON_WIRE);
}

/* Drop the first n bytes, moving the rest down; the freed tail is wiped. */
void buf_consume(struct buf *b, size_t n);

/* Wipe the contents and set the length to zero, keeping the memory. */
void buf_clear(struct buf *b);

/* Wipe and release the memory. */
void buf_free(struct buf *b);

#endif
