/*
 * The WebSocket protocol (RFC 6455) as the daemon speaks it, server side,
 * without I/O: the opening handshake's checks and Sec-WebSocket-Accept
 * (section 4.2), a streaming decoder of the frames a client sends (section
 * 5) and the header of the frames the server sends.  ws_console.c runs it
 * over a connection; this file only turns bytes into events and back.
 *
 * The decoder takes bytes as they arrive, in pieces of any size, and never
 * buffers a data frame: its payload is unmasked and handed on as it comes,
 * so a client cannot make the daemon hold a large message.  Control frames
 * (at most 125 bytes by the RFC) are collected whole.  Everything the RFC
 * says a server MUST refuse is refused, with the close code to send: an
 * unmasked frame, reserved bits set (no extension is ever negotiated), an
 * unknown opcode, a fragmented or oversized control frame, a continuation
 * with no message to continue or a new message inside a fragmented one, a
 * length not in its minimal form or with the top bit set, text that is not
 * UTF-8 (1007), and a close frame with a bad code or reason.  After an error
 * or a close the decoder takes no more bytes.
 */
#ifndef NIMBUS_DAEMON_WS_H
#define NIMBUS_DAEMON_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

enum ws_opcode {
	WS_CONTINUATION = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xa,
};

/* Close codes (section 7.4.1) the daemon sends. */
enum {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_BAD_DATA = 1007,
};

#define WS_CONTROL_MAX 125
#define WS_ACCEPT_LEN 28            /* base64 of a SHA-1 */
#define WS_FRAME_HEADER_MAX 10      /* a server frame's header: no mask */

/* Sec-WebSocket-Accept for the client's Sec-WebSocket-Key, which must be the
 * base64 of 16 bytes (section 4.2.1 item 4); -EINVAL otherwise. */
int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1], struct err *e);

/* Whether the comma-separated Sec-WebSocket-Protocol header offers proto. */
bool ws_protocol_offered(const char *header, const char *proto);

/* The value after prefix of the first offered subprotocol that starts with
 * it ("bearer." gives a token a browser can send, as it cannot set an
 * Authorization header on a WebSocket); -ENOENT if none, -E2BIG if longer
 * than len - 1. */
int ws_protocol_value(const char *header, const char *prefix, char *out, size_t len);

/* An incremental UTF-8 check (RFC 3629 section 4): continuation bytes still
 * owed, and the bounds the next byte must fall in (which rules out overlong
 * forms, surrogates and code points past U+10FFFF). */
struct ws_utf8 {
	unsigned need;
	uint8_t lo, hi;
};

/* What the decoder reports, through the callbacks of ws_feed. */
struct ws_handler {
	/* A piece of a text or binary message's payload, unmasked. */
	void (*data)(void *ctx, const uint8_t *p, size_t n);
	/* A whole ping or pong (its payload), or a close: code 1005 when it had
	 * none (section 7.1.5); the decoder stops after a close. */
	void (*ping)(void *ctx, const uint8_t *p, size_t n);
	void (*close)(void *ctx, unsigned code);
	void *ctx;
};

struct ws_decoder {
	int state;
	uint8_t head[14];           /* the header so far */
	size_t head_len, head_need;
	uint64_t left;              /* payload bytes still to come of this frame */
	uint64_t pos;               /* payload bytes seen, for the mask's phase */
	uint8_t mask[4];
	uint8_t opcode;             /* of this frame */
	bool fin;
	bool in_message;            /* a fragmented message awaits continuations */
	bool text;                  /* ... and it is text */
	uint8_t ctl[WS_CONTROL_MAX];
	size_t ctl_len;
	struct ws_utf8 utf8;        /* of the text message so far */
	unsigned close_code;        /* what to close with after an error */
};

void ws_decoder_init(struct ws_decoder *d);

/* Feeds n bytes.  0 when all were taken (or the peer closed: handler.close
 * was called); -EPROTO on a protocol error, with e naming it and
 * d->close_code the code to close with.  Once it has failed or seen a
 * close, it refuses more with -EPROTO. */
int ws_feed(struct ws_decoder *d, const uint8_t *in, size_t n, const struct ws_handler *h,
	    struct err *e);

/* The header of an unfragmented, unmasked server frame into out; its length. */
size_t ws_frame_header(uint8_t out[WS_FRAME_HEADER_MAX], enum ws_opcode op, uint64_t len);

/* A whole close frame with code (and no reason) into out; its length. */
size_t ws_close_frame(uint8_t out[4], unsigned code);

#endif
