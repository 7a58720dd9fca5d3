/*
 * libFuzzer target: the WebSocket frame decoder (src/daemon/ws.c) on
 * arbitrary bytes, as any token holder's browser (or anyone with a token
 * and a socket) can send them to a console.  The first byte picks where the
 * rest is cut into pieces.  Checked besides ASan/UBSan: the decoder yields
 * exactly the same payload bytes, pings, close and verdict whether the input
 * comes whole or in pieces; it never hands on more payload than it was fed;
 * a refusal is -EPROTO with a message and the close code 1002 or 1007.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ws.h"

struct run {
	uint8_t *data;
	size_t len, cap;
	size_t ping_bytes;
	int pings;
	unsigned close;
	int rc;
	unsigned close_code;
};

static void on_data(void *ctx, const uint8_t *p, size_t n)
{
	struct run *r = ctx;
	if (r->len + n > r->cap)
		abort();   /* more payload than input */
	memcpy(r->data + r->len, p, n);
	r->len += n;
}

static void on_ping(void *ctx, const uint8_t *p, size_t n)
{
	struct run *r = ctx;
	(void)p;
	if (n > WS_CONTROL_MAX)
		abort();
	r->pings++;
	r->ping_bytes += n;
}

static void on_close(void *ctx, unsigned code)
{
	((struct run *)ctx)->close = code;
}

static void decode(const uint8_t *in, size_t n, size_t step, struct run *r)
{
	struct ws_decoder d;
	struct ws_handler h = { on_data, on_ping, on_close, r };
	ws_decoder_init(&d);
	r->rc = 0;
	for (size_t off = 0; off < n && r->rc == 0;) {
		size_t k = n - off < step ? n - off : step;
		struct err e = { 0 };
		r->rc = ws_feed(&d, in + off, k, &h, &e);
		if (r->rc < 0 && (r->rc != -EPROTO || !e.msg[0]))
			abort();
		off += k;
	}
	if (r->rc < 0 && d.close_code != WS_CLOSE_PROTOCOL && d.close_code != WS_CLOSE_BAD_DATA &&
	    !r->close)
		abort();
	r->close_code = d.close_code;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)data[0] % 17 + 1;
	data++, size--;
	struct run whole = { .data = malloc(size + 1), .cap = size };
	struct run cut = { .data = malloc(size + 1), .cap = size };
	decode(data, size, size ? size : 1, &whole);
	decode(data, size, step, &cut);
	if (whole.len != cut.len || memcmp(whole.data, cut.data, whole.len) ||
	    whole.pings != cut.pings || whole.ping_bytes != cut.ping_bytes ||
	    whole.close != cut.close || whole.rc != cut.rc || whole.close_code != cut.close_code)
		abort();
	free(whole.data);
	free(cut.data);
	return 0;
}
