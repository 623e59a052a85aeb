/*
 * libFuzzer target: the request decoder, fed any bytes a peer could send as one
 * line. Every outcome must be a known error code or a request whose fields obey
 * the rules the decoder promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "origin.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_request req;
	struct buf reply = {0};
	const char *msg = NULL;
	enum proto_err err = proto_decode((const char *)data, size, &req, &msg);

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
