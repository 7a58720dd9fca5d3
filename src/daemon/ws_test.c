/* Unit tests for the WebSocket framing (ws.c), against RFC 6455's examples
 * and every rule a server must enforce on what a client sends. */
#include "daemon/ws.h"
#include "lib/testing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct seen {
	uint8_t data[70000];
	size_t len;
	uint8_t ping[WS_CONTROL_MAX];
	size_t ping_len;
	int pings;
	unsigned close;
};

static void on_data(void *ctx, const uint8_t *p, size_t n)
{
	struct seen *s = ctx;
	if (s->len + n <= sizeof s->data)
		memcpy(s->data + s->len, p, n);
	s->len += n;
}

static void on_ping(void *ctx, const uint8_t *p, size_t n)
{
	struct seen *s = ctx;
	memcpy(s->ping, p, n);
	s->ping_len = n;
	s->pings++;
}

static void on_close(void *ctx, unsigned code)
{
	((struct seen *)ctx)->close = code;
}

/* A masked client frame: b0 (FIN, RSV, opcode) and payload; its length. */
static size_t frame(uint8_t *out, uint8_t b0, const void *payload, size_t n)
{
	static const uint8_t mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	size_t at = 0;
	out[at++] = b0;
	if (n < 126) {
		out[at++] = 0x80 | (uint8_t)n;
	} else if (n <= 0xffff) {
		out[at++] = 0x80 | 126;
		out[at++] = (uint8_t)(n >> 8);
		out[at++] = (uint8_t)n;
	} else {
		out[at++] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			out[at++] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
	}
	memcpy(out + at, mask, 4);
	at += 4;
	for (size_t i = 0; i < n; i++)
		out[at + i] = ((const uint8_t *)payload)[i] ^ mask[i & 3];
	return at + n;
}

/* Feeds bytes whole; the return of ws_feed. */
static int feed(struct ws_decoder *d, struct seen *s, const uint8_t *in, size_t n)
{
	struct ws_handler h = { on_data, on_ping, on_close, s };
	struct err e = { 0 };
	int rc = ws_feed(d, in, n, &h, &e);
	if (rc < 0 && !e.msg[0])
		abort();   /* every refusal names its reason */
	return rc;
}

TEST(ws_accept_key_matches_the_rfc6455_example)
{
	char out[WS_ACCEPT_LEN + 1];
	EXPECT_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out, NULL), 0);
	EXPECT(!strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
}

TEST(ws_accept_key_refuses_a_key_that_is_not_16_bytes_of_base64)
{
	char out[WS_ACCEPT_LEN + 1];
	struct err e = { 0 };
	EXPECT_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out, &e), -EINVAL);
	EXPECT(strstr(e.msg, "Sec-WebSocket-Key"));
	EXPECT_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25j*Q==", out, NULL), -EINVAL);
	EXPECT_EQ(ws_accept_key(NULL, out, NULL), -EINVAL);
}

TEST(ws_protocol_header_items_are_found_trimmed)
{
	const char *h = "nimbus-console ,  bearer.nmb_abc-DEF_1,other";
	EXPECT(ws_protocol_offered(h, "nimbus-console"));
	EXPECT(ws_protocol_offered(h, "other"));
	EXPECT(!ws_protocol_offered(h, "nimbus"));
	char tok[64];
	EXPECT_EQ(ws_protocol_value(h, "bearer.", tok, sizeof tok), 0);
	EXPECT(!strcmp(tok, "nmb_abc-DEF_1"));
	EXPECT_EQ(ws_protocol_value(h, "bearer.", tok, 4), -E2BIG);
	EXPECT_EQ(ws_protocol_value("nimbus-console", "bearer.", tok, sizeof tok), -ENOENT);
	EXPECT_EQ(ws_protocol_value("bearer.", "bearer.", tok, sizeof tok), -ENOENT);
}

TEST(ws_decoder_unmasks_the_rfc6455_hello_example)
{
	/* Section 5.7: a masked "Hello". */
	static const uint8_t in[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	struct ws_decoder d;
	struct seen *s = calloc(1, sizeof *s);
	ws_decoder_init(&d);
	EXPECT_EQ(feed(&d, s, in, sizeof in), 0);
	EXPECT_EQ(s->len, 5);
	EXPECT(!memcmp(s->data, "Hello", 5));
	free(s);
}

TEST(ws_decoder_takes_frames_split_at_every_byte)
{
	uint8_t buf[512];
	size_t n = frame(buf, 0x82, "abc", 3);
	n += frame(buf + n, 0x89, "pp", 2);             /* a ping */
	n += frame(buf + n, 0x01, "h\xc3", 2);           /* text, not final, mid-character */
	n += frame(buf + n, 0x80, "\xa9!", 2);           /* its continuation */
	struct ws_decoder d;
	struct seen *s = calloc(1, sizeof *s);
	ws_decoder_init(&d);
	for (size_t i = 0; i < n; i++)
		EXPECT_EQ(feed(&d, s, buf + i, 1), 0);
	EXPECT_EQ(s->len, 7);
	EXPECT(!memcmp(s->data, "abch\xc3\xa9!", 7));
	EXPECT_EQ(s->pings, 1);
	EXPECT_EQ(s->ping_len, 2);
	EXPECT(!memcmp(s->ping, "pp", 2));
	free(s);
}

TEST(ws_decoder_streams_a_64_bit_length_frame)
{
	size_t n = 65536 + 3;
	uint8_t *payload = malloc(n), *buf = malloc(n + 14);
	for (size_t i = 0; i < n; i++)
		payload[i] = (uint8_t)(i * 7);
	size_t len = frame(buf, 0x82, payload, n);
	EXPECT_EQ(buf[1] & 0x7f, 127);
	struct ws_decoder d;
	struct seen *s = calloc(1, sizeof *s);
	ws_decoder_init(&d);
	EXPECT_EQ(feed(&d, s, buf, 1000), 0);
	EXPECT_EQ(feed(&d, s, buf + 1000, len - 1000), 0);
	EXPECT_EQ(s->len, n);
	EXPECT(!memcmp(s->data, payload, n));
	free(s);
	free(payload);
	free(buf);
}

/* Whether feeding in fails with -EPROTO and close code code. */
static bool refused(const uint8_t *in, size_t n, unsigned code)
{
	struct ws_decoder d;
	struct seen *s = calloc(1, sizeof *s);
	ws_decoder_init(&d);
	int rc = feed(&d, s, in, n);
	bool ok = rc == -EPROTO && d.close_code == code;
	/* and it takes nothing more */
	ok = ok && feed(&d, s, (const uint8_t *)"\x82\x80xxxx", 6) == -EPROTO;
	free(s);
	return ok;
}

TEST(ws_decoder_refuses_an_unmasked_client_frame)
{
	static const uint8_t in[] = { 0x81, 0x02, 'h', 'i' };
	EXPECT(refused(in, sizeof in, WS_CLOSE_PROTOCOL));
}

TEST(ws_decoder_refuses_reserved_bits_and_opcodes)
{
	uint8_t buf[64];
	EXPECT(refused(buf, frame(buf, 0xc2, "x", 1), WS_CLOSE_PROTOCOL));   /* RSV1 */
	EXPECT(refused(buf, frame(buf, 0x92, "x", 1), WS_CLOSE_PROTOCOL));   /* RSV3 */
	EXPECT(refused(buf, frame(buf, 0x83, "x", 1), WS_CLOSE_PROTOCOL));   /* opcode 3 */
	EXPECT(refused(buf, frame(buf, 0x8b, "", 0), WS_CLOSE_PROTOCOL));    /* opcode 0xb */
}

TEST(ws_decoder_refuses_fragmented_or_oversized_control_frames)
{
	uint8_t buf[256], big[126] = { 0 };
	EXPECT(refused(buf, frame(buf, 0x09, "p", 1), WS_CLOSE_PROTOCOL));   /* ping, no FIN */
	EXPECT(refused(buf, frame(buf, 0x89, big, sizeof big), WS_CLOSE_PROTOCOL));
}

TEST(ws_decoder_refuses_continuations_out_of_order)
{
	uint8_t buf[64];
	EXPECT(refused(buf, frame(buf, 0x80, "x", 1), WS_CLOSE_PROTOCOL));   /* nothing to continue */
	size_t n = frame(buf, 0x02, "a", 1);
	n += frame(buf + n, 0x82, "b", 1);                                  /* new message inside */
	EXPECT(refused(buf, n, WS_CLOSE_PROTOCOL));
}

TEST(ws_decoder_refuses_lengths_not_in_shortest_form_or_with_the_top_bit)
{
	static const uint8_t short16[] = { 0x82, 0xfe, 0x00, 0x7d, 1, 2, 3, 4 };
	static const uint8_t short64[] = { 0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4 };
	static const uint8_t top[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 };
	EXPECT(refused(short16, sizeof short16, WS_CLOSE_PROTOCOL));
	EXPECT(refused(short64, sizeof short64, WS_CLOSE_PROTOCOL));
	EXPECT(refused(top, sizeof top, WS_CLOSE_PROTOCOL));
}

TEST(ws_decoder_refuses_text_that_is_not_utf8_with_1007)
{
	uint8_t buf[64];
	EXPECT(refused(buf, frame(buf, 0x81, "\xc0\xaf", 2), WS_CLOSE_BAD_DATA));     /* overlong */
	EXPECT(refused(buf, frame(buf, 0x81, "\xed\xa0\x80", 3), WS_CLOSE_BAD_DATA)); /* surrogate */
	EXPECT(refused(buf, frame(buf, 0x81, "\xf4\x90\x80\x80", 4), WS_CLOSE_BAD_DATA));
	EXPECT(refused(buf, frame(buf, 0x81, "ok\xe2\x82", 4), WS_CLOSE_BAD_DATA));   /* cut short */
	/* binary may hold anything */
	struct ws_decoder d;
	struct seen *s = calloc(1, sizeof *s);
	ws_decoder_init(&d);
	EXPECT_EQ(feed(&d, s, buf, frame(buf, 0x82, "\xc0\xaf", 2)), 0);
	free(s);
}

TEST(ws_decoder_reports_a_close_and_takes_nothing_after_it)
{
	uint8_t buf[64];
	struct ws_decoder d;
	struct seen *s = calloc(1, sizeof *s);
	ws_decoder_init(&d);
	size_t n = frame(buf, 0x88, "\x03\xe9" "bye", 5);   /* 1001 */
	EXPECT_EQ(feed(&d, s, buf, n), 0);
	EXPECT_EQ(s->close, 1001);
	EXPECT_EQ(feed(&d, s, buf, n), -EPROTO);
	ws_decoder_init(&d);
	EXPECT_EQ(feed(&d, s, buf, frame(buf, 0x88, "", 0)), 0);
	EXPECT_EQ(s->close, 1005);   /* none given */
	free(s);
}

TEST(ws_decoder_refuses_bad_close_frames)
{
	uint8_t buf[64];
	EXPECT(refused(buf, frame(buf, 0x88, "\x03", 1), WS_CLOSE_PROTOCOL));
	EXPECT(refused(buf, frame(buf, 0x88, "\x03\xed", 2), WS_CLOSE_PROTOCOL));   /* 1005 */
	EXPECT(refused(buf, frame(buf, 0x88, "\x03\xe7", 2), WS_CLOSE_PROTOCOL));   /* 999 */
	EXPECT(refused(buf, frame(buf, 0x88, "\x13\x88", 2), WS_CLOSE_PROTOCOL));   /* 5000 */
	EXPECT(refused(buf, frame(buf, 0x88, "\x03\xe8\xff", 3), WS_CLOSE_BAD_DATA));
}

TEST(ws_frame_header_uses_the_shortest_length_form)
{
	uint8_t h[WS_FRAME_HEADER_MAX];
	EXPECT_EQ(ws_frame_header(h, WS_BINARY, 125), 2);
	EXPECT_EQ(h[0], 0x82);
	EXPECT_EQ(h[1], 125);
	EXPECT_EQ(ws_frame_header(h, WS_TEXT, 126), 4);
	EXPECT_EQ(h[1], 126);
	EXPECT_EQ(h[2] << 8 | h[3], 126);
	EXPECT_EQ(ws_frame_header(h, WS_BINARY, 0x10000), 10);
	EXPECT_EQ(h[1], 127);
	EXPECT_EQ(h[7], 1);
	EXPECT_EQ(h[8] | h[9], 0);
	uint8_t c[4];
	EXPECT_EQ(ws_close_frame(c, 1002), 4);
	EXPECT_EQ(c[0], 0x88);
	EXPECT_EQ(c[2] << 8 | c[3], 1002);
}
