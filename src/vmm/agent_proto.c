/*
 * The guest agent protocol's parsers and encoder (see agent_proto.h and
 * docs/guest-agent.md).  Both parsers walk the line once, token by token;
 * every length is checked against the destination before a byte is
 * written, numbers are decimal without sign or leading junk and bounded, and
 * the first problem ends the parse with a reason.  Built for the host (the
 * VMM, unit tests, the fuzz target) and for the guest agent alike: plain C17
 * and libc only.
 */
#include "vmm/agent_proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct toks {
	const char *p, *end;
};

/* The next token (separated by single or repeated spaces); false at the end. */
static bool next(struct toks *t, const char **tok, size_t *n)
{
	while (t->p < t->end && *t->p == ' ')
		t->p++;
	if (t->p == t->end)
		return false;
	const char *s = t->p;
	while (t->p < t->end && *t->p != ' ')
		t->p++;
	*tok = s;
	*n = (size_t)(t->p - s);
	return true;
}

static bool is(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(tok, word, n) == 0;
}

static bool num(const char *tok, size_t n, uint64_t max, uint64_t *out)
{
	if (n == 0 || n > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (tok[i] < '0' || tok[i] > '9')
			return false;
		unsigned d = (unsigned)(tok[i] - '0');
		if (d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long agent_decode(const char *tok, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (o == cap)
			return -1;
		unsigned char c = (unsigned char)tok[i];
		if (c == '%') {
			if (n - i < 3)
				return -1;
			int hi = hexval(tok[i + 1]), lo = hexval(tok[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (uint8_t)(hi << 4 | lo);
			i += 2;
		} else if (c > ' ' && c <= '~') {
			out[o++] = c;
		} else {
			return -1;   /* raw control or non-ASCII byte: not ours */
		}
	}
	return (long)o;
}

#define FAIL(msg) do { *why = (msg); return -EINVAL; } while (0)

int agent_msg_parse(const char *line, size_t len, struct agent_msg *m, const char **why)
{
	struct toks t = { line, line + len };
	const char *tok;
	size_t n;
	uint64_t v;
	m->id = 0;
	m->len = 0;
	if (len >= AGENT_LINE_MAX)
		FAIL("line too long");
	if (!next(&t, &tok, &n))
		FAIL("empty line");
	if (is(tok, n, "ready")) {
		m->kind = AGENT_MSG_READY;
		if (!next(&t, &tok, &n) || !num(tok, n, 0xffff, &v))
			FAIL("ready: no protocol number");
		m->protocol = (unsigned)v;
		m->stdin_stream = false;
		while (next(&t, &tok, &n))   /* what it can do; unknown ones: later versions' */
			m->stdin_stream |= is(tok, n, AGENT_CAP_STDIN_STREAM);
		return 0;
	}
	if (is(tok, n, "pong"))
		m->kind = AGENT_MSG_PONG;
	else if (is(tok, n, "ok"))
		m->kind = AGENT_MSG_OK;
	else if (is(tok, n, "out"))
		m->kind = AGENT_MSG_OUT;
	else if (is(tok, n, "exit"))
		m->kind = AGENT_MSG_EXIT;
	else if (is(tok, n, "error"))
		m->kind = AGENT_MSG_ERROR;
	else if (is(tok, n, "ack"))
		m->kind = AGENT_MSG_ACK;
	else
		FAIL("unknown message");
	if (!next(&t, &tok, &n) || !num(tok, n, UINT64_MAX, &m->id))
		FAIL("no request id");
	switch (m->kind) {
	case AGENT_MSG_PONG:
		if (!next(&t, &tok, &n) || !num(tok, n, 0xffff, &v))
			FAIL("pong: no protocol number");
		m->protocol = (unsigned)v;
		m->stdin_stream = false;
		while (next(&t, &tok, &n))
			m->stdin_stream |= is(tok, n, AGENT_CAP_STDIN_STREAM);
		return 0;
	case AGENT_MSG_ACK:
		if (!next(&t, &tok, &n) || !num(tok, n, AGENT_LINE_MAX, &v))
			FAIL("ack: no byte count");
		m->len = (size_t)v;
		return 0;
	case AGENT_MSG_OK:
		return 0;
	case AGENT_MSG_OUT: {
		if (!next(&t, &tok, &n) || !num(tok, n, 2, &v) || v == 0)
			FAIL("out: stream is not 1 or 2");
		m->stream = (unsigned)v;
		if (!next(&t, &tok, &n))
			FAIL("out: no data");
		long l = agent_decode(tok, n, m->data, AGENT_CHUNK_MAX);
		if (l < 0)
			FAIL("out: data badly encoded or over 4096 bytes");
		m->len = (size_t)l;
		return 0;
	}
	case AGENT_MSG_EXIT:
		if (!next(&t, &tok, &n))
			FAIL("exit: no kind");
		if (is(tok, n, "code"))
			m->how = AGENT_EXIT_CODE;
		else if (is(tok, n, "signal"))
			m->how = AGENT_EXIT_SIGNAL;
		else if (is(tok, n, "timeout"))
			m->how = AGENT_EXIT_TIMEOUT;
		else
			FAIL("exit: kind is not code, signal or timeout");
		if (!next(&t, &tok, &n) || !num(tok, n, m->how == AGENT_EXIT_CODE ? 255 : 64, &v))
			FAIL("exit: value out of range");
		m->value = (int)v;
		return 0;
	case AGENT_MSG_ERROR: {
		if (!next(&t, &tok, &n) || n >= AGENT_CODE_MAX)
			FAIL("error: no code");
		for (size_t i = 0; i < n; i++)
			if (!((tok[i] >= 'a' && tok[i] <= 'z') || tok[i] == '-'))
				FAIL("error: code is not a-z and '-'");
		memcpy(m->code, tok, n);
		m->code[n] = 0;
		long l = 0;
		if (next(&t, &tok, &n) && (l = agent_decode(tok, n, m->data, 512)) < 0)
			FAIL("error: message badly encoded or over 512 bytes");
		for (long i = 0; i < l; i++)   /* one printable line for people */
			if (m->data[i] < ' ' || m->data[i] == 0x7f)
				m->data[i] = '?';
		m->data[l] = 0;
		m->len = (size_t)l;
		return 0;
	}
	default:
		FAIL("unknown message");
	}
}

/* Decodes tok into the arena as a NUL-terminated string. */
static char *arena_str(struct agent_req *r, size_t *used, const char *tok, size_t n,
		       size_t *len)
{
	long l = agent_decode(tok, n, (uint8_t *)r->arena + *used, sizeof r->arena - *used);
	if (l < 0 || (size_t)l + 1 > sizeof r->arena - *used)
		return NULL;
	char *s = r->arena + *used;
	s[l] = 0;
	*used += (size_t)l + 1;
	if (len)
		*len = (size_t)l;
	return s;
}

int agent_req_parse(const char *line, size_t len, struct agent_req *r, const char **why)
{
	struct toks t = { line, line + len };
	const char *tok;
	size_t n, used = 0;
	uint64_t v;
	r->argc = r->envc = 0;
	r->cwd = NULL;
	r->stdin_data = NULL;
	r->stdin_len = 0;
	r->timeout_ms = 0;
	r->tty = false;
	r->stdin_stream = false;
	r->rows = r->cols = 0;
	r->argv[0] = r->env[0] = NULL;
	if (len >= AGENT_LINE_MAX)
		FAIL("line too long");
	if (!next(&t, &tok, &n))
		FAIL("empty line");
	if (is(tok, n, "ping"))
		r->kind = AGENT_REQ_PING;
	else if (is(tok, n, "poweroff"))
		r->kind = AGENT_REQ_POWEROFF;
	else if (is(tok, n, "reboot"))
		r->kind = AGENT_REQ_REBOOT;
	else if (is(tok, n, "exec"))
		r->kind = AGENT_REQ_EXEC;
	else if (is(tok, n, "input"))
		r->kind = AGENT_REQ_INPUT;
	else if (is(tok, n, "eof"))
		r->kind = AGENT_REQ_EOF;
	else if (is(tok, n, "resize"))
		r->kind = AGENT_REQ_RESIZE;
	else
		FAIL("unknown request");
	if (!next(&t, &tok, &n) || !num(tok, n, UINT64_MAX, &r->id))
		FAIL("no request id");
	while (next(&t, &tok, &n)) {
		const char *eq = memchr(tok, '=', n);
		if (!eq)
			FAIL("a token is not key=value");
		size_t kl = (size_t)(eq - tok), vl = n - kl - 1;
		const char *val = eq + 1;
		if (r->kind == AGENT_REQ_INPUT && is(tok, kl, "data")) {
			char *s = arena_str(r, &used, val, vl, &r->stdin_len);
			if (!s)
				FAIL("data badly encoded or too long");
			r->stdin_data = (uint8_t *)s;
			continue;
		}
		if (r->kind == AGENT_REQ_RESIZE && (is(tok, kl, "rows") || is(tok, kl, "cols"))) {
			if (!num(val, vl, 1000, &v) || v == 0)
				FAIL("rows/cols: not a number from 1 to 1000");
			*(tok[0] == 'r' ? &r->rows : &r->cols) = (uint16_t)v;
			continue;
		}
		if (r->kind != AGENT_REQ_EXEC)
			continue;
		if (is(tok, kl, "timeout")) {
			if (!num(val, vl, UINT32_MAX, &v))
				FAIL("timeout: not a number of ms");
			r->timeout_ms = (uint32_t)v;
		} else if (is(tok, kl, "arg") || is(tok, kl, "env")) {
			bool arg = tok[0] == 'a';
			if (r->argc + r->envc == AGENT_ARGS_MAX)
				FAIL("too many arg= and env=");
			size_t sl;
			char *s = arena_str(r, &used, val, vl, &sl);
			if (!s)
				FAIL("arg/env badly encoded or too long");
			if (strlen(s) != sl)
				FAIL("arg/env holds a NUL byte");
			if (arg)
				r->argv[r->argc++] = s;
			else if (!strchr(s, '='))
				FAIL("env is not NAME=VALUE");
			else
				r->env[r->envc++] = s;
		} else if (is(tok, kl, "tty")) {
			const char *x = memchr(val, 'x', vl);
			uint64_t rows, cols;
			if (!x || !num(val, (size_t)(x - val), 1000, &rows) ||
			    !num(x + 1, vl - (size_t)(x - val) - 1, 1000, &cols) || !rows || !cols)
				FAIL("tty: not ROWSxCOLS from 1 to 1000");
			r->tty = true;
			r->rows = (uint16_t)rows;
			r->cols = (uint16_t)cols;
		} else if (is(tok, kl, "cwd")) {
			size_t sl;
			if (!(r->cwd = arena_str(r, &used, val, vl, &sl)) || strlen(r->cwd) != sl)
				FAIL("cwd badly encoded");
		} else if (is(tok, kl, "input")) {
			if (!is(val, vl, "stream"))
				FAIL("input: not stream");
			r->stdin_stream = true;
		} else if (is(tok, kl, "stdin")) {
			char *s = arena_str(r, &used, val, vl, &r->stdin_len);
			if (!s)
				FAIL("stdin badly encoded or too long");
			r->stdin_data = (uint8_t *)s;
		}
		/* other keys: from later versions, ignored */
	}
	r->argv[r->argc] = NULL;
	r->env[r->envc] = NULL;
	if (r->kind == AGENT_REQ_EXEC && r->argc == 0)
		FAIL("exec without arg=");
	if (r->kind == AGENT_REQ_INPUT && !r->stdin_data)
		FAIL("input without data=");
	if (r->kind == AGENT_REQ_RESIZE && (!r->rows || !r->cols))
		FAIL("resize without rows= and cols=");
	return 0;
}

/* ---- encoding ------------------------------------------------------------ */

static bool reserve(struct agent_buf *b, size_t more)
{
	if (b->too_long || b->oom)
		return false;
	if (more > AGENT_LINE_MAX || b->len + more >= AGENT_LINE_MAX) {
		b->too_long = true;
		return false;
	}
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void agent_buf_str(struct agent_buf *b, const char *s)
{
	size_t n = strlen(s);
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

void agent_buf_fmt(struct agent_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->too_long = true;
		return;
	}
	agent_buf_str(b, tmp);
}

void agent_buf_enc(struct agent_buf *b, const void *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const uint8_t *s = p;
	if (!reserve(b, n < AGENT_LINE_MAX / 3 ? 3 * n : AGENT_LINE_MAX))
		return;
	char *o = b->p + b->len;
	for (size_t i = 0; i < n; i++) {
		if (s[i] > ' ' && s[i] <= '~' && s[i] != '%') {
			*o++ = (char)s[i];
		} else {
			*o++ = '%';
			*o++ = hex[s[i] >> 4];
			*o++ = hex[s[i] & 15];
		}
	}
	*o = 0;
	b->len = (size_t)(o - b->p);
}

int agent_buf_end(struct agent_buf *b)
{
	agent_buf_str(b, "\n");
	return b->oom ? -ENOMEM : b->too_long ? -E2BIG : 0;
}

void agent_buf_free(struct agent_buf *b)
{
	free(b->p);
	*b = (struct agent_buf){0};
}
