/* `nimbus exec [-t|-T] [-n] NAME -- COMMAND...`: run a command in a container
 * or a VM (through its guest agent), its input and output streamed, on a
 * terminal when asked or when this one is a terminal. */
#include "cli/cli.h"
#include "cli/upgrade.h"
#include "daemon/client.h"
#include "daemon/exec_frame.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

static const char usage[] =
	"Usage: nimbus exec [-t|-T] [-n] [--timeout S] [--socket PATH] NAME -- COMMAND [ARG...]\n"
	"\n"
	"Run COMMAND in the running container or VM NAME and exit with its status\n"
	"(128+N when signal N ended it).  In a VM it runs through the guest agent\n"
	"(docs/guest-agent.md), which the default guest has.\n"
	"\n"
	"When this terminal is one (stdin and stdout), or with -t, the command runs on\n"
	"a terminal of its own: this one goes raw, every key (Ctrl-C too) reaches the\n"
	"command, window size changes follow, and the session ends with the command.\n"
	"Otherwise its stdout and stderr come to ours apart, and our stdin, unless it\n"
	"is a terminal or -n is given, is its stdin, streamed to its end\n"
	"(`head -c 1M /dev/urandom | nimbus exec c1 -- sha256sum`), in a VM too (its\n"
	"guest agent takes it as the command reads it: docs/daemon.md).\n"
	"\n"
	"Options:\n"
	"  -t, --tty        run on a terminal even when this is not one\n"
	"  -T, --no-tty     never run on a terminal\n"
	"  -n, --no-stdin   give the command no input (end of file at once)\n"
	"  --timeout S      kill it after S seconds (default: none on a terminal or\n"
	"                   with streamed input; 60 through an https:// daemon)\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

/* Through an https:// daemon: one request, the output in the reply. */
static int exec_plain(const char *sock, const char *path, cJSON *body)
{
	cJSON *reply = NULL;
	int rc = cli_call("exec", sock, "POST", path, body, &reply);
	if (rc == 0) {
		fputs(cli_json_str(reply, "output"), stdout);
		long long st = cli_json_num(reply, "exit_code");
		rc = st >= 0 && st <= 255 ? (int)st : 1;
	}
	cJSON_Delete(reply);
	return rc;
}

struct session {
	int fd;
	int status;                  /* the EXIT frame's; -1 before it */
	char error[1024];            /* an ERROR frame's */
	uint8_t out[EXEC_FRAME_HEADER + 32768];   /* a frame to send, out[off, len) */
	size_t off, len;
};

static int on_frame(void *arg, unsigned type, const uint8_t *p, size_t len)
{
	struct session *s = arg;
	switch (type) {
	case EXEC_STDOUT:
	case EXEC_STDERR:
		/* A closed stdout (| head) is no reason to stop reading the rest. */
		cli_write_all(type == EXEC_STDOUT ? STDOUT_FILENO : STDERR_FILENO, p, len);
		return 0;
	case EXEC_EXIT:
		s->status = len == 4 ? (int)exec_frame_get_u32(p) : 1;
		return 1;
	case EXEC_ERROR:
		snprintf(s->error, sizeof s->error, "%.*s", (int)len, (const char *)p);
		return 1;
	default:
		snprintf(s->error, sizeof s->error, "the daemon sent a frame of unknown type %u",
			 type);
		return 1;
	}
}

static void queue(struct session *s, unsigned type, const void *p, size_t len)
{
	exec_frame_header(s->out, type, len);
	memcpy(s->out + EXEC_FRAME_HEADER, p, len);
	s->off = 0;
	s->len = EXEC_FRAME_HEADER + len;
}

static void window(unsigned *rows, unsigned *cols)
{
	struct winsize ws = { 0 };
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
		ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
	*rows = ws.ws_row >= 1 && ws.ws_row <= 1000 ? ws.ws_row : 24;
	*cols = ws.ws_col >= 1 && ws.ws_col <= 1000 ? ws.ws_col : 80;
}

/* Moves bytes until the daemon says how the command ended. */
static void run(struct session *s, bool tty, bool send_stdin, const char *extra,
		size_t extra_len)
{
	static uint8_t payload[EXEC_FRAME_MAX];
	struct exec_frame_reader rd = { .payload = payload };
	if (extra_len && exec_frame_feed(&rd, (const uint8_t *)extra, extra_len, on_frame, s))
		return;
	sigset_t winch;
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	sigprocmask(SIG_BLOCK, &winch, NULL);
	int sfd = tty ? signalfd(-1, &winch, SFD_CLOEXEC) : -1;
	fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
	bool in_open = send_stdin;
	if (!send_stdin)
		queue(s, EXEC_STDIN, "", 0);   /* no input: its end at once */
	uint8_t buf[32768];
	bool want_resize = false;   /* a window change to send once the frame before is out */
	for (;;) {
		if (want_resize && s->off == s->len) {
			unsigned rows, cols;
			uint8_t p[4];
			window(&rows, &cols);
			exec_frame_resize_put(p, rows, cols);
			queue(s, EXEC_RESIZE, p, sizeof p);
			want_resize = false;
		}
		bool sending = s->off < s->len;
		struct pollfd pf[3] = {
			{ .fd = s->fd, .events = POLLIN | (sending ? POLLOUT : 0) },
			{ .fd = in_open && !sending ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents & POLLIN) {
			ssize_t n = recv(s->fd, buf, sizeof buf, 0);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				snprintf(s->error, sizeof s->error, "the daemon closed the connection "
					 "before the command ended");
				break;
			}
			if (n > 0) {
				int r = exec_frame_feed(&rd, buf, (size_t)n, on_frame, s);
				if (r < 0)
					snprintf(s->error, sizeof s->error, "the daemon sent a frame "
						 "too long");
				if (r)
					break;
			}
		}
		if (sending && (pf[0].revents & POLLOUT)) {
			ssize_t w = send(s->fd, s->out + s->off, s->len - s->off, MSG_NOSIGNAL);
			if (w > 0)
				s->off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				break;   /* the reply, read above, says why */
		}
		if (pf[1].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				in_open = false;
				queue(s, EXEC_STDIN, "", 0);
			} else {
				queue(s, EXEC_STDIN, buf, (size_t)n);
			}
		}
		if (sfd >= 0 && pf[2].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si)
				want_resize = true;
		}
	}
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_UNBLOCK, &winch, NULL);
}

int cmd_exec(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_TIMEOUT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "tty", no_argument, NULL, 't' },
		{ "no-tty", no_argument, NULL, 'T' },
		{ "no-stdin", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL;
	long timeout = -1;
	int force_tty = -1;
	bool no_stdin = false;
	int c;
	optind = 1;
	/* "+": options end at NAME, so the command's own options stay its own. */
	while ((c = getopt_long(argc, argv, "+htTn", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_TIMEOUT: {
			char *end;
			timeout = strtol(optarg, &end, 10);
			if (*end || end == optarg || timeout < 0 || timeout > 3600) {
				cli_error("exec: --timeout %s: expected whole seconds from 0 to 3600",
					  optarg);
				return 2;
			}
			break;
		}
		case 't': force_tty = 1; break;
		case 'T': force_tty = 0; break;
		case 'n': no_stdin = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (optind >= argc) {
		cli_error("exec: need NAME and a COMMAND (try `nimbus exec --help`)");
		return 2;
	}
	const char *name = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc) {
		cli_error("exec: need a COMMAND after NAME (nimbus exec %s -- COMMAND)", name);
		return 2;
	}
	char path[256];
	int rc = cli_instance_path("exec", name, "/exec", path, sizeof path);
	if (rc)
		return rc;
	const char *sp = client_socket_path(sock);
	bool remote = !strncmp(sp, "https://", 8);
	bool in_tty = isatty(STDIN_FILENO);
	bool tty = force_tty >= 0 ? force_tty == 1 : in_tty && isatty(STDOUT_FILENO) && !remote;
	if (tty && remote) {
		cli_error("exec: -t: a terminal needs the daemon's Unix socket (not %s)", sp);
		return 2;
	}
	cJSON *body = cJSON_CreateObject();
	cJSON *cmd = cJSON_AddArrayToObject(body, "command");
	for (int i = optind; i < argc; i++)
		cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
	if (timeout >= 0)
		cJSON_AddNumberToObject(body, "timeout", (double)timeout);
	if (remote) {
		rc = exec_plain(sp, path, body);
		cJSON_Delete(body);
		return rc;
	}
	if (tty) {
		unsigned rows, cols;
		window(&rows, &cols);
		cJSON *t = cJSON_AddObjectToObject(body, "tty");
		cJSON_AddNumberToObject(t, "rows", rows);
		cJSON_AddNumberToObject(t, "cols", cols);
	}
	char *text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (!text) {
		cli_error("exec: out of memory");
		return 1;
	}
	char extra[8192];
	size_t extra_len = sizeof extra;
	struct session *s = calloc(1, sizeof *s);
	if (!s) {
		free(text);
		cli_error("exec: out of memory");
		return 1;
	}
	s->fd = cli_upgrade("exec", sp, "POST", path, text, EXEC_UPGRADE, extra, &extra_len, &rc);
	free(text);
	if (s->fd < 0) {
		free(s);
		return rc;
	}
	s->status = -1;
	struct termios saved, raw;
	bool restore = tty && in_tty && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (restore) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	/* A terminal's input is the keys typed; otherwise stdin unless it is a
	 * terminal (nobody meant to type into a command without one) or -n. */
	run(s, tty, tty ? !no_stdin : !no_stdin && !in_tty, extra, extra_len);
	if (restore)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	close(s->fd);
	if (s->status >= 0) {
		rc = s->status <= 255 ? s->status : 1;
	} else {
		cli_error("exec: %s", s->error[0] ? s->error : "the session ended without a status");
		rc = 1;
	}
	free(s);
	return rc;
}
