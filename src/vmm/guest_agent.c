/*
 * The host end of the guest agent channel (see guest_agent.h, protocol in
 * agent_proto.h and docs/guest-agent.md).
 *
 * Guest output arrives in pieces on the device's I/O thread (chardev write,
 * device lock held): it is gathered into one line buffer of AGENT_LINE_MAX
 * bytes; a longer line is discarded up to its newline and counted as bad,
 * as is a line that does not parse.  Nothing the guest sends can do more
 * than complete or fail a request it was asked (ids not waited for are
 * ignored), and output is kept only up to each request's out_max.
 *
 * Locking: `lock` guards the line buffer and the pending table; `send_lock`
 * serialises writers into the port.  The device calls us with its own lock
 * held, and sending calls into the device (chr->receive takes that lock),
 * so a sender never holds `lock` while sending: device lock -> lock, never
 * the other way.
 */
#include "vmm/guest_agent.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/clock.h"

/* Beyond a command's own timeout: how long the agent has to report it. */
#define EXEC_GRACE_MS 5000
#define SEND_TIMEOUT_MS 5000
/* An input=stream exec's input not yet acknowledged by the agent, at most:
 * encoded (up to 3x) it fits the agent's 64 KiB pipe to the exec's runner,
 * which therefore never has to drop any. */
#define STREAM_WINDOW 16384

struct pending {
	bool used, done;
	uint64_t id;
	int rc;                        /* 0, or -ECONNRESET / -EIO */
	unsigned protocol;             /* pong */
	struct guest_agent_result *res;   /* exec */
	size_t out_max;
	void (*on_output)(void *ctx, unsigned stream, const uint8_t *data, size_t len);
	bool (*can_output)(void *ctx);
	void (*on_started)(void *ctx, uint64_t id);
	void *ctx;
	bool stdin_stream;             /* exec with input=stream */
	size_t unacked;                /* its input bytes sent and not yet acknowledged */
	char code[AGENT_CODE_MAX];
	char message[512];
};

struct guest_agent {
	struct chardev chr;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_mutex_t send_lock;
	bool open, closed;
	bool stdin_stream;             /* the agent said it takes input=stream (ready/pong) */
	uint64_t next_id;
	unsigned long bad_lines;
	struct pending pend[GUEST_AGENT_MAX_PENDING];
	size_t line_len;
	bool skipping;                 /* inside an over-long line */
	char line[AGENT_LINE_MAX];
	struct agent_msg msg;          /* the parsed line */
};

static void fail_all(struct guest_agent *ga, int rc, const char *why)
{
	for (unsigned i = 0; i < GUEST_AGENT_MAX_PENDING; i++) {
		struct pending *p = &ga->pend[i];
		if (p->used && !p->done) {
			p->done = true;
			p->rc = rc;
			snprintf(p->message, sizeof p->message, "%s", why);
		}
	}
	pthread_cond_broadcast(&ga->cond);
}

static struct pending *find(struct guest_agent *ga, uint64_t id)
{
	for (unsigned i = 0; i < GUEST_AGENT_MAX_PENDING; i++)
		if (ga->pend[i].used && !ga->pend[i].done && ga->pend[i].id == id)
			return &ga->pend[i];
	return NULL;
}

static void keep(struct pending *p, unsigned stream, const uint8_t *data, size_t len)
{
	struct guest_agent_result *r = p->res;
	unsigned s = stream - 1;
	size_t room = p->out_max - r->len[s];
	if (len > room) {
		len = room;
		r->truncated[s] = true;
	}
	if (!len || !r->out[s])
		return;
	memcpy(r->out[s] + r->len[s], data, len);
	r->len[s] += len;
	r->out[s][r->len[s]] = 0;
}

/* One complete line from the guest; lock held. */
static void handle_line(struct guest_agent *ga, const char *line, size_t len)
{
	const char *why;
	struct agent_msg *m = &ga->msg;
	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	if (agent_msg_parse(line, len, m, &why) < 0) {
		ga->bad_lines++;
		return;
	}
	if (m->kind == AGENT_MSG_READY) {
		/* A restarted agent forgot what it was asked. */
		ga->stdin_stream = m->stdin_stream;
		fail_all(ga, -ECONNRESET, "the guest agent restarted");
		return;
	}
	if (m->kind == AGENT_MSG_PONG)
		ga->stdin_stream = m->stdin_stream;
	struct pending *p = find(ga, m->id);
	if (!p)
		return;
	switch (m->kind) {
	case AGENT_MSG_PONG:
		p->protocol = m->protocol;
		p->done = true;
		break;
	case AGENT_MSG_OK:
		p->done = true;
		break;
	case AGENT_MSG_OUT:
		if (p->on_output)
			p->on_output(p->ctx, m->stream, m->data, m->len);
		else if (p->res)
			keep(p, m->stream, m->data, m->len);
		break;
	case AGENT_MSG_EXIT:
		if (p->res) {
			p->res->how = m->how;
			p->res->value = m->value;
		}
		p->done = true;
		break;
	case AGENT_MSG_ACK:
		p->unacked -= m->len < p->unacked ? m->len : p->unacked;
		pthread_cond_broadcast(&ga->cond);
		break;
	case AGENT_MSG_ERROR:
		p->rc = -EIO;
		snprintf(p->code, sizeof p->code, "%s", m->code);
		snprintf(p->message, sizeof p->message, "%.*s", (int)(sizeof p->message - 1),
			 (const char *)m->data);
		p->done = true;
		break;
	default:
		break;
	}
	if (p->done)
		pthread_cond_broadcast(&ga->cond);
}

/* Guest output (device I/O thread, device lock held). */
static void from_guest(void *host, const uint8_t *buf, size_t len)
{
	struct guest_agent *ga = host;
	pthread_mutex_lock(&ga->lock);
	while (len) {
		const uint8_t *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;
		if (!ga->skipping) {
			if (n > sizeof ga->line - 1 - ga->line_len) {
				ga->skipping = true;   /* over-long: drop up to the newline */
				ga->bad_lines++;
				ga->line_len = 0;
			} else {
				memcpy(ga->line + ga->line_len, buf, n);
				ga->line_len += n;
			}
		}
		if (!nl)
			break;
		if (!ga->skipping)
			handle_line(ga, ga->line, ga->line_len);
		ga->skipping = false;
		ga->line_len = 0;
		buf += n + 1;
		len -= n + 1;
	}
	pthread_mutex_unlock(&ga->lock);
}

/* Whether every exec streaming its output can take more (device I/O
 * thread, device lock held): while one cannot, the port is not drained. */
static bool to_host_writable(void *host)
{
	struct guest_agent *ga = host;
	bool yes = true;
	pthread_mutex_lock(&ga->lock);
	for (unsigned i = 0; i < GUEST_AGENT_MAX_PENDING && yes; i++) {
		struct pending *p = &ga->pend[i];
		if (p->used && !p->done && p->can_output && !p->can_output(p->ctx))
			yes = false;
	}
	pthread_mutex_unlock(&ga->lock);
	return yes;
}

void guest_agent_output_ready(struct guest_agent *ga)
{
	/* Not under send_lock: a sender may hold it for seconds while the port's
	 * input is full, and our callers (the control thread) must not wait.
	 * The device outlives them: the control socket stops before the VM is
	 * destroyed. */
	void (*resume)(void *) = ga->chr.resume;
	if (resume)
		resume(ga->chr.dev);
}

void guest_agent_port_open(void *host, bool open)
{
	struct guest_agent *ga = host;
	pthread_mutex_lock(&ga->lock);
	ga->open = open;
	ga->line_len = 0;
	ga->skipping = false;
	if (!open)
		fail_all(ga, -ECONNRESET, "the guest agent closed its port (it ended or the "
			 "VM was reset)");
	pthread_mutex_unlock(&ga->lock);
}

int guest_agent_create(struct guest_agent **out, struct err *err)
{
	struct guest_agent *ga = calloc(1, sizeof *ga);
	*out = NULL;
	if (!ga)
		return err_set(err, -ENOMEM, "guest agent: out of memory");
	pthread_mutex_init(&ga->lock, NULL);
	pthread_mutex_init(&ga->send_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ga->cond, &ca);
	pthread_condattr_destroy(&ca);
	ga->chr.write = from_guest;
	ga->chr.writable = to_host_writable;
	ga->chr.host = ga;
	ga->next_id = 1;
	*out = ga;
	return 0;
}

void guest_agent_destroy(struct guest_agent *ga)
{
	if (!ga)
		return;
	pthread_cond_destroy(&ga->cond);
	pthread_mutex_destroy(&ga->lock);
	pthread_mutex_destroy(&ga->send_lock);
	free(ga);
}

struct chardev *guest_agent_chardev(struct guest_agent *ga)
{
	return &ga->chr;
}

void guest_agent_close(struct guest_agent *ga)
{
	pthread_mutex_lock(&ga->lock);
	ga->closed = true;
	fail_all(ga, -ECONNRESET, "the VM has stopped");
	pthread_mutex_unlock(&ga->lock);
}

bool guest_agent_connected(struct guest_agent *ga)
{
	pthread_mutex_lock(&ga->lock);
	bool yes = ga->open && !ga->closed;
	pthread_mutex_unlock(&ga->lock);
	return yes;
}

unsigned long guest_agent_bad_lines(struct guest_agent *ga)
{
	pthread_mutex_lock(&ga->lock);
	unsigned long n = ga->bad_lines;
	pthread_mutex_unlock(&ga->lock);
	return n;
}

static void sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000 };
	nanosleep(&ts, NULL);
}

/* Writes a whole line into the port, waiting up to timeout_ms for the guest
 * to post buffers. */
static int send_line(struct guest_agent *ga, const char *p, size_t n, int timeout_ms)
{
	int64_t deadline = vclock_host_ns() + (int64_t)timeout_ms * 1000000;
	int rc = 0;
	pthread_mutex_lock(&ga->send_lock);
	for (size_t off = 0; off < n;) {
		if (!ga->chr.receive) {
			rc = -ENOTCONN;
			break;
		}
		size_t k = ga->chr.receive(ga->chr.dev, (const uint8_t *)p + off, n - off);
		off += k;
		if (k)
			continue;
		if (vclock_host_ns() > deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		sleep_us(200);
	}
	pthread_mutex_unlock(&ga->send_lock);
	return rc;
}

/* Takes a pending slot for a new request; lock held. */
static struct pending *claim(struct guest_agent *ga, struct err *err, int *rc)
{
	if (ga->closed || !ga->open) {
		*rc = err_set(err, -ENOTCONN, "no guest agent is listening (the guest has no "
			      "nimbus-agent running, or it has not started yet)");
		return NULL;
	}
	for (unsigned i = 0; i < GUEST_AGENT_MAX_PENDING; i++) {
		struct pending *p = &ga->pend[i];
		if (!p->used) {
			*p = (struct pending){ .used = true, .id = ga->next_id++ };
			return p;
		}
	}
	*rc = err_set(err, -EAGAIN, "guest agent: %d requests already running",
		      GUEST_AGENT_MAX_PENDING);
	return NULL;
}

/* Sends the line b for p and waits until it is done or timeout_ms passes
 * (< 0: no limit).  Frees the slot.  lock not held. */
static int run(struct guest_agent *ga, struct pending *p, struct agent_buf *b, int timeout_ms,
	       const char *what, unsigned *protocol, struct err *err)
{
	int rc = agent_buf_end(b);
	if (rc == -E2BIG)
		rc = err_set(err, rc, "%s: the request is longer than a protocol line (%d bytes)",
			     what, AGENT_LINE_MAX);
	else if (rc)
		rc = err_set(err, rc, "%s: out of memory", what);
	else if ((rc = send_line(ga, b->p, b->len, timeout_ms >= 0 && timeout_ms < SEND_TIMEOUT_MS
							 ? timeout_ms : SEND_TIMEOUT_MS)) < 0)
		rc = err_set(err, rc, "%s: the guest agent does not take requests (%s)", what,
			     rc == -ETIMEDOUT ? "its port is full" : "its port is gone");
	agent_buf_free(b);
	/* Only now may input for it follow: the agent must see the request first. */
	if (rc == 0 && p->on_started)
		p->on_started(p->ctx, p->id);
	pthread_mutex_lock(&ga->lock);
	if (rc == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec +
			     (int64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000;
		ts.tv_sec = ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		while (!p->done) {
			if (timeout_ms < 0)
				pthread_cond_wait(&ga->cond, &ga->lock);
			else if (pthread_cond_timedwait(&ga->cond, &ga->lock, &ts) == ETIMEDOUT)
				break;
		}
		if (!p->done)
			rc = err_set(err, -ETIMEDOUT, "%s: the guest agent did not answer within %d ms",
				     what, timeout_ms);
		else if (p->rc == -EIO)
			rc = err_set(err, -EIO, "%s: %s: %s", what, p->code, p->message);
		else if (p->rc)
			rc = err_set(err, p->rc, "%s: %s", what, p->message);
		else if (protocol)
			*protocol = p->protocol;
	}
	/* A request given up on (a timeout) may be what held the port. */
	bool held = p->can_output != NULL;
	p->used = false;
	pthread_mutex_unlock(&ga->lock);
	if (held)
		guest_agent_output_ready(ga);
	return rc;
}

/* A request without arguments (`NAME ID`) and its answer. */
static int simple(struct guest_agent *ga, const char *name, int timeout_ms, unsigned *protocol,
		  struct err *err)
{
	int rc;
	pthread_mutex_lock(&ga->lock);
	struct pending *p = claim(ga, err, &rc);
	uint64_t id = p ? p->id : 0;
	pthread_mutex_unlock(&ga->lock);
	if (!p)
		return rc;
	struct agent_buf b = {0};
	agent_buf_fmt(&b, "%s %llu", name, (unsigned long long)id);
	return run(ga, p, &b, timeout_ms, name, protocol, err);
}

int guest_agent_ping(struct guest_agent *ga, int timeout_ms, unsigned *protocol,
		     struct err *err)
{
	return simple(ga, "ping", timeout_ms, protocol, err);
}

int guest_agent_poweroff(struct guest_agent *ga, bool reboot, int wait_ms, struct err *err)
{
	int rc = simple(ga, reboot ? "reboot" : "poweroff", wait_ms, NULL, err);
	/* The guest may go down before its `ok` makes it out: a closed port
	 * after a delivered request is what success looks like too. */
	if (rc == -ECONNRESET)
		rc = 0;
	return rc;
}

int guest_agent_exec(struct guest_agent *ga, const struct guest_agent_exec *req,
		     struct guest_agent_result *res, struct err *err)
{
	*res = (struct guest_agent_result){0};
	if (!req->argv || !req->argv[0])
		return err_set(err, -EINVAL, "exec: no command");
	if (req->tty && (!req->on_output || req->rows < 1 || req->rows > 1000 || req->cols < 1 ||
			 req->cols > 1000))
		return err_set(err, -EINVAL, "exec: a terminal needs its output streamed and a size "
			       "of 1 to 1000 rows and columns");
	if (req->stdin_stream && (req->tty || !req->on_started || req->stdin_len))
		return err_set(err, -EINVAL, "exec: streamed input is for a command without a "
			       "terminal, with on_started and no stdin_data");
	if (req->stdin_stream) {
		/* An agent that predates input=stream would ignore it and give the
		 * command no input at all: ask it first (a pong says). */
		pthread_mutex_lock(&ga->lock);
		bool known = ga->stdin_stream;
		pthread_mutex_unlock(&ga->lock);
		if (!known)
			guest_agent_ping(ga, 2000, NULL, NULL);
		pthread_mutex_lock(&ga->lock);
		known = ga->stdin_stream;
		pthread_mutex_unlock(&ga->lock);
		if (!known)
			return err_set(err, -ENOTSUP, "exec: the guest's nimbus-agent does not stream "
				       "input (an older one: rebuild the guest with guest/build)");
	}
	for (unsigned s = 0; s < 2; s++) {
		res->out[s] = malloc(req->out_max + 1);
		if (!res->out[s]) {
			guest_agent_result_free(res);
			return err_set(err, -ENOMEM, "exec: out of memory");
		}
		res->out[s][0] = 0;
	}
	struct agent_buf b = {0};
	int rc;
	pthread_mutex_lock(&ga->lock);
	struct pending *p = claim(ga, err, &rc);
	if (p) {
		p->res = res;
		p->out_max = req->out_max;
		p->on_output = req->on_output;
		p->can_output = req->on_output ? req->can_output : NULL;
		p->ctx = req->ctx;
		agent_buf_fmt(&b, "exec %llu timeout=%u", (unsigned long long)p->id,
			      req->timeout_ms);
		if (req->tty)
			agent_buf_fmt(&b, " tty=%ux%u", req->rows, req->cols);
		if (req->stdin_stream)
			agent_buf_str(&b, " input=stream");
		p->stdin_stream = req->stdin_stream;
	}
	if (p)
		p->on_started = req->on_started;
	pthread_mutex_unlock(&ga->lock);
	if (!p) {
		guest_agent_result_free(res);
		return rc;
	}
	for (char *const *a = req->argv; *a; a++) {
		agent_buf_str(&b, " arg=");
		agent_buf_enc(&b, *a, strlen(*a));
	}
	for (char *const *e = req->env; e && *e; e++) {
		agent_buf_str(&b, " env=");
		agent_buf_enc(&b, *e, strlen(*e));
	}
	if (req->cwd) {
		agent_buf_str(&b, " cwd=");
		agent_buf_enc(&b, req->cwd, strlen(req->cwd));
	}
	if (req->stdin_len) {
		agent_buf_str(&b, " stdin=");
		agent_buf_enc(&b, req->stdin_data, req->stdin_len);
	}
	int wait = req->timeout_ms ? (int)(req->timeout_ms > INT32_MAX - EXEC_GRACE_MS
						   ? INT32_MAX : req->timeout_ms + EXEC_GRACE_MS)
				   : -1;
	rc = run(ga, p, &b, wait, "exec", NULL, err);
	if (rc)
		guest_agent_result_free(res);
	return rc;
}

/* Sends a line for a running exec (no answer is awaited). */
static int to_exec(struct guest_agent *ga, uint64_t id, struct agent_buf *b, const char *what,
		   struct err *err)
{
	pthread_mutex_lock(&ga->lock);
	bool running = find(ga, id) != NULL;
	pthread_mutex_unlock(&ga->lock);
	int rc = agent_buf_end(b);
	if (!running)
		rc = err_set(err, -ESRCH, "%s: no exec %llu is running", what,
			     (unsigned long long)id);
	else if (rc == -E2BIG)
		rc = err_set(err, rc, "%s: more than a protocol line carries", what);
	else if (rc)
		rc = err_set(err, rc, "%s: out of memory", what);
	else if ((rc = send_line(ga, b->p, b->len, SEND_TIMEOUT_MS)) < 0)
		rc = err_set(err, rc, "%s: the guest agent does not take input (%s)", what,
			     rc == -ETIMEDOUT ? "its port is full" : "its port is gone");
	agent_buf_free(b);
	return rc;
}

/* Waits until n more bytes of input=stream exec id's input fit its window:
 * 1 when they do (counted as sent), 0 when it is not such an exec (a tty),
 * -ESRCH when it ended meanwhile. */
static int stream_room(struct guest_agent *ga, uint64_t id, size_t n)
{
	pthread_mutex_lock(&ga->lock);
	struct pending *p = find(ga, id);
	int rc = p && p->stdin_stream;
	while (rc == 1 && p->unacked + n > STREAM_WINDOW) {
		pthread_cond_wait(&ga->cond, &ga->lock);
		if (find(ga, id) != p)   /* it ended (its slot was freed or reused) */
			rc = -ESRCH;
	}
	if (rc == 1)
		p->unacked += n;
	pthread_mutex_unlock(&ga->lock);
	return rc;
}

int guest_agent_input(struct guest_agent *ga, uint64_t id, const void *data, size_t len,
		      bool eof, struct err *err)
{
	struct agent_buf b = {0};
	int rc = 0;
	/* A pipe's input goes in pieces the agent acknowledges, so that no
	 * more than a window of it is ever on its way. */
	const uint8_t *d = data;
	while (len) {
		size_t n = len < AGENT_CHUNK_MAX ? len : AGENT_CHUNK_MAX;
		int room = stream_room(ga, id, n);
		if (room == 0)
			break;   /* a terminal: all at once, below */
		if (room < 0)
			return err_set(err, -ESRCH, "exec input: exec %llu has ended",
				       (unsigned long long)id);
		agent_buf_fmt(&b, "input %llu data=", (unsigned long long)id);
		agent_buf_enc(&b, d, n);
		if ((rc = to_exec(ga, id, &b, "exec input", err)) < 0)
			return rc;
		d += n;
		len -= n;
	}
	data = d;
	if (len) {
		agent_buf_fmt(&b, "input %llu data=", (unsigned long long)id);
		agent_buf_enc(&b, data, len);
		rc = to_exec(ga, id, &b, "exec input", err);
	}
	if (rc == 0 && eof) {
		agent_buf_fmt(&b, "eof %llu", (unsigned long long)id);
		rc = to_exec(ga, id, &b, "exec input", err);
	}
	return rc;
}

int guest_agent_resize(struct guest_agent *ga, uint64_t id, unsigned rows, unsigned cols,
		       struct err *err)
{
	if (rows < 1 || rows > 1000 || cols < 1 || cols > 1000)
		return err_set(err, -EINVAL, "exec resize: %ux%u: rows and columns must be 1 to 1000",
			       rows, cols);
	struct agent_buf b = {0};
	agent_buf_fmt(&b, "resize %llu rows=%u cols=%u", (unsigned long long)id, rows, cols);
	return to_exec(ga, id, &b, "exec resize", err);
}

void guest_agent_result_free(struct guest_agent_result *res)
{
	for (unsigned s = 0; s < 2; s++) {
		free(res->out[s]);
		res->out[s] = NULL;
	}
}
