/*
 * An interactive exec in a VM (driver.h exec_stream), through the VMM's
 * control socket and the guest agent (docs/control.md `exec`,
 * docs/guest-agent.md).  The `exec` request goes with `"stream": true` on
 * one connection, which then carries the output lines and the final reply;
 * on a terminal (`"tty"`), the first line names the session, and the
 * client's keystrokes and window changes go as `exec-input` and
 * `exec-resize` requests on a second connection.
 *
 * Without a terminal the command's stdin is the request's `stdin` field:
 * the client's whole input is read first (it must end), and it must fit in
 * one control request line, under 4 KiB.  The agent protocol gives a
 * non-terminal exec no streamed input yet; a larger input is refused with
 * a message saying so, never cut short.
 */
#include "daemon/driver.h"
#include "daemon/exec_session.h"
#include "daemon/request.h"

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
#define INPUT_PIECE 512              /* bytes per exec-input: escaped, well under a line */
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

/* Types the client's pending input into the session, a piece at a time.  A
 * NUL byte cannot travel in a JSON string of the control protocol: it is
 * dropped (a terminal's ^@ is all that sends one). */
static int send_input(int fd, uint64_t session, struct exec_client *x)
{
	while (x->in_off < x->in_len) {
		size_t n = x->in_len - x->in_off;
		if (n > INPUT_PIECE)
			n = INPUT_PIECE;
		char piece[INPUT_PIECE + 1];
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (x->in[x->in_off + i])
				piece[k++] = (char)x->in[x->in_off + i];
		piece[k] = 0;
		exec_client_took(x, n);
		if (!k)
			continue;
		cJSON *o = session_req(session, "exec-input");
		cJSON_AddStringToObject(o, "data", piece);
		int rc = send_req(fd, o);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A non-terminal exec's stdin: all of the client's input, which must end
 * and fit in the request.  The string it becomes in *out (NUL-terminated). */
static int collect_stdin(struct exec_client *x, const struct instance *in, char **out,
			 struct err *e)
{
	size_t cap = REQUEST_MAX, len = 0;
	char *buf = malloc(cap + 1);
	if (!buf)
		return err_set(e, -ENOMEM, "out of memory");
	while (!x->in_eof) {
		struct pollfd pf[2] = { { .fd = exec_client_wants_read(x) ? x->fd : -1,
					  .events = POLLIN },
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
		size_t n = x->in_len - x->in_off;
		if (len + n > cap || memchr(x->in + x->in_off, 0, n)) {
			bool nul = len + n <= cap;
			free(buf);
			return err_set(e, nul ? -EINVAL : -E2BIG, "vm \"%s\": stdin: %s; the guest "
				       "agent takes a non-terminal command's input in one request of "
				       "under 4 KiB, without NUL bytes (use a terminal, -t, or a "
				       "container for more)", in->name,
				       nul ? "holds a NUL byte" : "more than 4 KiB");
		}
		memcpy(buf + len, x->in + x->in_off, n);
		len += n;
		exec_client_took(x, n);
	}
	buf[len] = 0;
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
						       !strcmp(code->valuestring, "agent-not-running"));
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
	bool tty = rq->tty_rows != 0;
	char *input = NULL;
	int rc = tty ? 0 : collect_stdin(x, in, &input, e);
	if (rc < 0)
		return rc;
	int secs = rq->timeout_set ? rq->timeout_s : 0;
	cJSON *req = cJSON_CreateObject();
	cJSON_AddNumberToObject(req, "id", 0);
	cJSON_AddStringToObject(req, "verb", "exec");
	cJSON_AddNumberToObject(req, "version", 1);
	cJSON_AddNumberToObject(req, "timeout_ms", (double)secs * 1000);
	cJSON_AddTrueToObject(req, "stream");
	cJSON *av = cJSON_AddArrayToObject(req, "argv");
	for (int i = 0; rq->argv[i]; i++)
		cJSON_AddItemToArray(av, cJSON_CreateString(rq->argv[i]));
	if (tty) {
		cJSON *t = cJSON_AddObjectToObject(req, "tty");
		cJSON_AddNumberToObject(t, "rows", rq->tty_rows);
		cJSON_AddNumberToObject(t, "cols", rq->tty_cols);
	} else if (input && *input) {
		cJSON_AddStringToObject(req, "stdin", input);
	}
	free(input);
	int fd = connect_control(c, in, e), fd2 = -1;
	if (fd < 0) {
		cJSON_Delete(req);
		return fd;
	}
	if ((rc = send_req(fd, req)) < 0) {
		close(fd);
		return err_set(e, rc, "vm \"%s\": exec: %s", in->name, rc == -E2BIG
			       ? "the command and its input are too long for one control request "
				 "(4 KiB)" : "the VMM closed its control socket");
	}
	char *buf = malloc(LINE_MAX_BYTES + 1);
	size_t have = 0;
	uint64_t session = 0;
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
			if (cJSON_GetObjectItemCaseSensitive(o, "ok")) {
				reply = o;
				break;
			}
			if (cJSON_IsNumber(sn) && tty && !session) {
				session = (uint64_t)sn->valuedouble;
				fd2 = connect_control(c, in, e);
				if (fd2 < 0)
					rc = fd2;
			} else if (cJSON_IsString(st) && cJSON_IsString(data)) {
				unsigned s = !strcmp(st->valuestring, "stderr") ? EXEC_STDERR : EXEC_STDOUT;
				if (exec_client_out(x, s, data->valuestring, strlen(data->valuestring)) < 0)
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
		if (session && x->resized) {
			cJSON *o = session_req(session, "exec-resize");
			cJSON_AddNumberToObject(o, "rows", x->rows);
			cJSON_AddNumberToObject(o, "cols", x->cols);
			x->resized = false;
			send_req(fd2, o);   /* a session that just ended answers no-session: no matter */
		}
		if (session && x->in_off < x->in_len)
			send_input(fd2, session, x);
		if (session && x->in_eof) {
			cJSON *o = session_req(session, "exec-input");
			cJSON_AddTrueToObject(o, "eof");
			send_req(fd2, o);
			x->in_eof = false;   /* sent once */
		}
		struct pollfd pf[4] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = session && exec_client_wants_read(x) ? x->fd : -1, .events = POLLIN },
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
			if (read(fd2, junk, sizeof junk) <= 0) {
				close(fd2);
				fd2 = -1;
			}
		}
		if (pf[0].revents) {
			ssize_t k = read(fd, buf + have, LINE_MAX_BYTES - have);
			if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
				rc = err_set(e, -ECONNRESET, "vm \"%s\": the VMM closed its control "
					     "socket (did the VM stop?)", in->name);
			else if (k > 0)
				have += (size_t)k;
		}
	}
	if (fd2 >= 0)
		close(fd2);
	close(fd);
	free(buf);
	if (rc == 0)
		rc = outcome(reply, in, rq, e);
	cJSON_Delete(reply);
	return rc;
}
