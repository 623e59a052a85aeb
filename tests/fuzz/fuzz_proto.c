/*
 * libFuzzer target: the request decoder, fed any bytes a peer could send as one
 * line. Every outcome must be a known error code or a request whose fields obey
 * the rules the decoder promises, and the same whether the scanner's fast path
 * or cJSON's path read the line (proto_decode against proto_decode_tree).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "origin.h"
#include "proto.h"
#include "proto_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when two decoded strings are both absent or equal. */
static bool
same_str(const char *a, const char *b)
{
	return (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
}

/* Abort unless decoding data by cJSON's path alone gives what proto_decode gave. */
static void
check_paths_agree(const uint8_t *data, size_t size, enum proto_err err,
                  const struct proto_request *a, const char *msg)
{
	struct proto_request b;
	const char *msg_b = NULL;
	enum proto_err err_b = proto_decode_tree((const char *)data, size, &b, &msg_b);

	if (err_b != err || a->op != b.op || strcmp(a->id, b.id) != 0)
		abort();
	if (err != PE_OK && strcmp(msg, msg_b) != 0)
		abort();
	if (err == PE_OK &&
	    (!same_str(a->name, b.name) || !same_str(a->new_name, b.new_name) ||
	     !same_str(a->env, b.env) || !same_str(a->value, b.value) ||
	     a->value_len != b.value_len || !same_str(a->action, b.action) ||
	     !same_str(a->new_value, b.new_value) || !same_str(a->proof, b.proof) ||
	     (a->envs == NULL) != (b.envs == NULL) || a->seconds != b.seconds ||
	     a->masked != b.masked || a->all != b.all || a->has_origins != b.has_origins ||
	     a->env_confirmed != b.env_confirmed || a->mode != b.mode ||
	     strcmp(a->origins, b.origins) != 0 || strcmp(a->origin, b.origin) != 0))
		abort();
	proto_request_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_request req;
	struct buf reply = {0};
	const char *msg = NULL;
	enum proto_err err = proto_decode((const char *)data, size, &req, &msg);

	check_paths_agree(data, size, err, &req, msg);
	if (err != PE_OK) {
		if (err >= PE_COUNT || msg == NULL)
			abort();
		proto_reply_error(&reply, req.id, err, msg);
	} else {
		if (req.op >= OP_COUNT)
			abort();
		if ((req.op == OP_GET || req.op == OP_SET || req.op == OP_DELETE) &&
		    !name_is_valid(req.name))
			abort();
		if (req.op == OP_SET && (req.value == NULL || req.value_len == 0 ||
					 req.value_len > PROTO_VALUE_MAX ||
					 memchr(req.value, '\n', req.value_len) != NULL))
			abort();
		/* use's origin and set's and bind's origins are canonical: their own form. */
		if (req.op == OP_USE) {
			char again[ORIGIN_MAX + 1];

			if (origin_canon(req.origin, again, NULL) != 0 ||
			    strcmp(again, req.origin) != 0)
				abort();
		}
		if ((req.op == OP_SET || req.op == OP_BIND) &&
		    origin_list_count(req.origins) > ORIGINS_MAX)
			abort();
		proto_reply_begin(&reply, req.id);
		if (req.name != NULL)
			proto_field_str(&reply, "name", req.name, strlen(req.name));
		proto_end(&reply);
	}
	/* Every reply is one line of valid UTF-8. */
	if (memchr(reply.data, '\n', reply.len) != reply.data + reply.len - 1 ||
	    !proto_utf8_valid(reply.data, reply.len))
		abort();
	buf_free(&reply);
	proto_request_free(&req);
	return 0;
}
