/*
 * An interactive exec in a VM (driver.h exec_stream), through the VMM's
 * control socket and the guest agent (docs/control.md `exec`,
 * docs/guest-agent.md).  The `exec` request goes with `"stream": true` on
 * one connection, which then carries the output lines and the final reply.
 * Input goes as `exec-input` requests on a second connection, one at a time
 * (each waits for its reply), to the session the first stream line names:
 *
 *  - on a terminal (`"tty"`), keystrokes as they come, and window changes
 *    as `exec-resize`;
 *  - without one, a small input that has ended within the first
 *    INLINE_MAX bytes goes whole in the request's `stdin` (any VMM and
 *    agent take that); anything more is streamed (`"stdin_stream": true`,
 *    `exec-input` with `data_pct`), which the agent takes at the pace the
 *    command reads it, acknowledging each piece (docs/guest-agent.md), so
 *    input of any size passes without the VMM or the daemon holding it.
 *    An agent too old for that is refused by the VMM with a message.
 */
#include "daemon/driver.h"
#include "daemon/exec_session.h"
#include "daemon/request.h"
#include "vmm/agent_proto.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_MAX 4096             /* the control protocol's request line, with its newline */
#define LINE_MAX_BYTES (64 * 1024)   /* an output line: 4 KiB of data, escaped */
#define INLINE_MAX 2048              /* input sent whole in the request, at most */
#define TTY_PIECE 512                /* keystrokes per exec-input: JSON-escaped, under a line */
#define STREAM_PIECE 1200            /* input bytes per exec-input: percent-encoded, under a line */
#define GRACE_S 15                   /* past the command's timeout, for the agent to report */

static int connect_control(const struct driver_ctx *c, const struct instance *in, struct err *e)
{
	char path[4096];
	int rc = instance_path(c, in->name, "control.sock", path, sizeof path, e);
	if (rc < 0)
		return rc;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return err_set(e, -ENAMETOOLONG, "vm \"%s\": %s: too long for a socket", in->name,
			       path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		rc = err_set(e, -errno, "vm \"%s\": control socket %s: %s", in->name, path,
			     strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

/* Sends o (deleted) as one request line; -E2BIG if it is too long. */
static int send_req(int fd, cJSON *o)
{
	char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!line)
		return -ENOMEM;
	size_t n = strlen(line);
	if (n >= REQUEST_MAX) {
		free(line);
		return -E2BIG;
	}
	line[n] = '\n';
	ssize_t w = send(fd, line, n + 1, MSG_NOSIGNAL);
	free(line);
	return w == (ssize_t)(n + 1) ? 0 : -EPIPE;
}

static cJSON *session_req(uint64_t session, const char *verb)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", 1);
	cJSON_AddStringToObject(o, "verb", verb);
	cJSON_AddNumberToObject(o, "session", (double)session);
	return o;
}

/* The next exec-input of the client's pending input (or its end), or NULL
 * when there is nothing to send.  A terminal's keys go as text (a NUL byte,
 * which a JSON string cannot hold, is dropped: only ^@ types one); a
 * stream's bytes percent-encoded, any bytes. */
static cJSON *next_input(uint64_t session, struct exec_client *x, bool tty, bool *eof_sent)
{
	if (x->in_off < x->in_len) {
		size_t max = tty ? TTY_PIECE : STREAM_PIECE, n = x->in_len - x->in_off;
		if (n > max)
			n = max;
		const uint8_t *p = x->in + x->in_off;
		cJSON *o = session_req(session, "exec-input");
		if (tty) {
			char piece[TTY_PIECE + 1];
			size_t k = 0;
			for (size_t i = 0; i < n; i++)
				if (p[i])
					piece[k++] = (char)p[i];
			piece[k] = 0;
			cJSON_AddStringToObject(o, "data", piece);
		} else {
			struct agent_buf b = { 0 };
			agent_buf_enc(&b, p, n);
			agent_buf_str(&b, "");
			cJSON_AddStringToObject(o, "data_pct", b.p && !b.oom ? b.p : "");
			agent_buf_free(&b);
		}
		exec_client_took(x, n);
		return o;
	}
	if (x->in_eof && !*eof_sent) {
		*eof_sent = true;
		cJSON *o = session_req(session, "exec-input");
		cJSON_AddTrueToObject(o, "eof");
		return o;
	}
	return NULL;
}

/* Without a terminal: reads the client's input until it ends or passes
 * INLINE_MAX bytes (or holds a NUL, which a JSON string cannot).  The bytes
 * read go to *out (NUL-terminated, *len of them); *whole says they are all
 * of it, to go in the request's `stdin`. */
static int first_input(struct exec_client *x, char **out, size_t *len, bool *whole,
		       struct err *e)
{
	char *buf = malloc(INLINE_MAX + 2 * EXEC_FRAME_MAX + 8192 + 1);
	if (!buf)
		return err_set(e, -ENOMEM, "out of memory");
	*len = 0;
	bool nul = false;
	while (!x->in_eof && *len <= INLINE_MAX && !nul) {
		if (x->in_off == x->in_len) {
			struct pollfd pf[2] = { { .fd = x->fd, .events = POLLIN },
						{ .fd = x->closing, .events = POLLIN } };
			if (poll(pf, 2, -1) < 0 && errno != EINTR)
				break;
			if (pf[1].revents) {
				free(buf);
				return err_set(e, -ECANCELED, "the daemon is stopping");
			}
			if (pf[0].revents)
				exec_client_read(x);
			if (x->gone) {
				free(buf);
				return err_set(e, -ECONNRESET, "the client went away");
			}
		}
		size_t n = x->in_len - x->in_off;
		memcpy(buf + *len, x->in + x->in_off, n);
		nul = memchr(buf + *len, 0, n) != NULL;
		*len += n;
		exec_client_took(x, n);
	}
	buf[*len] = 0;
	*whole = x->in_eof && *len <= INLINE_MAX && !nul;
	*out = buf;
	return 0;
}

/* The reply's outcome: the exit status, or an error. */
static int outcome(const cJSON *j, const struct instance *in, const struct exec_req *rq,
		   struct err *e)
{
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok"))) {
		const cJSON *er = cJSON_GetObjectItemCaseSensitive(j, "error");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(er, "message");
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(er, "code");
		bool noagent = cJSON_IsString(code) && (!strcmp(code->valuestring, "no-agent") ||
						       !strcmp(code->valuestring, "agent-not-running") ||
						       !strcmp(code->valuestring, "agent-too-old"));
		return err_set(e, noagent ? -ENOSYS : -EIO, "vm \"%s\": %s", in->name,
			       cJSON_IsString(m) ? m->valuestring : "the VMM refused the exec");
	}
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "exit_code");
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(j, "signal");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "timed_out")))
		return err_set(e, -ETIMEDOUT, "vm \"%s\": %s did not end within %d s (killed)",
			       in->name, rq->argv[0], rq->timeout_s);
	if (cJSON_IsNumber(code))
		return code->valueint;
	return 128 + (cJSON_IsNumber(sig) ? sig->valueint : 0);
}

int vmm_exec_stream(const struct driver_ctx *c, const struct instance *in,
		    const struct exec_req *rq, struct exec_client *x, struct err *e)
{
	bool tty = rq->tty_rows != 0, whole = false;
	char *input = NULL;
	size_t input_len = 0;
	int rc = tty ? 0 : first_input(x, &input, &input_len, &whole, e);
	if (rc < 0)
		return rc;
	bool stream_in = !tty && !whole;
	int secs = rq->timeout_set ? rq->timeout_s : 0;
	cJSON *req = cJSON_CreateObject();
	cJSON_AddNumberToObject(req, "id", 0);
	cJSON_AddStringToObject(req, "verb", "exec");
	cJSON_AddNumberToObject(req, "version", 1);
	cJSON_AddNumberToObject(req, "timeout_ms", (double)secs * 1000);
	cJSON_AddTrueToObject(req, "stream");
	cJSON_AddTrueToObject(req, "output_pct");   /* the bytes as written (a VMM without it: text) */
	cJSON *av = cJSON_AddArrayToObject(req, "argv");
	for (int i = 0; rq->argv[i]; i++)
		cJSON_AddItemToArray(av, cJSON_CreateString(rq->argv[i]));
	if (tty) {
		cJSON *t = cJSON_AddObjectToObject(req, "tty");
		cJSON_AddNumberToObject(t, "rows", rq->tty_rows);
		cJSON_AddNumberToObject(t, "cols", rq->tty_cols);
	} else if (stream_in) {
		cJSON_AddTrueToObject(req, "stdin_stream");
	} else if (input_len) {
		cJSON_AddStringToObject(req, "stdin", input);
	}
	/* What was read ahead of a stream goes first, as its first pieces. */
	uint8_t *ahead = stream_in ? (uint8_t *)input : NULL;
	size_t ahead_off = 0, ahead_len = stream_in ? input_len : 0;
	if (!stream_in)
		free(input);
	int fd = connect_control(c, in, e), fd2 = -1;
	if (fd < 0) {
		cJSON_Delete(req);
		free(ahead);
		return fd;
	}
	if ((rc = send_req(fd, req)) < 0) {
		close(fd);
		free(ahead);
		return err_set(e, rc, "vm \"%s\": exec: %s", in->name, rc == -E2BIG
			       ? "the command is too long for one control request (4 KiB)"
			       : "the VMM closed its control socket");
	}
	char *buf = malloc(LINE_MAX_BYTES + 1);
	size_t have = 0;
	uint64_t session = 0;
	bool awaiting = false, eof_sent = false;   /* an exec-input is on its way; its end sent */
	int64_t deadline = secs ? (int64_t)time(NULL) + secs + GRACE_S : 0;
	cJSON *reply = NULL;
	rc = buf ? 0 : err_set(e, -ENOMEM, "out of memory");
	while (rc == 0 && !reply) {
		char *nl = memchr(buf, '\n', have);
		if (nl) {
			*nl = 0;
			cJSON *o = cJSON_Parse(buf);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
			const cJSON *sn = cJSON_GetObjectItemCaseSensitive(o, "session");
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "stream");
			const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
			const cJSON *pct = cJSON_GetObjectItemCaseSensitive(o, "data_pct");
			if (cJSON_GetObjectItemCaseSensitive(o, "ok")) {
				reply = o;
				break;
			}
			if (cJSON_IsNumber(sn) && (tty || stream_in) && !session) {
				session = (uint64_t)sn->valuedouble;
				if ((fd2 = connect_control(c, in, e)) < 0)
					rc = fd2;
			} else if (cJSON_IsString(st) && (cJSON_IsString(data) || cJSON_IsString(pct))) {
				unsigned s = !strcmp(st->valuestring, "stderr") ? EXEC_STDERR : EXEC_STDOUT;
				uint8_t raw[AGENT_CHUNK_MAX];
				long n = cJSON_IsString(pct) ? agent_decode(pct->valuestring,
									   strlen(pct->valuestring), raw,
									   sizeof raw)
							     : (long)strlen(data->valuestring);
				const void *bytes = cJSON_IsString(pct) ? (const void *)raw : data->valuestring;
				if (n < 0)
					rc = err_set(e, -EPROTO, "vm \"%s\": exec: output badly encoded by the "
						     "VMM", in->name);
				else if (exec_client_out(x, s, bytes, (size_t)n) < 0)
					rc = err_set(e, -ECONNRESET, "the client went away");
			}
			cJSON_Delete(o);
			continue;
		}
		if (have == LINE_MAX_BYTES) {
			rc = err_set(e, -EPROTO, "vm \"%s\": exec: a line from the VMM longer than %d "
				     "bytes", in->name, LINE_MAX_BYTES);
			break;
		}
		/* One input request at a time: its reply is the flow control. */
		if (fd2 >= 0 && !awaiting) {
			cJSON *o = NULL;
			if (x->resized) {
				o = session_req(session, "exec-resize");
				cJSON_AddNumberToObject(o, "rows", x->rows);
				cJSON_AddNumberToObject(o, "cols", x->cols);
				x->resized = false;
			} else if (ahead_off < ahead_len) {
				/* as if the client sent it now */
				size_t n = ahead_len - ahead_off < STREAM_PIECE ? ahead_len - ahead_off
										 : STREAM_PIECE;
				struct agent_buf b = { 0 };
				agent_buf_enc(&b, ahead + ahead_off, n);
				agent_buf_str(&b, "");
				o = session_req(session, "exec-input");
				cJSON_AddStringToObject(o, "data_pct", b.p && !b.oom ? b.p : "");
				agent_buf_free(&b);
				ahead_off += n;
			} else {
				o = next_input(session, x, tty, &eof_sent);
			}
			if (o)
				awaiting = send_req(fd2, o) == 0;
		}
		bool more_in = ahead_off < ahead_len || x->in_off < x->in_len;
		struct pollfd pf[4] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = session && !more_in && exec_client_wants_read(x) ? x->fd : -1,
			  .events = POLLIN },
			{ .fd = fd2, .events = POLLIN },
			{ .fd = x->closing, .events = POLLIN },
		};
		int wait = -1;
		if (deadline) {
			int64_t left = deadline - (int64_t)time(NULL);
			if (left <= 0) {
				rc = err_set(e, -ETIMEDOUT, "vm \"%s\": the VMM did not answer the exec "
					     "within %d s", in->name, secs + GRACE_S);
				break;
			}
			wait = (int)left * 1000;
		}
		if (poll(pf, 4, wait) < 0) {
			if (errno != EINTR)
				rc = err_set(e, -errno, "poll: %s", strerror(errno));
			continue;
		}
		if (pf[3].revents) {
			rc = err_set(e, -ECANCELED, "the daemon is stopping");
			break;
		}
		if (pf[1].revents) {
			exec_client_read(x);
			if (x->gone)
				rc = err_set(e, -ECONNRESET, "the client went away");
		}
		if (pf[2].revents) {
			/* The input requests' replies: ok, or no-session once the
			 * command has ended, which the main connection reports. */
			char junk[4096];
			ssize_t k = read(fd2, junk, sizeof junk);
			if (k <= 0) {
				close(fd2);
				fd2 = -1;
			} else if (memchr(junk, '\n', (size_t)k)) {
				awaiting = false;
			}
		}
		if (pf[0].revents) {
			ssize_t k = read(fd, buf + have, LINE_MAX_BYTES - have);
			if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
				/* Not -ECONNRESET, which says the client went and gets no
				 * frame: the client must hear why its command's stream
				 * ended.  (A slow reader is not a reason: the VMM holds
				 * the output in the guest; only one that reads nothing for
				 * 60 s is dropped, docs/control.md.) */
				rc = err_set(e, -EPIPE, "vm \"%s\": the VMM closed its control socket "
					     "before the command ended (the VM stopped, or the output "
					     "went unread for 60 s)", in->name);
			else if (k > 0)
				have += (size_t)k;
		}
	}
	if (fd2 >= 0)
		close(fd2);
	close(fd);
	free(buf);
	free(ahead);
	if (rc == 0 && stream_in && !session && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply,
										       "ok")))
		/* A VMM that predates stdin_stream ran it without input. */
		rc = err_set(e, -ENOSYS, "vm \"%s\": its VMM takes no streamed input (it was started "
			     "by an older nimbus: restart the VM); the command ran without its input",
			     in->name);
	if (rc == 0)
		rc = outcome(reply, in, rq, e);
	cJSON_Delete(reply);
	return rc;
}
