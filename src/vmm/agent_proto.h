/*
 * The guest agent protocol, version 1 (docs/guest-agent.md is the
 * reference): one message per line each way between the VMM and the agent
 * in the guest, over the org.nimbus.agent port.  A line is space-separated
 * tokens, the first the message's name; values are percent-encoded (any
 * byte outside '!'..'~', and '%', as %XX), so a line is plain ASCII and any
 * bytes can be carried.  Requests (host to guest) take `key=value` tokens
 * after the id, repeatable for lists; unknown keys are ignored.
 *
 *   -> exec 7 timeout=5000 arg=uname arg=-a env=LANG%3DC cwd=/ stdin=
 *   <- out 7 1 Linux%20nimbus%206.1.0%0A
 *   <- exit 7 code 0
 *
 * This file is shared by the VMM (which parses what the guest sends: hostile
 * input, bounded by AGENT_LINE_MAX and checked token by token) and the agent
 * itself (guest/agent/, cross-compiled with it), which parses requests.  No
 * allocation in the parsers: decoded bytes go into the caller's buffers.
 */
#ifndef NIMBUS_VMM_AGENT_PROTO_H
#define NIMBUS_VMM_AGENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_PROTOCOL 1
#define AGENT_PORT_NAME "org.nimbus.agent"
#define AGENT_LINE_MAX 65536          /* bytes of a line, newline included */
#define AGENT_CHUNK_MAX 4096          /* raw bytes of output in one `out` */
#define AGENT_ARGS_MAX 256            /* arg= plus env= tokens of one exec */
#define AGENT_CODE_MAX 32
/* What an agent that streams a pipe's input (input=stream) says after its
 * protocol number in `ready` and `pong`. */
#define AGENT_CAP_STDIN_STREAM "stdin-stream"

/* ---- guest to host ------------------------------------------------------ */

enum agent_msg_kind {
	AGENT_MSG_READY,              /* ready PROTOCOL: the agent (re)started */
	AGENT_MSG_PONG,               /* pong ID PROTOCOL */
	AGENT_MSG_OK,                 /* ok ID: poweroff/reboot under way */
	AGENT_MSG_OUT,                /* out ID STREAM DATA: 1 stdout, 2 stderr */
	AGENT_MSG_EXIT,               /* exit ID code|signal|timeout N */
	AGENT_MSG_ERROR,              /* error ID CODE MESSAGE */
	AGENT_MSG_ACK,                /* ack ID N: N bytes of input=stream input taken */
};

enum agent_exit_how { AGENT_EXIT_CODE, AGENT_EXIT_SIGNAL, AGENT_EXIT_TIMEOUT };

struct agent_msg {
	enum agent_msg_kind kind;
	uint64_t id;
	unsigned protocol;            /* READY, PONG */
	bool stdin_stream;            /* READY, PONG: the agent named `stdin-stream` (input=stream) */
	unsigned stream;              /* OUT */
	enum agent_exit_how how;      /* EXIT */
	int value;                    /* EXIT: exit code 0..255, signal 1..64, timeout: signal */
	char code[AGENT_CODE_MAX];    /* ERROR: a-z and '-' only */
	size_t len;                   /* OUT data / ERROR message bytes in data */
	uint8_t data[AGENT_LINE_MAX]; /* OUT: raw bytes; ERROR: the message, NUL-terminated */
};

/* Parses one line (no newline).  0, or -EINVAL with why (a static string)
 * naming the first problem. */
int agent_msg_parse(const char *line, size_t len, struct agent_msg *m, const char **why);

/* ---- host to guest ------------------------------------------------------ */

enum agent_req_kind {
	AGENT_REQ_PING, AGENT_REQ_POWEROFF, AGENT_REQ_REBOOT, AGENT_REQ_EXEC,
	AGENT_REQ_INPUT,              /* input ID data=BYTES: to a tty or input=stream exec */
	AGENT_REQ_EOF,                /* eof ID: end of its input (a tty's ^D; a pipe closed) */
	AGENT_REQ_RESIZE,             /* resize ID rows=R cols=C: a tty exec's window */
};

struct agent_req {
	enum agent_req_kind kind;
	uint64_t id;
	uint32_t timeout_ms;          /* EXEC: 0 = none */
	bool tty;                     /* EXEC: on a terminal (tty=RxC), input by INPUT */
	bool stdin_stream;            /* EXEC: input=stream: stdin a pipe fed by INPUT, acked */
	uint16_t rows, cols;          /* EXEC with tty, RESIZE: 1..1000 */
	unsigned argc, envc;
	char *argv[AGENT_ARGS_MAX + 1];   /* NULL-terminated, into arena */
	char *env[AGENT_ARGS_MAX + 1];
	char *cwd;                    /* NULL: the agent's */
	uint8_t *stdin_data;          /* EXEC: stdin=; INPUT: data= */
	size_t stdin_len;
	char arena[AGENT_LINE_MAX];   /* decoded strings, NUL-terminated */
};

/* Parses a request line (what the agent does).  0 or -EINVAL with why. */
int agent_req_parse(const char *line, size_t len, struct agent_req *r, const char **why);

/* ---- encoding ------------------------------------------------------------ */

/* A growing line (zero-initialise); once a piece does not fit, the rest is
 * ignored and agent_buf_end says why. */
struct agent_buf {
	char *p;
	size_t len, cap;
	bool too_long, oom;
};

void agent_buf_str(struct agent_buf *b, const char *s);   /* as is (a name, a number) */
void agent_buf_fmt(struct agent_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void agent_buf_enc(struct agent_buf *b, const void *p, size_t n);  /* percent-encoded */
void agent_buf_free(struct agent_buf *b);
/* Ends the line: 0, or -E2BIG (longer than AGENT_LINE_MAX) / -ENOMEM. */
int agent_buf_end(struct agent_buf *b);

/* Decodes a percent-encoded token into out (cap bytes); the length, or -1
 * if an escape is malformed or it does not fit. */
long agent_decode(const char *tok, size_t n, uint8_t *out, size_t cap);

#endif
