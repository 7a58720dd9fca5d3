/* See ws.h.  Section numbers are RFC 6455's. */
#include "daemon/ws.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

enum { HEAD, PAYLOAD, DONE };

/* Section 1.3: the GUID every server appends to the client's key. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static bool is_base64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1], struct err *e)
{
	/* 16 bytes are 22 base64 digits and "==". */
	bool ok = key && strlen(key) == 24 && key[22] == '=' && key[23] == '=';
	for (int i = 0; ok && i < 22; i++)
		ok = is_base64(key[i]);
	if (!ok)
		return err_set(e, -EINVAL, "Sec-WebSocket-Key: expected the base64 of 16 bytes "
			       "(RFC 6455 section 4.1)");
	char joined[24 + sizeof ws_guid];
	memcpy(joined, key, 24);
	memcpy(joined + 24, ws_guid, sizeof ws_guid);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (!EVP_Digest(joined, strlen(joined), md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return err_set(e, -EIO, "Sec-WebSocket-Accept: SHA-1 failed");
	EVP_EncodeBlock((unsigned char *)out, md, 20);   /* 28 digits and a NUL */
	return 0;
}

/* Calls fn on each comma-separated item of header, trimmed; stops when it
 * returns true, and returns whether one did. */
static bool each_item(const char *header, bool (*fn)(const char *item, size_t n, void *arg),
		      void *arg)
{
	const char *p = header;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		const char *s = p, *end = p + n;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end > s && fn(s, (size_t)(end - s), arg))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static bool same_item(const char *item, size_t n, void *arg)
{
	const char *want = arg;
	return strlen(want) == n && !memcmp(item, want, n);
}

bool ws_protocol_offered(const char *header, const char *proto)
{
	return each_item(header, same_item, (void *)proto);
}

struct prefixed {
	const char *prefix;
	const char *found;
	size_t len;
};

static bool has_prefix(const char *item, size_t n, void *arg)
{
	struct prefixed *p = arg;
	size_t k = strlen(p->prefix);
	if (n <= k || memcmp(item, p->prefix, k))
		return false;
	p->found = item + k;
	p->len = n - k;
	return true;
}

int ws_protocol_value(const char *header, const char *prefix, char *out, size_t len)
{
	struct prefixed p = { prefix, NULL, 0 };
	if (!header || !each_item(header, has_prefix, &p))
		return -ENOENT;
	if (p.len >= len)
		return -E2BIG;
	memcpy(out, p.found, p.len);
	out[p.len] = 0;
	return 0;
}

static void utf8_reset(struct ws_utf8 *u)
{
	u->need = 0;
	u->lo = 0x80;
	u->hi = 0xbf;
}

/* One byte more of UTF-8; false if it cannot continue a valid sequence. */
static bool utf8_step(struct ws_utf8 *u, uint8_t c)
{
	if (u->need) {
		if (c < u->lo || c > u->hi)
			return false;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xbf;
		return true;
	}
	if (c < 0x80)
		return true;
	u->lo = 0x80;
	u->hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		u->need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		u->need = 2;
		if (c == 0xe0)
			u->lo = 0xa0;   /* overlong below U+0800 */
		else if (c == 0xed)
			u->hi = 0x9f;   /* surrogates U+D800..DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		u->need = 3;
		if (c == 0xf0)
			u->lo = 0x90;   /* overlong below U+10000 */
		else if (c == 0xf4)
			u->hi = 0x8f;   /* past U+10FFFF */
	} else {
		return false;           /* a stray continuation, 0xc0/0xc1, 0xf5.. */
	}
	return true;
}

void ws_decoder_init(struct ws_decoder *d)
{
	memset(d, 0, sizeof *d);
	d->state = HEAD;
	d->head_need = 2;
	utf8_reset(&d->utf8);
}

static int fail(struct ws_decoder *d, unsigned code, struct err *e, const char *why)
{
	d->state = DONE;
	d->close_code = code;
	return err_set(e, -EPROTO, "websocket: %s", why);
}

/* Section 7.4: codes a peer may send (1004-1006 and 1015 are reserved for
 * reporting, never sent; 1012-1014 were registered with IANA later). */
static bool close_code_valid(unsigned c)
{
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

/* Checks the header's first two bytes; sets how long the header is. */
static int head_start(struct ws_decoder *d, struct err *e)
{
	uint8_t b0 = d->head[0], b1 = d->head[1];
	d->fin = b0 & 0x80;
	d->opcode = b0 & 0x0f;
	unsigned len7 = b1 & 0x7f;
	if (b0 & 0x70)
		return fail(d, WS_CLOSE_PROTOCOL, e, "reserved bits set (no extension was agreed)");
	if (!(b1 & 0x80))   /* section 5.1 */
		return fail(d, WS_CLOSE_PROTOCOL, e, "a client frame without a mask");
	switch (d->opcode) {
	case WS_CLOSE:
	case WS_PING:
	case WS_PONG:
		if (!d->fin)   /* section 5.5 */
			return fail(d, WS_CLOSE_PROTOCOL, e, "a fragmented control frame");
		if (len7 > WS_CONTROL_MAX)
			return fail(d, WS_CLOSE_PROTOCOL, e, "a control frame over 125 bytes");
		break;
	case WS_CONTINUATION:
		if (!d->in_message)
			return fail(d, WS_CLOSE_PROTOCOL, e, "a continuation frame with no message "
				    "to continue");
		break;
	case WS_TEXT:
	case WS_BINARY:
		if (d->in_message)
			return fail(d, WS_CLOSE_PROTOCOL, e, "a new message inside a fragmented one");
		d->text = d->opcode == WS_TEXT;
		utf8_reset(&d->utf8);
		break;
	default:
		return fail(d, WS_CLOSE_PROTOCOL, e, "a reserved opcode");
	}
	d->head_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
	return 0;
}

/* The header is whole: its length (section 5.2) and mask. */
static int head_done(struct ws_decoder *d, struct err *e)
{
	unsigned len7 = d->head[1] & 0x7f;
	uint64_t len = len7;
	size_t at = 2;
	if (len7 == 126) {
		len = (uint64_t)d->head[2] << 8 | d->head[3];
		at = 4;
		if (len < 126)
			return fail(d, WS_CLOSE_PROTOCOL, e, "a length not in its shortest form");
	} else if (len7 == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | d->head[2 + i];
		at = 10;
		if (len >> 63)
			return fail(d, WS_CLOSE_PROTOCOL, e, "a length with its top bit set");
		if (len <= 0xffff)
			return fail(d, WS_CLOSE_PROTOCOL, e, "a length not in its shortest form");
	}
	memcpy(d->mask, d->head + at, 4);
	d->left = len;
	d->pos = 0;
	d->ctl_len = 0;
	d->state = PAYLOAD;
	return 0;
}

/* A frame's payload has all come. */
static int frame_done(struct ws_decoder *d, const struct ws_handler *h, struct err *e)
{
	d->state = HEAD;
	d->head_len = 0;
	d->head_need = 2;
	switch (d->opcode) {
	case WS_PING:
		if (h->ping)
			h->ping(h->ctx, d->ctl, d->ctl_len);
		return 0;
	case WS_PONG:
		return 0;
	case WS_CLOSE: {
		unsigned code = 1005;   /* section 7.1.5: none given */
		if (d->ctl_len == 1)
			return fail(d, WS_CLOSE_PROTOCOL, e, "a close frame of one byte");
		if (d->ctl_len >= 2) {
			code = (unsigned)d->ctl[0] << 8 | d->ctl[1];
			if (!close_code_valid(code))
				return fail(d, WS_CLOSE_PROTOCOL, e, "a close code that may not be sent");
			struct ws_utf8 u;
			utf8_reset(&u);
			for (size_t i = 2; i < d->ctl_len; i++)
				if (!utf8_step(&u, d->ctl[i]))
					return fail(d, WS_CLOSE_BAD_DATA, e, "a close reason that is "
						    "not UTF-8");
			if (u.need)
				return fail(d, WS_CLOSE_BAD_DATA, e, "a close reason that is not UTF-8");
		}
		d->state = DONE;
		d->close_code = code == 1005 ? WS_CLOSE_NORMAL : code;
		if (h->close)
			h->close(h->ctx, code);
		return 0;
	}
	default:   /* data */
		if (!d->fin) {
			d->in_message = true;
			return 0;
		}
		d->in_message = false;
		if (d->text && d->utf8.need)
			return fail(d, WS_CLOSE_BAD_DATA, e, "a text message that is not UTF-8 (it "
				    "ends inside a character)");
		return 0;
	}
}

/* Unmasks up to n payload bytes of the current frame and hands them on;
 * how many it took. */
static size_t payload(struct ws_decoder *d, const uint8_t *in, size_t n,
		      const struct ws_handler *h, struct err *e, int *rc)
{
	size_t take = d->left < n ? (size_t)d->left : n;
	if (d->opcode >= WS_CLOSE) {
		for (size_t i = 0; i < take; i++)
			d->ctl[d->ctl_len++] = in[i] ^ d->mask[(d->pos + i) & 3];
		d->pos += take;
		d->left -= take;
		return take;
	}
	uint8_t buf[4096];
	size_t done = 0;
	while (done < take) {
		size_t k = take - done < sizeof buf ? take - done : sizeof buf;
		for (size_t i = 0; i < k; i++) {
			buf[i] = in[done + i] ^ d->mask[(d->pos + i) & 3];
			if (d->text && !utf8_step(&d->utf8, buf[i])) {
				/* what came before the bad byte was valid: it goes on,
				 * however the input was cut */
				if (h->data && i)
					h->data(h->ctx, buf, i);
				*rc = fail(d, WS_CLOSE_BAD_DATA, e, "a text message that is not UTF-8");
				return done + i;
			}
		}
		if (h->data)
			h->data(h->ctx, buf, k);
		d->pos += k;
		d->left -= k;
		done += k;
	}
	return take;
}

int ws_feed(struct ws_decoder *d, const uint8_t *in, size_t n, const struct ws_handler *h,
	    struct err *e)
{
	int rc = 0;
	for (;;) {
		if (d->state == DONE)
			return n ? err_set(e, -EPROTO, "websocket: bytes after the end") : 0;
		if (d->state == PAYLOAD && d->left == 0) {
			if ((rc = frame_done(d, h, e)) < 0)
				return rc;
			continue;
		}
		if (n == 0)
			return 0;
		if (d->state == HEAD) {
			size_t k = d->head_need - d->head_len;
			if (k > n)
				k = n;
			memcpy(d->head + d->head_len, in, k);
			d->head_len += k;
			in += k;
			n -= k;
			if (d->head_len < d->head_need)
				return 0;
			if (d->head_need == 2) {
				if ((rc = head_start(d, e)) < 0)
					return rc;
				continue;
			}
			if ((rc = head_done(d, e)) < 0)
				return rc;
			continue;
		}
		size_t k = payload(d, in, n, h, e, &rc);
		if (rc < 0)
			return rc;
		in += k;
		n -= k;
	}
}

size_t ws_frame_header(uint8_t out[WS_FRAME_HEADER_MAX], enum ws_opcode op, uint64_t len)
{
	out[0] = 0x80 | (uint8_t)op;
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

size_t ws_close_frame(uint8_t out[4], unsigned code)
{
	out[0] = 0x80 | WS_CLOSE;
	out[1] = 2;
	out[2] = (uint8_t)(code >> 8);
	out[3] = (uint8_t)code;
	return 4;
}
