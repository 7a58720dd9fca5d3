/*
 * `nimbus vm control SOCKET exec ...`: the client side of the control
 * protocol's exec verbs (docs/control.md, docs/guest-agent.md).  A plain
 * exec streams the command's output to ours and exits with its status; -t
 * runs it on a terminal in the guest: the exec's connection carries its
 * output, a second connection its input (exec-input) and window changes
 * (exec-resize, from SIGWINCH through a signalfd), with this terminal in
 * raw mode until it ends.
 */
#include "cli/vm_control.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "vmm/agent_proto.h"

/* What `exec` exits with: the command's status, 128 + a signal, 124 for a
 * timeout (as timeout(1)); 1 when it could not be run. */
static int exec_status(const cJSON *o)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "exit_code");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "timed_out")))
		return 124;
	if (cJSON_IsNumber(c))
		return c->valueint;
	return 128 + (int)vmc_num(o, "signal");
}

/* ---- exec -t: a terminal in the guest ---------------------------------- */

static void term_size(unsigned *rows, unsigned *cols)
{
	struct winsize ws;
	*rows = 24;
	*cols = 80;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row > 1000 ? 1000 : ws.ws_row;
		*cols = ws.ws_col > 1000 ? 1000 : ws.ws_col;
	}
}

/* Sends o (taken) as one request line on fd; 0 or -1. */
static int send_obj(int fd, cJSON *o)
{
	char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!line)
		return -1;
	size_t n = strlen(line);
	int rc = 0;
	line[n] = '\n';
	for (size_t off = 0; off < n + 1 && rc == 0;) {
		ssize_t w = send(fd, line + off, n + 1 - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = -1;
		else
			off += (size_t)w;
	}
	free(line);
	return rc;
}

static cJSON *session_req(double session, const char *verb)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", 0);
	cJSON_AddStringToObject(o, "verb", verb);
	cJSON_AddNumberToObject(o, "session", session);
	return o;
}

/*
 * The terminal side of a tty exec whose request went out on r->fd: output to
 * our stdout, our stdin (raw, when a terminal) and window size to the
 * session through a second connection (the first is busy with the exec
 * until it ends).  Returns the final reply, or NULL (reported).
 */
static char *tty_session(const char *path, struct reader *r, bool json)
{
	struct termios saved;
	bool raw = false;
	int in = STDIN_FILENO, fd2 = -1;
	double session = 0;
	struct reader r2 = { .fd = -1 };
	char *reply = NULL;
	/* Window changes as a readable fd: no handler, no global flag. */
	sigset_t winch;
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	sigprocmask(SIG_BLOCK, &winch, NULL);
	int sfd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
	for (;;) {
		/* Every complete line from the exec's connection first. */
		while (memchr(r->buf ? r->buf : "", '\n', r->buf ? r->len : 0) || !r->buf) {
			if (!r->buf) {   /* nothing read yet: wait for the first line */
				if (!(reply = vmc_read_line(r, path, -1)))
					goto out;
			} else {
				reply = vmc_read_line(r, path, -1);
			}
			cJSON *o = cJSON_Parse(reply);
			const cJSON *sn = cJSON_GetObjectItemCaseSensitive(o, "session");
			bool done = cJSON_GetObjectItemCaseSensitive(o, "ok") != NULL;
			if (json && !done)
				printf("%s\n", reply);
			if (done) {
				cJSON_Delete(o);
				goto out;
			}
			if (cJSON_IsNumber(sn) && fd2 < 0) {
				session = sn->valuedouble;
				fd2 = vmc_connect(path);
				r2.fd = fd2;
				if (isatty(in) && tcgetattr(in, &saved) == 0) {
					struct termios t = saved;
					cfmakeraw(&t);
					raw = tcsetattr(in, TCSANOW, &t) == 0;
				}
			} else if (!json) {
				const char *d = vmc_str(o, "data");
				if (write(STDOUT_FILENO, d, strlen(d)) < 0)
					in = -1;
			}
			cJSON_Delete(o);
			free(reply);
			reply = NULL;
		}
		struct signalfd_siginfo si;
		if (sfd >= 0 && read(sfd, &si, sizeof si) == (ssize_t)sizeof si && fd2 >= 0) {
			unsigned rows, cols;
			term_size(&rows, &cols);
			cJSON *o = session_req(session, "exec-resize");
			cJSON_AddNumberToObject(o, "rows", rows);
			cJSON_AddNumberToObject(o, "cols", cols);
			send_obj(fd2, o);
		}
		struct pollfd pf[4] = {
			{ .fd = r->fd, .events = POLLIN },
			{ .fd = fd2, .events = POLLIN },
			{ .fd = fd2 >= 0 ? in : -1, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		if (poll(pf, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents) {
			char *nb = realloc(r->buf, MAX_REPLY + 1);
			if (!nb)
				break;
			r->buf = nb;
			ssize_t n = read(r->fd, r->buf + r->len, MAX_REPLY - r->len);
			if (n <= 0) {
				cli_error("vm control %s: the VM closed the connection", path);
				break;
			}
			r->len += (size_t)n;
		}
		if (fd2 >= 0 && pf[1].revents) {   /* the input requests' replies */
			char *nb = realloc(r2.buf, MAX_REPLY + 1);
			ssize_t n = nb ? read(fd2, nb + r2.len, MAX_REPLY - r2.len) : -1;
			if (nb)
				r2.buf = nb;
			if (n <= 0) {
				close(fd2);
				fd2 = -1;
			} else {
				r2.len = 0;   /* ok replies say nothing; an exec that ended answers on fd 1 */
			}
		}
		if (fd2 >= 0 && pf[2].revents) {
			char buf[1024];
			ssize_t n = read(in, buf, sizeof buf - 1);
			cJSON *o = session_req(session, "exec-input");
			if (n <= 0) {
				cJSON_AddTrueToObject(o, "eof");
				in = -1;
			} else {
				buf[n] = 0;   /* (a NUL byte typed ends the piece early) */
				cJSON_AddStringToObject(o, "data", buf);
			}
			send_obj(fd2, o);
		}
	}
out:
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (fd2 >= 0)
		close(fd2);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_UNBLOCK, &winch, NULL);
	free(r2.buf);
	return reply;
}

/* `vm control SOCKET exec [-t] [--timeout S] [--env K=V]... [--cwd DIR] [--stdin] -- CMD...` */
int vmc_exec(const char *path, bool json, int argc, char **argv)
{
	double timeout_s = -1;
	bool with_stdin = false, tty = false;
	int i = 0;
	cJSON *req = cJSON_CreateObject();
	cJSON *env = cJSON_CreateArray();
	cJSON *args = cJSON_CreateArray();
	const char *cwd = NULL;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "--timeout")) {
			char *end;
			if (i + 1 >= argc || (timeout_s = strtod(argv[i + 1], &end), *end) ||
			    !(timeout_s >= 0 && timeout_s <= 86400)) {
				cli_error("vm control: exec --timeout: needs seconds, 0 (none) to 86400");
				goto usage;
			}
			i++;
		} else if (!strcmp(a, "--env")) {
			if (i + 1 >= argc || !strchr(argv[i + 1], '=') || argv[i + 1][0] == '=') {
				cli_error("vm control: exec --env: needs NAME=VALUE");
				goto usage;
			}
			cJSON_AddItemToArray(env, cJSON_CreateString(argv[++i]));
		} else if (!strcmp(a, "--cwd")) {
			if (i + 1 >= argc) {
				cli_error("vm control: exec --cwd: needs a directory");
				goto usage;
			}
			cwd = argv[++i];
		} else if (!strcmp(a, "--stdin")) {
			with_stdin = true;
		} else if (!strcmp(a, "-t") || !strcmp(a, "--tty")) {
			tty = true;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (a[0] == '-') {
			cli_error("vm control: exec %s: unknown option (try --help)", a);
			goto usage;
		} else {
			break;
		}
	}
	if (i >= argc) {
		cli_error("vm control: exec: no command (vm control SOCKET exec -- CMD [ARGS])");
		goto usage;
	}
	for (; i < argc; i++)
		cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
	cJSON_AddNumberToObject(req, "id", 1);
	cJSON_AddStringToObject(req, "verb", "exec");
	cJSON_AddItemToObject(req, "argv", args);
	cJSON_AddItemToObject(req, "env", env);
	cJSON_AddTrueToObject(req, "stream");   /* output as it comes */
	if (!tty && !json)   /* the bytes exactly, binary too (text for --json's readers) */
		cJSON_AddTrueToObject(req, "output_pct");
	if (tty) {
		unsigned rows, cols;
		term_size(&rows, &cols);
		cJSON *t = cJSON_AddObjectToObject(req, "tty");
		cJSON_AddNumberToObject(t, "rows", rows);
		cJSON_AddNumberToObject(t, "cols", cols);
		const char *term = getenv("TERM");
		if (term && *term && strlen(term) < 64) {
			char te[80];
			snprintf(te, sizeof te, "TERM=%s", term);
			cJSON_AddItemToArray(env, cJSON_CreateString(te));
		}
		if (with_stdin) {
			cli_error("vm control: exec -t: a terminal reads this command's input "
				  "itself (drop --stdin)");
			goto usage;
		}
	}
	args = env = NULL;
	if (cwd)
		cJSON_AddStringToObject(req, "cwd", cwd);
	if (timeout_s >= 0)
		cJSON_AddNumberToObject(req, "timeout_ms", (double)(long long)(timeout_s * 1000));
	if (with_stdin) {
		/* A request is one line of at most 4095 bytes: stdin is small input. */
		char buf[4096];
		size_t n = fread(buf, 1, sizeof buf - 1, stdin);
		if (n == sizeof buf - 1) {
			cli_error("vm control: exec --stdin: more than %zu bytes of input", n - 1);
			goto usage;
		}
		buf[n] = 0;
		if (strlen(buf) != n) {
			cli_error("vm control: exec --stdin: input holds a NUL byte");
			goto usage;
		}
		cJSON_AddStringToObject(req, "stdin", buf);
	}
	char *line = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!line) {
		cli_error("vm control: out of memory");
		return 1;
	}
	size_t n = strlen(line);
	if (n >= 4095) {
		cli_error("vm control: exec: the request is %zu bytes, over the protocol's 4095", n);
		free(line);
		return 2;
	}
	int fd = vmc_send_request(path, line);
	if (fd < 0)
		return -fd;
	struct reader r = { .fd = fd };
	int wait = timeout_s == 0 ? -1 : (int)((timeout_s < 0 ? 60 : timeout_s) * 1000) + 15000;
	char *reply = NULL;
	cJSON *o = NULL;
	const cJSON *ok = NULL;
	if (tty && (reply = tty_session(path, &r, json))) {
		o = cJSON_Parse(reply);
		ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
	}
	/* Output lines ({"stream", "data"}) until the reply ({"ok"}). */
	while (!tty && (reply = vmc_read_line(&r, path, wait))) {
		o = cJSON_Parse(reply);
		ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
		if (ok)
			break;
		const char *which = vmc_str(o, "stream");
		if (json) {
			printf("%s\n", reply);
		} else if (*which) {
			FILE *to = !strcmp(which, "stderr") ? stderr : stdout;
			const cJSON *pct = cJSON_GetObjectItemCaseSensitive(o, "data_pct");
			uint8_t raw[AGENT_CHUNK_MAX];
			long k = cJSON_IsString(pct) ? agent_decode(pct->valuestring,
								    strlen(pct->valuestring), raw,
								    sizeof raw) : -1;
			if (k >= 0)
				fwrite(raw, 1, (size_t)k, to);
			else   /* a VMM that predates output_pct sends text */
				fputs(vmc_str(o, "data"), to);
			if (to == stdout)
				fflush(stdout);
		}
		cJSON_Delete(o);
		o = NULL;
		free(reply);
	}
	int status = 1;
	if (!reply) {
		if (!r.len)
			cli_error("vm control %s: no reply", path);
	} else if (json) {
		printf("%s\n", reply);
		status = cJSON_IsTrue(ok) ? exec_status(o) : 1;
	} else if (!cJSON_IsBool(ok)) {
		cli_error("vm control: not a reply: %.200s", reply);
	} else if (cJSON_IsFalse(ok)) {
		cli_error("%s", vmc_str(cJSON_GetObjectItemCaseSensitive(o, "error"), "message"));
	} else {
		fputs(vmc_str(o, "stdout"), stdout);
		fflush(stdout);
		fputs(vmc_str(o, "stderr"), stderr);
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stdout_truncated")) ||
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stderr_truncated")))
			cli_error("exec: output truncated (a reply keeps at most 32 KiB of each stream)");
		status = exec_status(o);
		if (status == 124)
			cli_error("exec: timed out: the command was killed");
	}
	cJSON_Delete(o);
	free(reply);
	free(r.buf);
	close(fd);
	return status;
usage:
	cJSON_Delete(req);
	cJSON_Delete(env);
	cJSON_Delete(args);
	return 2;
}

