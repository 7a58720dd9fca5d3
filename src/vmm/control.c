/*
 * The control socket (see control.h and docs/control.md).
 *
 * One thread polls the listening socket, an eventfd (wake-ups: a worker
 * finished, an event is queued, stop) and every connection, all
 * non-blocking.  A connection has a bounded input buffer (one request line,
 * VM_CONTROL_MAX_LINE) and a bounded output buffer (OUT_MAX): a line that
 * does not fit in the input is answered "too-long" and the connection
 * closed.  A streamed exec's output is flow-controlled instead: once
 * OUT_HIGH bytes wait for its client, the guest agent's port is no longer
 * drained (the command's writes block in the guest) until the client has
 * read down to OUT_LOW; the room above OUT_HIGH takes what the port
 * delivers past that point (one piece at most).  Only a client that makes no
 * progress at all for STALL_MS is closed, so that it cannot hold the port,
 * which every exec of the VM shares, for good.  Events cannot wait: a
 * client that lets OUT_MAX of them queue up is closed.
 * Requests on one connection run one at a time, in order (the next line
 * waits in the input buffer), each on a short-lived worker thread, because
 * some VM calls wait (vm_pause up to 5 s, balloon-stats up to 2 s).  When
 * every slot is taken, the connection idle longest (no request running, not
 * streaming events) is closed to make room; if none is idle the newcomer
 * gets a "too-many-clients" error line.
 *
 * Locking: `lock` guards the connection table and output buffers.  Workers
 * and the VM's event listener take it only to queue output; neither holds
 * it while calling into the VM (the VM calls the listener under its own
 * listener lock, so the order is VM listener lock -> lock).
 */
#include "vmm/control.h"
#include "vmm/vm_migrate.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/size.h"
#include "vmm/clock.h"
#include "vmm/virtio/balloon.h"
#include "vmm/vm.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/net.h"
#include "vmm/agent_proto.h"
#include "vmm/guest_agent.h"

#define OUT_MAX (160 * 1024)
#define OUT_HIGH (64 * 1024)        /* a streamed exec waits above this */
#define OUT_LOW (16 * 1024)         /* ... until its client has read down to this */
#define STALL_MS 60000              /* a waiting client that reads nothing this long goes */
#define STATS_WAIT_MS 2000
#define DEFAULT_SHUTDOWN_MS 30000
#define MAX_SHUTDOWN_MS 3600000
#define DEFAULT_EXEC_MS 60000
#define MAX_EXEC_MS 86400000
#define EXEC_KEEP_MAX (32 * 1024)   /* bytes of stdout, and of stderr, in an exec reply */

/* Descriptors a client may pass with a request (SCM_RIGHTS): a sandboxed
 * VMM's snapshot files, memory, state and one per disk. */
#define CONN_MAX_FDS (2 + VM_MAX_DISKS)

struct conn {
	int fd;                       /* -1: free slot */
	int pass[CONN_MAX_FDS];       /* passed in, for the next request to start */
	unsigned npass;
	uint64_t gen;                 /* tells a worker its connection from a reuse */
	char in[VM_CONTROL_MAX_LINE];
	size_t in_len;
	char *out;                    /* OUT_MAX bytes */
	size_t out_len;
	bool busy;                    /* a worker runs its request */
	bool events;                  /* subscribed to the event stream */
	bool closing;                 /* close once out is flushed */
	bool throttled;               /* its exec's output waits in the guest (OUT_HIGH) */
	int64_t progress_ns;          /* throttled: when it last read anything */
	int64_t last_ns;              /* last request or reply */
};

struct vm_control {
	struct vm *vm;
	int listen_fd;
	int wake_fd;
	int listener;                 /* vm_add_listener id, or -1 */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t idle;          /* workers == 0 */
	unsigned workers;
	bool stopping;
	bool agent_resume;            /* a throttled client drained or went: resume the port */
	uint64_t next_gen;
	struct conn conn[VM_CONTROL_MAX_CLIENTS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uid_t owner;                  /* who started us: a sandbox changes our uid later */
};

static void wake(struct vm_control *c)
{
	uint64_t one = 1;
	ssize_t n = write(c->wake_fd, &one, sizeof one);
	(void)n;   /* EAGAIN: already pending */
}

/*
 * Where a verb sends lines ahead of its reply (exec's output stream): the
 * connection that asked, if it is still the same one.  NULL when there is
 * no connection (vm_control_handle).
 */
struct emitter {
	struct vm_control *c;
	unsigned slot;
	uint64_t gen;
	/* The descriptors passed with this request; the worker closes them. */
	const int *fds;
	unsigned nfds;
};

static void conn_queue(struct conn *k, const char *line);

static void emit_line(const struct emitter *em, const char *line)
{
	pthread_mutex_lock(&em->c->lock);
	struct conn *k = &em->c->conn[em->slot];
	if (k->fd >= 0 && k->gen == em->gen)
		conn_queue(k, line);
	pthread_mutex_unlock(&em->c->lock);
	wake(em->c);
}

/* ---- replies ----------------------------------------------------------- */

static char *print(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static cJSON *reply_ok(const cJSON *id)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "id", id ? cJSON_Duplicate(id, true) : cJSON_CreateNull());
	cJSON_AddTrueToObject(o, "ok");
	return o;
}

static char *reply_error(const cJSON *id, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static char *reply_error(const cJSON *id, const char *code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "id", id ? cJSON_Duplicate(id, true) : cJSON_CreateNull());
	cJSON_AddFalseToObject(o, "ok");
	cJSON *e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	return print(o);
}

/* The error code of a VM API failure. */
static const char *api_code(int rc)
{
	switch (rc) {
	case -ESRCH: return "not-running";
	case -ENODEV: return "no-balloon";
	case -ERANGE: return "bad-argument";
	case -ETIMEDOUT: return "timeout";
	default: return "internal";
	}
}

/* ---- verbs ------------------------------------------------------------- */

static char *verb_status(struct vm *vm, const cJSON *id)
{
	struct vm_status st;
	vm_query(vm, &st);
	cJSON *o = reply_ok(id);
	cJSON_AddNumberToObject(o, "protocol", VM_CONTROL_PROTOCOL);
	cJSON_AddStringToObject(o, "state", vm_state_name(st.state));
	cJSON_AddNumberToObject(o, "vcpus", st.ncpus);
	cJSON_AddNumberToObject(o, "memory_bytes", (double)st.mem_bytes);
	cJSON_AddNumberToObject(o, "uptime_ms", (double)(st.uptime_ns / 1000000));
	cJSON_AddNumberToObject(o, "paused_ms", (double)(st.paused_ns / 1000000));
	cJSON_AddNumberToObject(o, "guest_time_ns",
				(double)((unsigned __int128)st.guest_ticks * 1000000000u /
					 (st.timebase_hz ? st.timebase_hz : 1)));
	cJSON *ir = cJSON_AddArrayToObject(o, "instret");
	for (unsigned i = 0; i < st.ncpus; i++)
		cJSON_AddItemToArray(ir, cJSON_CreateNumber((double)st.instret[i]));
	cJSON *dv = cJSON_AddArrayToObject(o, "devices");
	for (unsigned i = 0; i < st.ndevices; i++)
		cJSON_AddItemToArray(dv, cJSON_CreateString(st.devices[i]));
	cJSON_AddNumberToObject(o, "reboots", st.reboots);
	cJSON_AddBoolToObject(o, "shutdown_pending", st.shutdown_pending);
	if (st.has_exit) {
		cJSON *ex = cJSON_AddObjectToObject(o, "exit");
		cJSON_AddStringToObject(ex, "reason", vm_exit_kind_name(st.exit.kind));
		cJSON_AddNumberToObject(ex, "code", st.exit.code);
		cJSON_AddStringToObject(ex, "message", st.exit.message);
	} else {
		cJSON_AddNullToObject(o, "exit");
	}
	/* The guest agent channel: null without --agent. */
	struct guest_agent *ga = vm_agent(vm);
	if (ga)
		cJSON_AddBoolToObject(cJSON_AddObjectToObject(o, "agent"), "connected",
				      guest_agent_connected(ga));
	else
		cJSON_AddNullToObject(o, "agent");
	return print(o);
}

static char *changed(const cJSON *id, bool yes)
{
	cJSON *o = reply_ok(id);
	cJSON_AddBoolToObject(o, "changed", yes);
	return print(o);
}

static char *verb_pause(struct vm *vm, const cJSON *id)
{
	struct err e = {0};
	int rc = vm_pause(vm, &e);
	if (rc == -EALREADY)
		return changed(id, false);
	if (rc)
		return reply_error(id, api_code(rc), "pause: %s", e.msg);
	return changed(id, true);
}

static char *verb_resume(struct vm *vm, const cJSON *id, const cJSON *req)
{
	const cJSON *cu = cJSON_GetObjectItemCaseSensitive(req, "catch_up");
	if (cu && !cJSON_IsBool(cu))
		return reply_error(id, "bad-argument", "resume: catch_up: not true or false");
	struct err e = {0};
	int rc = vm_resume(vm, cu && cJSON_IsTrue(cu), &e);
	if (rc == -EALREADY)
		return changed(id, false);
	if (rc)
		return reply_error(id, api_code(rc), "resume: %s", e.msg);
	return changed(id, true);
}

static char *verb_shutdown(struct vm *vm, const cJSON *id, const cJSON *req)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "timeout_ms");
	double ms = DEFAULT_SHUTDOWN_MS;
	if (t) {
		if (!cJSON_IsNumber(t) || !(t->valuedouble >= 0 && t->valuedouble <= MAX_SHUTDOWN_MS))
			return reply_error(id, "bad-argument",
					   "shutdown: timeout_ms: not a number from 0 to %d",
					   MAX_SHUTDOWN_MS);
		ms = t->valuedouble;
	}
	struct err e = {0};
	int rc = vm_shutdown(vm, (unsigned)ms, &e);
	if (rc)
		return reply_error(id, api_code(rc), "shutdown: %s", e.msg);
	cJSON *o = reply_ok(id);
	cJSON_AddNumberToObject(o, "timeout_ms", (unsigned)ms);
	cJSON_AddBoolToObject(o, "via_agent", vm_shutdown_via_agent(vm));
	return print(o);
}

/* Bytes a JSON string may carry: invalid UTF-8 and NUL become '?'. */
static void make_utf8(char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2
			 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4 : 0;
		bool good = k && k <= n - i && c != 0;
		for (size_t j = 1; good && j < k; j++)
			good = ((unsigned char)s[i + j] & 0xc0) == 0x80;
		if (!good) {
			s[i++] = '?';
			continue;
		}
		i += k;
	}
}

/* A string array argument into a NULL-terminated vector of at most max. */
static const char *str_array(const cJSON *a, const char **out, unsigned max, bool need_eq)
{
	unsigned n = 0;
	const cJSON *it;
	if (!cJSON_IsArray(a))
		return "not an array of strings";
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsString(it))
			return "not an array of strings";
		if (n == max)
			return "too many entries";
		if (need_eq && (!strchr(it->valuestring, '=') || it->valuestring[0] == '='))
			return "an entry is not NAME=VALUE";
		out[n++] = it->valuestring;
	}
	out[n] = NULL;
	return NULL;
}

struct exec_stream {
	const struct emitter *em;
	const cJSON *id;
	bool pct;                     /* output as data_pct: the bytes, percent-encoded */
};

/* A terminal exec's id, for exec-input and exec-resize on another connection. */
static void exec_started(void *ctx, uint64_t session)
{
	struct exec_stream *xs = ctx;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "id", xs->id ? cJSON_Duplicate(xs->id, true) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "session", (double)session);
	char *line = print(o);
	if (line)
		emit_line(xs->em, line);
	free(line);
}

/* One piece of a streamed exec's output (device I/O thread: see
 * guest_agent_exec.on_output; takes only the control lock). */
static void exec_output(void *ctx, unsigned stream, const uint8_t *data, size_t len)
{
	struct exec_stream *xs = ctx;
	char buf[AGENT_CHUNK_MAX + 1];
	if (len > AGENT_CHUNK_MAX)
		len = AGENT_CHUNK_MAX;
	struct agent_buf enc = { 0 };
	if (xs->pct) {
		agent_buf_enc(&enc, data, len);
	} else {
		memcpy(buf, data, len);
		make_utf8(buf, len);
		buf[len] = 0;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "id", xs->id ? cJSON_Duplicate(xs->id, true) : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "stream", stream == 1 ? "stdout" : "stderr");
	if (xs->pct)
		cJSON_AddStringToObject(o, "data_pct", enc.p && !enc.oom ? enc.p : "");
	else
		cJSON_AddStringToObject(o, "data", buf);
	agent_buf_free(&enc);
	char *line = print(o);
	if (line)
		emit_line(xs->em, line);
	free(line);
}

/* Whether the exec's client can take more output (device I/O thread, the
 * agent's lock held; takes only the control lock).  A client that went
 * away can: what comes for it is dropped. */
static bool exec_can_output(void *ctx)
{
	struct exec_stream *xs = ctx;
	struct vm_control *c = xs->em->c;
	bool yes = true, woke = false;
	pthread_mutex_lock(&c->lock);
	struct conn *k = &c->conn[xs->em->slot];
	if (!c->stopping && k->fd >= 0 && k->gen == xs->em->gen && !k->closing &&
	    k->out_len >= OUT_HIGH) {
		yes = false;
		if (!k->throttled) {
			k->throttled = woke = true;
			k->progress_ns = vclock_host_ns();
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (woke)   /* the control thread starts watching for a stall */
		wake(c);
	return yes;
}

static cJSON *exec_reply(const cJSON *id, struct guest_agent_result *r, size_t keep, bool streamed)
{
	static const char *const names[2][2] = { { "stdout", "stdout_truncated" },
						  { "stderr", "stderr_truncated" } };
	cJSON *o = reply_ok(id);
	if (r->how == AGENT_EXIT_CODE)
		cJSON_AddNumberToObject(o, "exit_code", r->value);
	else
		cJSON_AddNullToObject(o, "exit_code");
	if (r->how == AGENT_EXIT_CODE)
		cJSON_AddNullToObject(o, "signal");
	else
		cJSON_AddNumberToObject(o, "signal", r->value);
	cJSON_AddBoolToObject(o, "timed_out", r->how == AGENT_EXIT_TIMEOUT);
	for (unsigned s = 0; s < 2 && !streamed; s++) {
		size_t n = r->len[s] < keep ? r->len[s] : keep;
		char saved = r->out[s][n];
		r->out[s][n] = 0;
		cJSON_AddStringToObject(o, names[s][0], r->out[s]);
		r->out[s][n] = saved;
		cJSON_AddBoolToObject(o, names[s][1], r->truncated[s] || n < r->len[s]);
	}
	return o;
}

/* {"verb":"exec","argv":[...][,"env":[...]][,"cwd":S][,"stdin":S][,"timeout_ms":N]
 *  [,"stream":true]} */
static char *verb_exec(struct vm *vm, const cJSON *id, const cJSON *req, const struct emitter *em)
{
	const char *argv[AGENT_ARGS_MAX + 1], *env[AGENT_ARGS_MAX + 1];
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(req, "argv");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(req, "env");
	const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(req, "cwd");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(req, "stdin");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "timeout_ms");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(req, "stream");
	const cJSON *tty = cJSON_GetObjectItemCaseSensitive(req, "tty");
	const cJSON *ss = cJSON_GetObjectItemCaseSensitive(req, "stdin_stream");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "output_pct");
	const char *why = str_array(a, argv, AGENT_ARGS_MAX, false);
	if (why)
		return reply_error(id, "bad-argument", "exec: argv: %s", why);
	if (!argv[0] || !argv[0][0])
		return reply_error(id, "bad-argument", "exec: argv: no command");
	env[0] = NULL;
	if (e && (why = str_array(e, env, AGENT_ARGS_MAX, true)))
		return reply_error(id, "bad-argument", "exec: env: %s", why);
	if (cwd && !cJSON_IsString(cwd))
		return reply_error(id, "bad-argument", "exec: cwd: not a string");
	if (in && !cJSON_IsString(in))
		return reply_error(id, "bad-argument", "exec: stdin: not a string");
	if (st && !cJSON_IsBool(st))
		return reply_error(id, "bad-argument", "exec: stream: not a boolean");
	bool stream = cJSON_IsTrue(st);
	if (stream && !em)
		return reply_error(id, "invalid-request", "exec: stream: only on a control socket");
	if ((ss && !cJSON_IsBool(ss)) || (op && !cJSON_IsBool(op)))
		return reply_error(id, "bad-argument", "exec: stdin_stream, output_pct: not a boolean");
	bool stdin_stream = cJSON_IsTrue(ss);
	if (stdin_stream && (!stream || tty || in))
		return reply_error(id, "bad-argument", "exec: stdin_stream needs \"stream\": true, "
				   "and neither tty nor stdin");
	unsigned rows = 0, cols = 0;
	if (tty) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(tty, "rows");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(tty, "cols");
		if (!cJSON_IsObject(tty) || !cJSON_IsNumber(r) || !cJSON_IsNumber(c) ||
		    !(r->valuedouble >= 1 && r->valuedouble <= 1000) ||
		    !(c->valuedouble >= 1 && c->valuedouble <= 1000))
			return reply_error(id, "bad-argument", "exec: tty: not {\"rows\": 1 to 1000, "
					   "\"cols\": 1 to 1000}");
		if (!stream)
			return reply_error(id, "bad-argument", "exec: tty needs \"stream\": true");
		rows = (unsigned)r->valuedouble;
		cols = (unsigned)c->valuedouble;
	}
	struct exec_stream xs = { em, id, cJSON_IsTrue(op) };
	double ms = DEFAULT_EXEC_MS;
	if (t) {
		if (!cJSON_IsNumber(t) || !(t->valuedouble >= 0 && t->valuedouble <= MAX_EXEC_MS))
			return reply_error(id, "bad-argument",
					   "exec: timeout_ms: not a number from 0 to %d", MAX_EXEC_MS);
		ms = t->valuedouble;
	}
	struct guest_agent_exec x = {
		.argv = (char *const *)argv, .env = (char *const *)env,
		.cwd = cwd ? cwd->valuestring : NULL,
		.stdin_data = in ? in->valuestring : NULL, .stdin_len = in ? strlen(in->valuestring) : 0,
		.timeout_ms = (unsigned)ms, .out_max = EXEC_KEEP_MAX,
		.on_output = stream ? exec_output : NULL, .can_output = stream ? exec_can_output : NULL,
		.ctx = &xs,
		.tty = tty != NULL, .rows = rows, .cols = cols,
		.stdin_stream = stdin_stream,
		.on_started = tty || stdin_stream ? exec_started : NULL,
	};
	struct guest_agent_result r;
	struct err er = {0};
	int rc = vm_exec(vm, &x, &r, &er);
	if (rc) {
		const char *code = rc == -ENODEV ? "no-agent" : rc == -ENOTCONN ? "agent-not-running"
				 : rc == -ESRCH ? "not-running" : rc == -EAGAIN ? "paused"
				 : rc == -ETIMEDOUT ? "timeout"
				 : rc == -E2BIG || rc == -EINVAL ? "bad-argument"
				 : rc == -ENOTSUP ? "agent-too-old" : "exec-failed";
		return reply_error(id, code, "%s", er.msg);
	}
	for (unsigned s = 0; s < 2; s++)
		make_utf8(r.out[s], r.len[s]);
	/* The reply is one line in a bounded output buffer: escaping may grow
	 * the output up to six times, so halve what is kept until it fits. */
	char *line = NULL;
	for (size_t keep = EXEC_KEEP_MAX;; keep /= 2) {
		line = print(exec_reply(id, &r, keep, stream));
		if (!line || strlen(line) < OUT_HIGH - 256 || keep == 0)
			break;
		free(line);
	}
	guest_agent_result_free(&r);
	return line;
}

/* {"verb":"exec-input","session":N[,"data":S][,"eof":B]} and
 * {"verb":"exec-resize","session":N,"rows":R,"cols":C} */
static char *verb_exec_more(struct vm *vm, const cJSON *id, const cJSON *req, bool resize)
{
	const char *what = resize ? "exec-resize" : "exec-input";
	const cJSON *sn = cJSON_GetObjectItemCaseSensitive(req, "session");
	if (!cJSON_IsNumber(sn) || !(sn->valuedouble >= 1 && sn->valuedouble <= 9007199254740992.0))
		return reply_error(id, "bad-argument", "%s: session: not a session number", what);
	uint64_t session = (uint64_t)sn->valuedouble;
	struct err e = {0};
	int rc;
	if (resize) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(req, "rows");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(req, "cols");
		if (!cJSON_IsNumber(r) || !cJSON_IsNumber(c) || !(r->valuedouble >= 1 &&
		    r->valuedouble <= 1000) || !(c->valuedouble >= 1 && c->valuedouble <= 1000))
			return reply_error(id, "bad-argument", "%s: rows and cols: 1 to 1000", what);
		rc = vm_exec_resize(vm, session, (unsigned)r->valuedouble, (unsigned)c->valuedouble,
				    &e);
	} else {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(req, "data");
		const cJSON *pct = cJSON_GetObjectItemCaseSensitive(req, "data_pct");
		const cJSON *eof = cJSON_GetObjectItemCaseSensitive(req, "eof");
		if ((d && !cJSON_IsString(d)) || (pct && !cJSON_IsString(pct)) || (d && pct) ||
		    (eof && !cJSON_IsBool(eof)))
			return reply_error(id, "bad-argument", "%s: data or data_pct: a string; eof: a "
					   "boolean", what);
		/* data_pct: any bytes, percent-encoded as the agent protocol does
		 * (a JSON string carries no NUL byte). */
		uint8_t raw[VM_CONTROL_MAX_LINE];
		long n = pct ? agent_decode(pct->valuestring, strlen(pct->valuestring), raw, sizeof raw)
			     : 0;
		if (n < 0)
			return reply_error(id, "bad-argument", "%s: data_pct: badly percent-encoded",
					   what);
		rc = pct ? vm_exec_input(vm, session, raw, (size_t)n, cJSON_IsTrue(eof), &e)
			 : vm_exec_input(vm, session, d ? d->valuestring : "",
					 d ? strlen(d->valuestring) : 0, cJSON_IsTrue(eof), &e);
	}
	if (rc)
		return reply_error(id, rc == -ESRCH ? "no-session" : rc == -ENODEV ? "no-agent"
				   : rc == -E2BIG || rc == -EINVAL ? "bad-argument" : "exec-failed",
				   "%s", e.msg);
	return print(reply_ok(id));
}

static char *verb_balloon(struct vm *vm, const cJSON *id, const cJSON *req)
{
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(req, "size");
	uint64_t bytes;
	if (cJSON_IsString(sz)) {
		if (parse_size(sz->valuestring, 1ull << 20, &bytes) < 0)
			return reply_error(id, "bad-argument",
					   "balloon %.64s: not a size (examples: 64M, 1G, 0)",
					   sz->valuestring);
	} else if (cJSON_IsNumber(sz)) {
		if (!(sz->valuedouble >= 0 && sz->valuedouble < 18446744073709551616.0) ||
		    sz->valuedouble != (double)(uint64_t)sz->valuedouble)
			return reply_error(id, "bad-argument",
					   "balloon: size: not a whole number of bytes");
		bytes = (uint64_t)sz->valuedouble;
	} else {
		return reply_error(id, "bad-argument",
				   "balloon: needs \"size\": bytes, or a string such as \"64M\"");
	}
	struct err e = {0};
	int rc = vm_balloon_set(vm, bytes, &e);
	if (rc)
		return reply_error(id, api_code(rc), "%s", e.msg);
	cJSON *o = reply_ok(id);
	cJSON_AddNumberToObject(o, "target_bytes", (double)(bytes & ~4095ull));
	return print(o);
}

static char *verb_balloon_stats(struct vm *vm, const cJSON *id)
{
	struct balloon_stats st;
	bool stale;
	struct err e = {0};
	int rc = vm_balloon_stats(vm, &st, STATS_WAIT_MS, &stale, &e);
	if (rc)
		return reply_error(id, api_code(rc), "%s", e.msg);
	cJSON *o = reply_ok(id);
	cJSON_AddNumberToObject(o, "ram_bytes", (double)st.ram_bytes);
	cJSON_AddNumberToObject(o, "target_bytes", (double)st.target_bytes);
	cJSON_AddNumberToObject(o, "actual_bytes", (double)st.actual_bytes);
	cJSON_AddNumberToObject(o, "inflated_bytes", (double)st.inflated_bytes);
	cJSON_AddNumberToObject(o, "reported_bytes", (double)st.reported_bytes);
	static const struct { unsigned idx; const char *name; } fields[] = {
		{ VIRTIO_BALLOON_S_MEMFREE, "free_bytes" },
		{ VIRTIO_BALLOON_S_MEMTOT, "total_bytes" },
		{ VIRTIO_BALLOON_S_AVAIL, "available_bytes" },
		{ VIRTIO_BALLOON_S_CACHES, "caches_bytes" },
	};
	cJSON *g = cJSON_AddObjectToObject(o, "guest");
	for (unsigned i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (st.have & (1u << fields[i].idx))
			cJSON_AddNumberToObject(g, fields[i].name, (double)st.val[fields[i].idx]);
	cJSON_AddBoolToObject(o, "stale", stale);
	return print(o);
}

/* {"verb":"snapshot","dir":PATH[,"paused":true][,"incremental":true][,"disks":true]}: PATH absolute (the VM's
 * working directory is not the client's). */
/* "fds": ["memory", "state", "disk0", "disk1", ...]: the request came with
 * those files open, in that order; how many, or -1 if not so named. */
static int names_snapshot_fds(const cJSON *f)
{
	int n = cJSON_IsArray(f) ? cJSON_GetArraySize(f) : 0;
	if (n < 2 || n > CONN_MAX_FDS)
		return -1;
	for (int i = 0; i < n; i++) {
		const cJSON *s = cJSON_GetArrayItem(f, i);
		char want[16];
		if (i < 2)
			snprintf(want, sizeof want, "%s", i ? "state" : "memory");
		else
			snprintf(want, sizeof want, "disk%d", i - 2);
		if (!cJSON_IsString(s) || strcmp(s->valuestring, want))
			return -1;
	}
	return n;
}

static char *verb_snapshot(struct vm *vm, const cJSON *id, const cJSON *req,
			   const struct emitter *em)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(req, "dir");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(req, "paused");
	if (!cJSON_IsString(d) || d->valuestring[0] != '/' || strlen(d->valuestring) > 3000)
		return reply_error(id, "bad-argument",
				   "snapshot: needs \"dir\": an absolute directory path");
	const cJSON *inc = cJSON_GetObjectItemCaseSensitive(req, "incremental");
	if (p && !cJSON_IsBool(p))
		return reply_error(id, "bad-argument", "snapshot: paused: not true or false");
	if (inc && !cJSON_IsBool(inc))
		return reply_error(id, "bad-argument", "snapshot: incremental: not true or false");
	const cJSON *dk = cJSON_GetObjectItemCaseSensitive(req, "disks");
	if (dk && !cJSON_IsBool(dk))
		return reply_error(id, "bad-argument", "snapshot: disks: not true or false");
	const cJSON *fds = cJSON_GetObjectItemCaseSensitive(req, "fds");
	int nfds = fds ? names_snapshot_fds(fds) : 0;
	if (nfds < 0)
		return reply_error(id, "bad-argument", "snapshot: fds: must be [\"memory\", \"state\"] "
				   "and, with disks, \"disk0\" ... (at most %d)", VM_MAX_DISKS);
	if (fds && (!em || em->nfds != (unsigned)nfds))
		return reply_error(id, "bad-argument", "snapshot: fds: the request must come with "
				   "%d descriptors (SCM_RIGHTS), it came with %u", nfds,
				   em ? em->nfds : 0);
	if (nfds > 2 && !cJSON_IsTrue(dk))
		return reply_error(id, "bad-argument", "snapshot: fds: disk files without "
				   "\"disks\": true");
	if (vm_sandboxed(vm) && !fds)
		return reply_error(id, "sandboxed", "snapshot: this VMM is sandboxed and can open "
				   "no file: its client must pass the files (\"fds\", docs/sandbox.md)");
	struct err e = {0};
	struct vm_snapshot_info info = {0};
	struct vm_snapshot_opts so = { .stay_paused = cJSON_IsTrue(p),
				       .incremental = cJSON_IsTrue(inc),
				       .with_disks = cJSON_IsTrue(dk),
				       .to_fds = fds != NULL,
				       .memory_fd = fds ? em->fds[0] : -1,
				       .state_fd = fds ? em->fds[1] : -1,
				       .disk_fds = fds ? em->fds + 2 : NULL,
				       .ndisk_fds = fds ? (unsigned)nfds - 2 : 0 };
	int rc = vm_snapshot_take(vm, d->valuestring, &so, &info, &e);
	if (rc)
		return reply_error(id, rc == -ESRCH ? "not-running" : rc == -ENOENT ? "no-base"
				   : "snapshot-failed", "%s", e.msg);
	cJSON *o = reply_ok(id);
	cJSON_AddStringToObject(o, "dir", d->valuestring);
	cJSON_AddNumberToObject(o, "state_bytes", (double)info.state_bytes);
	cJSON_AddNumberToObject(o, "memory_bytes_written", (double)info.mem_bytes_written);
	cJSON_AddBoolToObject(o, "incremental", info.incremental);
	if (so.with_disks) {
		cJSON_AddNumberToObject(o, "disk_bytes_written", (double)info.disk_bytes_written);
		cJSON_AddNumberToObject(o, "disks", info.disks);
	}
	cJSON_AddNumberToObject(o, "pause_ms", (double)info.pause_ns / 1e6);
	/* What each hot-plug slot holds ("" empty), as the snapshot recorded it:
	 * a restore must be started with the same (--slot-disk). */
	struct virtio_device *sd = vm_disk_slot(vm, 0);
	if (sd) {
		cJSON *a = cJSON_AddArrayToObject(o, "disk_slots");
		char serial[VIRTIO_BLK_ID_BYTES + 1];
		for (unsigned i = 0; (sd = vm_disk_slot(vm, i)); i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(virtio_blk_loaded(sd, serial) ? serial
												   : ""));
	}
	/* And which hot-plug NIC slots hold a TAP (the MAC each has, "" for
	 * none): a restore must have a TAP in the same (--slot-nic). */
	if ((sd = vm_nic_slot(vm, 0))) {
		cJSON *a = cJSON_AddArrayToObject(o, "nic_slots");
		for (unsigned i = 0; (sd = vm_nic_slot(vm, i)); i++) {
			uint8_t m[6];
			char text[18] = "";
			virtio_net_mac(sd, m);
			if (virtio_net_loaded(sd))
				snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
					 m[2], m[3], m[4], m[5]);
			cJSON_AddItemToArray(a, cJSON_CreateString(text));
		}
	}
	return print(o);
}

/* {"verb":"disk-insert","serial":S,"fds":["disk"]} with the qcow2 image open
 * read-write passed along (SCM_RIGHTS), and {"verb":"disk-eject","serial":S}:
 * hot-plug (vm_hotplug.c).  The reply names the slot. */
static char *verb_disk(struct vm *vm, const cJSON *id, const cJSON *req,
		       const struct emitter *em, bool insert)
{
	const char *verb = insert ? "disk-insert" : "disk-eject";
	const cJSON *sr = cJSON_GetObjectItemCaseSensitive(req, "serial");
	if (!cJSON_IsString(sr))
		return reply_error(id, "bad-argument", "%s: needs \"serial\": a string", verb);
	struct err e = {0};
	unsigned slot = 0;
	int rc;
	if (insert) {
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(req, "fds");
		if (!cJSON_IsArray(f) || cJSON_GetArraySize(f) != 1 ||
		    !cJSON_IsString(cJSON_GetArrayItem(f, 0)) ||
		    strcmp(cJSON_GetArrayItem(f, 0)->valuestring, "disk"))
			return reply_error(id, "bad-argument", "disk-insert: fds: must be [\"disk\"]");
		if (!em || em->nfds != 1)
			return reply_error(id, "bad-argument", "disk-insert: the request must come with "
					   "one descriptor (SCM_RIGHTS), it came with %u",
					   em ? em->nfds : 0);
		rc = vm_disk_insert(vm, em->fds[0], sr->valuestring, &slot, &e);
	} else {
		rc = vm_disk_eject(vm, sr->valuestring, &slot, &e);
	}
	if (rc)
		return reply_error(id, rc == -EINVAL ? "bad-argument" : rc == -ENOSPC ? "no-slot"
				   : rc == -ENOENT ? "no-disk" : rc == -EEXIST ? "exists"
				   : "disk-failed", "%s: %s", verb, e.msg);
	cJSON *o = reply_ok(id);
	cJSON_AddNumberToObject(o, "slot", slot);
	return print(o);
}

/* "52:54:00:12:34:56" -> bytes; false for anything else. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	int end = 0;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3],
				      &v[4], &v[5], &end) != 6 || end != 17)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return true;
}

/* {"verb":"nic-insert","ifname":NAME,"fds":["tap"]} with a TAP prepared as
 * net_tap_adopt wants passed along (SCM_RIGHTS), and
 * {"verb":"nic-eject","mac":MAC}: NIC hot-plug (vm_nic_hotplug.c).  The
 * reply names the slot and the MAC the guest has for it. */
static char *verb_nic(struct vm *vm, const cJSON *id, const cJSON *req,
		      const struct emitter *em, bool insert)
{
	const char *verb = insert ? "nic-insert" : "nic-eject";
	struct err e = {0};
	unsigned slot = 0;
	uint8_t mac[6];
	int rc;
	if (insert) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(req, "ifname");
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(req, "fds");
		bool name_ok = cJSON_IsString(n) && n->valuestring[0] && strlen(n->valuestring) < 16;
		for (const char *c = name_ok ? n->valuestring : ""; *c; c++)
			name_ok &= *c > ' ' && *c <= '~' && *c != '/';
		if (!name_ok)
			return reply_error(id, "bad-argument", "nic-insert: needs \"ifname\": the TAP's "
					   "name, 1 to 15 printable characters");
		if (!cJSON_IsArray(f) || cJSON_GetArraySize(f) != 1 ||
		    !cJSON_IsString(cJSON_GetArrayItem(f, 0)) ||
		    strcmp(cJSON_GetArrayItem(f, 0)->valuestring, "tap"))
			return reply_error(id, "bad-argument", "nic-insert: fds: must be [\"tap\"]");
		if (!em || em->nfds != 1)
			return reply_error(id, "bad-argument", "nic-insert: the request must come with "
					   "one descriptor (SCM_RIGHTS), it came with %u",
					   em ? em->nfds : 0);
		rc = vm_nic_insert(vm, em->fds[0], n->valuestring, &slot, mac, &e);
	} else {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "mac");
		if (!cJSON_IsString(m) || !parse_mac(m->valuestring, mac))
			return reply_error(id, "bad-argument", "nic-eject: needs \"mac\": "
					   "six hex bytes as 52:54:00:12:34:56");
		rc = vm_nic_eject(vm, mac, &slot, &e);
	}
	if (rc)
		return reply_error(id, rc == -EINVAL ? "bad-argument" : rc == -ENOSPC ? "no-slot"
				   : rc == -ENOENT ? "no-nic" : "nic-failed", "%s: %s", verb, e.msg);
	cJSON *o = reply_ok(id);
	cJSON_AddNumberToObject(o, "slot", slot);
	char text[18];
	snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	cJSON_AddStringToObject(o, "mac", text);
	return print(o);
}

/* {"verb":"migrate","uri":"unix:PATH"|"tcp:HOST:PORT"[,"downtime_ms":MS][,"verify":true]
 *  [,"copy_storage":true][,"postcopy":true][,"fds":["socket"]]}: with "fds", the request
 *  came with a connection to the target, made by the client (a sandboxed VMM makes none). */
static char *verb_migrate(struct vm *vm, const cJSON *id, const cJSON *req,
			  const struct emitter *em)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(req, "uri");
	struct err e = {0};
	if (!cJSON_IsString(u))
		return reply_error(id, "bad-argument",
				   "migrate: needs \"uri\": unix:PATH or tcp:HOST:PORT");
	if (vm_migrate_uri_check(u->valuestring, &e))
		return reply_error(id, "bad-argument", "migrate: %s", e.msg);
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(req, "downtime_ms");
	if (dt && (!cJSON_IsNumber(dt) || !(dt->valuedouble >= 1 && dt->valuedouble <= 60000)))
		return reply_error(id, "bad-argument", "migrate: downtime_ms: a number from 1 to 60000");
	const cJSON *fds = cJSON_GetObjectItemCaseSensitive(req, "fds");
	if (fds && !(cJSON_IsArray(fds) && cJSON_GetArraySize(fds) == 1 &&
		     cJSON_IsString(cJSON_GetArrayItem(fds, 0)) &&
		     !strcmp(cJSON_GetArrayItem(fds, 0)->valuestring, "socket")))
		return reply_error(id, "bad-argument", "migrate: fds: must be [\"socket\"]");
	if (fds && (!em || em->nfds != 1))
		return reply_error(id, "bad-argument", "migrate: fds: the request must come with "
				   "one descriptor (SCM_RIGHTS), it came with %u", em ? em->nfds : 0);
	struct stat fst;
	if (fds && (fstat(em->fds[0], &fst) < 0 || !S_ISSOCK(fst.st_mode)))
		return reply_error(id, "bad-argument", "migrate: fds: the descriptor passed is not "
				   "a socket");
	if (vm_sandboxed(vm) && !fds)
		return reply_error(id, "sandboxed", "migrate: this VMM is sandboxed and connects "
				   "nowhere: its client must pass the connection to the target "
				   "(\"fds\"; docs/sandbox.md)");
	const cJSON *vf = cJSON_GetObjectItemCaseSensitive(req, "verify");
	if (vf && !cJSON_IsBool(vf))
		return reply_error(id, "bad-argument", "migrate: verify: true or false");
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(req, "copy_storage");
	if (cs && !cJSON_IsBool(cs))
		return reply_error(id, "bad-argument", "migrate: copy_storage: true or false");
	const cJSON *pc = cJSON_GetObjectItemCaseSensitive(req, "postcopy");
	if (pc && !cJSON_IsBool(pc))
		return reply_error(id, "bad-argument", "migrate: postcopy: true or false");
	if (cJSON_IsTrue(pc) && (cJSON_IsTrue(cs) || cJSON_IsTrue(vf)))
		return reply_error(id, "bad-argument", "migrate: postcopy with %s: not supported "
				   "(the pages reach the target after the VM runs there)",
				   cJSON_IsTrue(cs) ? "copy_storage" : "verify");
	struct vm_migrate_opts opts = { .downtime_ms = dt ? (unsigned)dt->valuedouble : 0,
					.verify = cJSON_IsTrue(vf),
					.copy_storage = cJSON_IsTrue(cs),
					.postcopy = cJSON_IsTrue(pc),
					.have_conn = fds != NULL,
					.conn = fds ? em->fds[0] : -1 };
	struct vm_migrate_info info;
	int rc = vm_migrate(vm, u->valuestring, &opts, &info, &e);
	if (rc)
		return reply_error(id, rc == -ESRCH ? "not-running" : "migrate-failed", "%s", e.msg);
	cJSON *o = reply_ok(id);
	cJSON_AddStringToObject(o, "uri", u->valuestring);
	cJSON_AddNumberToObject(o, "rounds", info.rounds);
	cJSON_AddNumberToObject(o, "pages_sent", (double)info.pages_sent);
	cJSON_AddNumberToObject(o, "bytes_sent", (double)info.bytes_sent);
	cJSON_AddNumberToObject(o, "total_ms", (double)info.total_ns / 1e6);
	cJSON_AddNumberToObject(o, "downtime_ms", (double)info.downtime_ns / 1e6);
	cJSON_AddNumberToObject(o, "stop_copy_ms", (double)info.stop_copy_ns / 1e6);
	if (opts.copy_storage)
		cJSON_AddNumberToObject(o, "disk_bytes_sent", (double)info.disk_bytes_sent);
	cJSON_AddBoolToObject(o, "postcopy", opts.postcopy);
	return print(o);
}

/* {"verb":"fork","dir":ABS[,"count":N][,"running":true]} */
static char *verb_fork(struct vm *vm, const cJSON *id, const cJSON *req,
		       const struct emitter *em)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(req, "dir");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(req, "count");
	if (!cJSON_IsString(d) || d->valuestring[0] != '/' || strlen(d->valuestring) > 200)
		return reply_error(id, "bad-argument",
				   "fork: needs \"dir\": an absolute directory path (at most 200 bytes)");
	double n = 1;
	if (c && (!cJSON_IsNumber(c) || !(c->valuedouble >= 1 && c->valuedouble <= VM_FORK_MAX) ||
		  c->valuedouble != (double)(unsigned)c->valuedouble))
		return reply_error(id, "bad-argument", "fork: count: a whole number from 1 to %d",
				   VM_FORK_MAX);
	if (c)
		n = c->valuedouble;
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(req, "running");
	if (run && !cJSON_IsBool(run))
		return reply_error(id, "bad-argument", "fork: running: must be true or false");
	const cJSON *fds = cJSON_GetObjectItemCaseSensitive(req, "fds");
	if (fds && !names_snapshot_fds(fds))
		return reply_error(id, "bad-argument", "fork: fds: must be [\"memory\", \"state\"]");
	if (fds && (!em || em->nfds != 2))
		return reply_error(id, "bad-argument", "fork: fds: the request must come with two "
				   "descriptors (SCM_RIGHTS), it came with %u", em ? em->nfds : 0);
	if (fds) {
		/* Only the snapshot: the client starts the children. */
		struct err e = {0};
		int rc = vm_fork_snapshot(vm, d->valuestring, em->fds[0], em->fds[1], &e);
		if (rc)
			return reply_error(id, rc == -ESRCH ? "not-running" : "fork-failed", "%s", e.msg);
		cJSON *o = reply_ok(id);
		cJSON_AddArrayToObject(o, "children");
		cJSON_AddTrueToObject(o, "snapshot_only");
		return print(o);
	}
	if (vm_sandboxed(vm))
		return reply_error(id, "sandboxed", "fork: this VMM is sandboxed and can neither "
				   "write a snapshot nor start a process: its client must pass the "
				   "files (\"fds\") and start the children (docs/sandbox.md)");
	struct vm_fork_child kids[VM_FORK_MAX];
	unsigned started = 0;
	struct err e = {0};
	struct vm_snapshot_info info = { 0 };
	int rc = vm_fork(vm, d->valuestring, (unsigned)n, cJSON_IsTrue(run), kids, &started, &info,
			 &e);
	cJSON *o = rc ? NULL : reply_ok(id);
	if (rc) {
		char *out = reply_error(id, rc == -ESRCH ? "not-running" : "fork-failed",
					"%s%s", e.msg, started ? " (some children were started)" : "");
		return out;
	}
	cJSON_AddNumberToObject(o, "pause_ms", (double)info.pause_ns / 1e6);
	cJSON_AddBoolToObject(o, "running", cJSON_IsTrue(run));   /* the children */
	if (info.guest_mac)
		cJSON_AddStringToObject(o, "guest_mac", info.guest_mac);
	cJSON *arr = cJSON_AddArrayToObject(o, "children");
	for (unsigned i = 0; i < started; i++) {
		cJSON *k = cJSON_CreateObject();
		cJSON_AddNumberToObject(k, "pid", kids[i].pid);
		cJSON_AddStringToObject(k, "control", kids[i].control);
		cJSON_AddStringToObject(k, "console", kids[i].console);
		cJSON_AddItemToArray(arr, k);
	}
	return print(o);
}

/* rate-limit: sets a device's limit ("limit" given) and/or reports it. */
static char *verb_rate_limit(struct vm *vm, const cJSON *id, const cJSON *req)
{
	const cJSON *dev = cJSON_GetObjectItemCaseSensitive(req, "device");
	const cJSON *lim = cJSON_GetObjectItemCaseSensitive(req, "limit");
	if (!cJSON_IsString(dev))
		return reply_error(id, "bad-argument", "rate-limit: needs \"device\": "
				   "\"disk0\", \"net0\", ...");
	if (lim && !cJSON_IsString(lim))
		return reply_error(id, "bad-argument", "rate-limit: \"limit\" must be a string "
				   "such as \"bw=10M,ops=500\" or \"none\"");
	struct err e = {0};
	struct rate_limit l;
	int rc;
	if (lim) {
		char flag[96];
		snprintf(flag, sizeof flag, "rate-limit %.64s", dev->valuestring);
		if (rate_limit_parse(flag, lim->valuestring, &l, &e) < 0)
			return reply_error(id, "bad-argument", "%s", e.msg);
		rc = vm_rate_limit_set(vm, dev->valuestring, &l, &e);
	} else {
		rc = vm_rate_limit_get(vm, dev->valuestring, &l, &e);
	}
	if (rc)
		return reply_error(id, rc == -ENODEV ? "no-device" : api_code(rc), "rate-limit: %s",
				   e.msg);
	vm_rate_limit_get(vm, dev->valuestring, &l, &e);
	char buf[128];
	rate_limit_format(&l, buf, sizeof buf);
	cJSON *o = reply_ok(id);
	cJSON_AddStringToObject(o, "device", dev->valuestring);
	cJSON_AddStringToObject(o, "limit", buf);
	return print(o);
}

static const char known[] = "status, pause, resume, stop, shutdown, reboot, balloon, "
			    "balloon-stats, snapshot, migrate, fork, rate-limit, exec, exec-input, "
			    "exec-resize, disk-insert, disk-eject, nic-insert, nic-eject, events";

/* Parses and checks the envelope; *verb set on success, else the error reply. */
static char *parse_request(const char *line, unsigned long len, cJSON **req, const cJSON **id,
			   const char **verb)
{
	*req = NULL;
	*id = NULL;
	cJSON *r = cJSON_ParseWithLength(line, len);
	if (!r)
		return reply_error(NULL, "parse-error", "request is not valid JSON");
	*req = r;
	if (!cJSON_IsObject(r))
		return reply_error(NULL, "invalid-request", "request is not a JSON object");
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(r, "id");
	if (i && !cJSON_IsNumber(i) && !cJSON_IsString(i) && !cJSON_IsNull(i))
		return reply_error(NULL, "invalid-request", "id: must be a number, a string or null");
	*id = i;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "version");
	if (v && !(cJSON_IsNumber(v) && v->valuedouble == VM_CONTROL_PROTOCOL))
		return reply_error(i, "unsupported-version",
				   "this VM speaks version %d of the control protocol",
				   VM_CONTROL_PROTOCOL);
	const cJSON *vb = cJSON_GetObjectItemCaseSensitive(r, "verb");
	if (!cJSON_IsString(vb))
		return reply_error(i, "invalid-request", "request has no \"verb\" string");
	*verb = vb->valuestring;
	return NULL;
}

static char *handle(struct vm *vm, const char *line, unsigned long len, const struct emitter *em)
{
	cJSON *req;
	const cJSON *id;
	const char *verb = NULL;
	char *out = parse_request(line, len, &req, &id, &verb);
	if (out) {
		cJSON_Delete(req);
		return out;
	}
	bool vm_verb = true;
	if (!strcmp(verb, "status") || !strcmp(verb, "pause") || !strcmp(verb, "resume") ||
	    !strcmp(verb, "stop") || !strcmp(verb, "shutdown") || !strcmp(verb, "reboot") ||
	    !strcmp(verb, "balloon") || !strcmp(verb, "balloon-stats") ||
	    !strcmp(verb, "snapshot") || !strcmp(verb, "migrate") || !strcmp(verb, "fork") ||
	    !strcmp(verb, "rate-limit") || !strcmp(verb, "exec") || !strcmp(verb, "exec-input") ||
	    !strcmp(verb, "exec-resize") || !strcmp(verb, "disk-insert") ||
	    !strcmp(verb, "disk-eject") || !strcmp(verb, "nic-insert") ||
	    !strcmp(verb, "nic-eject"))
		vm_verb = true;
	else if (!strcmp(verb, "events"))
		vm_verb = false;
	else {
		out = reply_error(id, "unknown-verb", "%.64s: unknown verb (known: %s)", verb, known);
		cJSON_Delete(req);
		return out;
	}
	if (!vm_verb)
		out = reply_error(id, "invalid-request", "events: only on a control socket");
	else if (!vm)
		out = reply_error(id, "not-running", "%s: no VM", verb);
	else if (!strcmp(verb, "status"))
		out = verb_status(vm, id);
	else if (!strcmp(verb, "pause"))
		out = verb_pause(vm, id);
	else if (!strcmp(verb, "resume"))
		out = verb_resume(vm, id, req);
	else if (!strcmp(verb, "stop")) {
		vm_request_stop(vm);
		out = print(reply_ok(id));
	} else if (!strcmp(verb, "shutdown"))
		out = verb_shutdown(vm, id, req);
	else if (!strcmp(verb, "reboot")) {
		struct err e = {0};
		int rc = vm_reboot(vm, &e);
		out = rc ? reply_error(id, api_code(rc), "reboot: %s", e.msg) : print(reply_ok(id));
	} else if (!strcmp(verb, "balloon"))
		out = verb_balloon(vm, id, req);
	else if (!strcmp(verb, "snapshot"))
		out = verb_snapshot(vm, id, req, em);
	else if (!strcmp(verb, "migrate"))
		out = verb_migrate(vm, id, req, em);
	else if (!strcmp(verb, "fork"))
		out = verb_fork(vm, id, req, em);
	else if (!strcmp(verb, "rate-limit"))
		out = verb_rate_limit(vm, id, req);
	else if (!strcmp(verb, "exec"))
		out = verb_exec(vm, id, req, em);
	else if (!strcmp(verb, "disk-insert") || !strcmp(verb, "disk-eject"))
		out = verb_disk(vm, id, req, em, verb[5] == 'i');
	else if (!strcmp(verb, "nic-insert") || !strcmp(verb, "nic-eject"))
		out = verb_nic(vm, id, req, em, verb[4] == 'i');
	else if (!strcmp(verb, "exec-input") || !strcmp(verb, "exec-resize"))
		out = verb_exec_more(vm, id, req, verb[5] == 'r');
	else
		out = verb_balloon_stats(vm, id);
	cJSON_Delete(req);
	return out;
}

char *vm_control_handle(struct vm *vm, const char *line, unsigned long len)
{
	return handle(vm, line, len, NULL);
}

/* ---- connections ------------------------------------------------------- */

static void conn_close(struct conn *k)
{
	for (unsigned i = 0; i < k->npass; i++)
		close(k->pass[i]);
	k->npass = 0;
	if (k->fd >= 0)
		close(k->fd);
	free(k->out);
	k->out = NULL;
	k->fd = -1;
	k->in_len = k->out_len = 0;
	k->busy = k->events = k->closing = false;
}

/* Queues a line (adds the newline); lock held.  A full buffer closes it. */
static void conn_queue(struct conn *k, const char *line)
{
	size_t n = strlen(line);
	if (k->fd < 0 || k->closing)
		return;
	if (n + 1 > OUT_MAX - k->out_len) {
		/* The client does not read (events, or a guest's output beyond
		 * what flow control allows for): it cannot block anyone, so it goes. */
		shutdown(k->fd, SHUT_RDWR);
		k->closing = true;
		k->out_len = 0;
		return;
	}
	memcpy(k->out + k->out_len, line, n);
	k->out[k->out_len + n] = '\n';
	k->out_len += n + 1;
}

struct job {
	struct vm_control *c;
	unsigned slot;
	uint64_t gen;
	int fds[CONN_MAX_FDS];        /* passed with the request */
	unsigned nfds;
	size_t len;
	char line[];
};

static void *worker(void *arg)
{
	struct job *j = arg;
	struct vm_control *c = j->c;
	struct emitter em = { c, j->slot, j->gen, j->fds, j->nfds };
	char *reply = handle(c->vm, j->line, j->len, &em);
	for (unsigned i = 0; i < j->nfds; i++)
		close(j->fds[i]);
	pthread_mutex_lock(&c->lock);
	struct conn *k = &c->conn[j->slot];
	if (k->fd >= 0 && k->gen == j->gen) {
		if (reply)
			conn_queue(k, reply);
		else   /* out of memory: still one reply per request */
			conn_queue(k, "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"internal\","
				      "\"message\":\"out of memory\"}}");
		k->busy = false;
		k->last_ns = vclock_host_ns();
	}
	if (--c->workers == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	wake(c);
	free(reply);
	free(j);
	return NULL;
}

/* Is this line {"verb":"events",...}?  Answers it here; lock held. */
static bool take_events(struct vm_control *c, struct conn *k, const char *line, size_t len)
{
	cJSON *req;
	const cJSON *id;
	const char *verb = NULL;
	char *err = parse_request(line, len, &req, &id, &verb);
	bool mine = !err && !strcmp(verb, "events");
	if (mine) {
		char *ok = print(reply_ok(id));
		if (ok) {
			conn_queue(k, ok);
			k->events = c->vm != NULL;
		}
		free(ok);
	}
	free(err);
	cJSON_Delete(req);
	return mine;
}

/* Starts the next complete request line of k, if any and none runs; lock held. */
static void dispatch(struct vm_control *c, unsigned slot)
{
	struct conn *k = &c->conn[slot];
	while (k->fd >= 0 && !k->busy && !k->closing) {
		char *nl = memchr(k->in, '\n', k->in_len);
		if (!nl) {
			if (k->in_len == sizeof k->in) {
				char *e = reply_error(NULL, "too-long", "request longer than %d bytes",
						      VM_CONTROL_MAX_LINE - 1);
				if (e)
					conn_queue(k, e);
				free(e);
				k->closing = true;
			}
			return;
		}
		size_t len = (size_t)(nl - k->in);
		if (len && k->in[len - 1] == '\r')
			len--;
		k->last_ns = vclock_host_ns();
		bool blank = len == 0;
		bool handled = blank || take_events(c, k, k->in, len);
		if (!handled) {
			struct job *j = malloc(sizeof *j + len + 1);
			pthread_t t;
			pthread_attr_t at;
			bool started = false;
			if (j) {
				*j = (struct job){ .c = c, .slot = slot, .gen = k->gen, .len = len };
				/* Descriptors go with the request read when they came. */
				memcpy(j->fds, k->pass, sizeof j->fds);
				j->nfds = k->npass;
				k->npass = 0;
				memcpy(j->line, k->in, len);
				j->line[len] = 0;
				pthread_attr_init(&at);
				pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
				started = pthread_create(&t, &at, worker, j) == 0;
				pthread_attr_destroy(&at);
			}
			if (!started) {
				free(j);
				char *e = reply_error(NULL, "internal", "cannot start a worker thread");
				if (e)
					conn_queue(k, e);
				free(e);
			} else {
				k->busy = true;
				c->workers++;
			}
		}
		size_t used = (size_t)(nl - k->in) + 1;
		k->in_len -= used;
		memmove(k->in, k->in + used, k->in_len);
	}
}

/* The VM's events, to every subscriber (any thread, VM listener lock held). */
static void on_event(void *ctx, const struct vm_event *ev)
{
	struct vm_control *c = ctx;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", vm_event_name(ev->kind));
	cJSON_AddNumberToObject(o, "time_ns", (double)ev->time_ns);
	if (ev->source[0])
		cJSON_AddStringToObject(o, "source", ev->source);
	cJSON_AddStringToObject(o, "detail", ev->detail);
	if (ev->kind == VM_EVENT_MIGRATION) {
		const struct vm_migration_progress *m = &ev->mig;
		cJSON *j = cJSON_AddObjectToObject(o, "migration");
		cJSON_AddStringToObject(j, "stage", m->stage ? m->stage : "");
		cJSON_AddNumberToObject(j, "round", m->round);
		cJSON_AddNumberToObject(j, "pages_sent", (double)m->pages_sent);
		cJSON_AddNumberToObject(j, "bytes_sent", (double)m->bytes_sent);
		cJSON_AddNumberToObject(j, "pages_left", (double)m->pages_left);
		cJSON_AddNumberToObject(j, "dirty_pages_per_s", m->dirty_pages_per_s);
		cJSON_AddNumberToObject(j, "expected_downtime_ms", m->expected_downtime_ms);
	}
	char *line = print(o);
	if (!line)
		return;
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < VM_CONTROL_MAX_CLIENTS; i++)
		if (c->conn[i].fd >= 0 && c->conn[i].events)
			conn_queue(&c->conn[i], line);
	pthread_mutex_unlock(&c->lock);
	free(line);
	wake(c);
}

static bool peer_is_owner(const struct vm_control *c, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.uid == c->owner;
}

/* A free slot for a new connection, making room if all are taken; lock held. */
static int free_slot(struct vm_control *c)
{
	int idle = -1;
	for (unsigned i = 0; i < VM_CONTROL_MAX_CLIENTS; i++) {
		struct conn *k = &c->conn[i];
		if (k->fd < 0)
			return (int)i;
		if (!k->busy && !k->events && !k->in_len && !k->out_len &&
		    (idle < 0 || k->last_ns < c->conn[idle].last_ns))
			idle = (int)i;
	}
	if (idle >= 0)
		conn_close(&c->conn[idle]);
	return idle;
}

/*
 * Sends a refusal line and closes.  Pending input is read first: closing a
 * Unix socket with unread data makes the peer's next read fail with
 * ECONNRESET before it sees the refusal.
 */
static void refuse(int fd, const char *line, size_t len)
{
	ssize_t n = send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)n;
	shutdown(fd, SHUT_WR);
	char scratch[512];
	while (recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0)
		;
	close(fd);
}

static void accept_one(struct vm_control *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (!peer_is_owner(c, fd)) {
		static const char denied[] = "{\"id\":null,\"ok\":false,\"error\":{\"code\":"
			"\"permission-denied\",\"message\":\"only the VM's owner may connect\"}}\n";
		refuse(fd, denied, sizeof denied - 1);
		return;
	}
	pthread_mutex_lock(&c->lock);
	int s = free_slot(c);
	char *out = s >= 0 ? malloc(OUT_MAX) : NULL;
	if (s < 0 || !out) {
		pthread_mutex_unlock(&c->lock);
		free(out);
		static const char full[] = "{\"id\":null,\"ok\":false,\"error\":{\"code\":"
			"\"too-many-clients\",\"message\":\"every control connection is busy\"}}\n";
		refuse(fd, full, sizeof full - 1);
		return;
	}
	struct conn *k = &c->conn[s];
	if (k->throttled)   /* its last client held the port: let it go */
		c->agent_resume = true;
	*k = (struct conn){ .fd = fd, .gen = ++c->next_gen, .out = out,
			    .last_ns = vclock_host_ns() };
	pthread_mutex_unlock(&c->lock);
}

/* recv, keeping descriptors passed along (SCM_RIGHTS) for the next request;
 * more than CONN_MAX_FDS waiting are closed. */
static ssize_t recv_fds(struct conn *k, void *buf, size_t len)
{
	struct iovec v = { buf, len };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * CONN_MAX_FDS)];
	} cm;
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = cm.b,
			    .msg_controllen = sizeof cm.b };
	ssize_t r = recvmsg(k->fd, &m, MSG_CMSG_CLOEXEC);
	if (r < 0)
		return r;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned n = (unsigned)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (unsigned i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
			if (k->npass < CONN_MAX_FDS)
				k->pass[k->npass++] = fd;
			else
				close(fd);
		}
	}
	return r;
}

/* Reads what k has sent; lock held. */
static void conn_read(struct vm_control *c, unsigned slot)
{
	struct conn *k = &c->conn[slot];
	for (;;) {
		if (k->in_len == sizeof k->in) {
			dispatch(c, slot);
			if (k->in_len == sizeof k->in)   /* a request runs: read later */
				return;
		}
		ssize_t r = recv_fds(k, k->in + k->in_len, sizeof k->in - k->in_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) {   /* EOF or error: replies still owed are dropped */
			if (k->busy)
				k->closing = true;   /* the worker's reply is discarded */
			else
				conn_close(k);
			return;
		}
		k->in_len += (size_t)r;
		dispatch(c, slot);
	}
}

static void conn_write(struct conn *k)
{
	while (k->out_len) {
		ssize_t w = send(k->fd, k->out, k->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0) {
			k->out_len = 0;
			k->closing = true;
			return;
		}
		k->out_len -= (size_t)w;
		memmove(k->out, k->out + w, k->out_len);
		k->last_ns = k->progress_ns = vclock_host_ns();
	}
}

/*
 * Flow control of streamed execs (lock held): a throttled client that read
 * down to OUT_LOW, or went, lets the guest agent's port run again; one that
 * read nothing for STALL_MS is closed.  Returns the poll timeout until the
 * next stall is due (-1: none).
 */
static int throttle_check(struct vm_control *c)
{
	int64_t now = vclock_host_ns();
	int timeout = -1;
	for (unsigned i = 0; i < VM_CONTROL_MAX_CLIENTS; i++) {
		struct conn *k = &c->conn[i];
		if (!k->throttled)
			continue;
		if (k->fd >= 0 && !k->closing && k->out_len >= OUT_LOW) {
			int64_t left_ms = (k->progress_ns - now) / 1000000 + STALL_MS;
			if (left_ms > 0) {
				if (timeout < 0 || left_ms < timeout)
					timeout = (int)left_ms;
				continue;
			}
			shutdown(k->fd, SHUT_RDWR);   /* stalled: as a client that stopped reading */
			k->closing = true;
			k->out_len = 0;
		}
		k->throttled = false;
		c->agent_resume = true;
	}
	return timeout;
}

static void *control_thread(void *arg)
{
	struct vm_control *c = arg;
	struct pollfd pf[2 + VM_CONTROL_MAX_CLIENTS];
	int slot_of[2 + VM_CONTROL_MAX_CLIENTS];
	for (;;) {
		unsigned n = 0;
		pf[n++] = (struct pollfd){ .fd = c->wake_fd, .events = POLLIN };
		pf[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
		pthread_mutex_lock(&c->lock);
		if (c->stopping) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		int timeout = throttle_check(c);
		bool resume = c->agent_resume;
		c->agent_resume = false;
		for (unsigned i = 0; i < VM_CONTROL_MAX_CLIENTS; i++) {
			struct conn *k = &c->conn[i];
			if (k->fd < 0)
				continue;
			if (k->closing && !k->out_len && !k->busy) {
				conn_close(k);
				continue;
			}
			if (k->closing && k->busy)   /* closed when its worker is done */
				continue;
			short ev = 0;
			if (!k->closing && k->in_len < sizeof k->in)
				ev |= POLLIN;
			if (k->out_len)
				ev |= POLLOUT;
			slot_of[n] = (int)i;
			pf[n++] = (struct pollfd){ .fd = k->fd, .events = ev };
		}
		pthread_mutex_unlock(&c->lock);
		/* Outside the lock: the device calls exec_can_output, which takes it. */
		if (resume && vm_agent(c->vm))
			guest_agent_output_ready(vm_agent(c->vm));

		if (poll(pf, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents) {
			uint64_t v;
			ssize_t r = read(c->wake_fd, &v, sizeof v);
			(void)r;
		}
		pthread_mutex_lock(&c->lock);
		for (unsigned p = 2; p < n; p++) {
			struct conn *k = &c->conn[slot_of[p]];
			if (k->fd != pf[p].fd)
				continue;
			short re = pf[p].revents;
			if (re & POLLOUT)
				conn_write(k);
			if (re & POLLIN)
				conn_read(c, (unsigned)slot_of[p]);
			else if (k->fd >= 0 && (re & (POLLHUP | POLLERR))) {
				if (k->busy)
					k->closing = true;
				else
					conn_close(k);
			}
		}
		/* Workers finished: their connections may hold the next request. */
		for (unsigned i = 0; i < VM_CONTROL_MAX_CLIENTS; i++)
			if (c->conn[i].fd >= 0) {
				dispatch(c, i);
				if (c->conn[i].out_len)
					conn_write(&c->conn[i]);
			}
		pthread_mutex_unlock(&c->lock);
		if (pf[1].revents & POLLIN)
			accept_one(c);
	}
	return NULL;
}

/*
 * The path exists.  A socket nobody listens on (its VM was killed, so it
 * could not remove it) is replaced; anything else is refused: a live
 * socket is another VM's, and a file that is not a socket is not ours.
 * Only ECONNREFUSED proves a socket dead; any other failure to connect
 * (EACCES, EAGAIN from a full backlog) leaves it alone.
 */
static int replace_stale(int fd, const struct sockaddr_un *sa, struct err *err)
{
	const char *path = sa->sun_path;
	struct stat st;
	if (lstat(path, &st) < 0)
		return err_set(err, -errno, "--control %s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return err_set(err, -EEXIST, "--control %s: exists and is not a socket", path);
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);   /* a full backlog: EAGAIN, not a wait */
	if (probe < 0)
		return err_set(err, -errno, "--control %s: socket: %s", path, strerror(errno));
	int r = connect(probe, (const struct sockaddr *)sa, sizeof *sa), e = errno;
	close(probe);
	if (r == 0)
		return err_set(err, -EADDRINUSE, "--control %s: in use by a running VM", path);
	if (e != ECONNREFUSED)
		return err_set(err, -e, "--control %s: exists and cannot be probed: %s", path,
			       strerror(e));
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set(err, -errno, "--control %s: cannot remove the stale socket: %s", path,
			       strerror(errno));
	if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0)
		return err_set(err, -errno, "--control %s: %s", path, strerror(errno));
	return 0;
}

int vm_control_start(struct vm *vm, const char *path, struct vm_control **out, struct err *err)
{
	*out = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return err_set(err, -ENAMETOOLONG, "--control %s: path too long (at most %zu bytes)",
			       path, sizeof sa.sun_path - 1);
	struct vm_control *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(err, -ENOMEM, "out of memory");
	c->vm = vm;
	c->wake_fd = -1;
	c->listener = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->idle, NULL);
	for (unsigned i = 0; i < VM_CONTROL_MAX_CLIENTS; i++)
		c->conn[i].fd = -1;
	strcpy(c->path, path);
	strcpy(sa.sun_path, path);
	c->owner = geteuid();
	int rc;
	bool bound = false;
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0) {
		rc = err_set(err, -errno, "--control %s: socket: %s", path, strerror(errno));
		goto fail;
	}
	if (bind(c->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		rc = errno == EADDRINUSE ? replace_stale(c->listen_fd, &sa, err)
					 : err_set(err, -errno, "--control %s: %s", path, strerror(errno));
		if (rc)
			goto fail;
	}
	bound = true;
	/* The owner only (SO_PEERCRED is checked too: this closes the window
	 * between bind and chmod, and covers filesystems that ignore modes). */
	if (chmod(path, 0600) < 0 || listen(c->listen_fd, 64) < 0) {
		rc = err_set(err, -errno, "--control %s: %s", path, strerror(errno));
		goto fail;
	}
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		rc = err_set(err, -errno, "--control %s: eventfd: %s", path, strerror(errno));
		goto fail;
	}
	if (vm && (c->listener = vm_add_listener(vm, on_event, c)) < 0) {
		rc = err_set(err, c->listener, "--control %s: too many event listeners", path);
		goto fail;
	}
	if ((rc = -pthread_create(&c->thread, NULL, control_thread, c))) {
		err_set(err, rc, "--control %s: thread: %s", path, strerror(-rc));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (vm && c->listener >= 0)
		vm_remove_listener(vm, c->listener);
	if (bound)
		unlink(path);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->idle);
	free(c);
	return rc;
}

void vm_control_stop(struct vm_control *c)
{
	if (!c)
		return;
	if (c->vm && c->listener >= 0)
		vm_remove_listener(c->vm, c->listener);   /* no on_event after this */
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_mutex_unlock(&c->lock);
	wake(c);
	pthread_join(c->thread, NULL);
	/* Output held for a client would keep its exec's worker waiting: once
	 * stopping, exec_can_output lets it all through, and the port runs.
	 * (Replies still owed are queued and flushed below, as before.) */
	if (c->vm && vm_agent(c->vm))
		guest_agent_output_ready(vm_agent(c->vm));
	pthread_mutex_lock(&c->lock);
	while (c->workers)   /* they hold c; their replies go nowhere now */
		pthread_cond_wait(&c->idle, &c->lock);
	for (unsigned i = 0; i < VM_CONTROL_MAX_CLIENTS; i++)
		if (c->conn[i].fd >= 0) {
			conn_write(&c->conn[i]);   /* what is ready, without waiting */
			conn_close(&c->conn[i]);
		}
	pthread_mutex_unlock(&c->lock);
	close(c->listen_fd);
	close(c->wake_fd);
	unlink(c->path);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->idle);
	free(c);
}
