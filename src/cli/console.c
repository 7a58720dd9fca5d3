/* `nimbus console NAME`: the instance's console, interactive, until Ctrl-a q. */
#include "cli/cli.h"
#include "daemon/client.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static const char usage[] =
	"Usage: nimbus console [--socket PATH] NAME\n"
	"\n"
	"Attach this terminal to a running VM's serial console: what you type goes to\n"
	"the guest, its output comes here.  Ctrl-a q detaches (the VM keeps running);\n"
	"other Ctrl-a keys reach the VMM's console as with `nimbus vm run` (Ctrl-a x\n"
	"stops the VM).  Several consoles may be attached at once.  `nimbus logs NAME`\n"
	"shows the last output without attaching.  When input is not a terminal and\n"
	"ends, the console is left once the output has been quiet for 2 s.  A\n"
	"container launched with --terminal gets this terminal's size at attach and\n"
	"whenever it changes (SIGWINCH); a VM's serial console carries no size (run\n"
	"`stty rows R cols C` in the guest).\n"
	"\n"
	"Options:\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

static int connect_daemon(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Reads the response head; its status, and in body what followed (up to
 * len); its Content-Length in *clen (-1 if none). */
static int read_head(int fd, char *body, size_t len, size_t *got, long *clen)
{
	char buf[8192];
	size_t have = 0;
	char *end = NULL;
	while (!end && have < sizeof buf - 1) {
		ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = 0;
		end = strstr(buf, "\r\n\r\n");
	}
	if (!end)
		return -1;
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	*clen = -1;
	*end = 0;
	for (char *h = strcasestr(buf, "\r\ncontent-length:"); h; h = NULL)
		*clen = strtol(h + 17, NULL, 10);
	size_t rest = have - (size_t)(end + 4 - buf);
	*got = rest < len ? rest : len;
	memcpy(body, end + 4, *got);
	return status;
}

/* Set by SIGWINCH; the loop sends the new size. */
static volatile sig_atomic_t winch;

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

/*
 * POST PATH {"rows", "cols"}: this terminal's size to a container's
 * terminal, on a connection of its own (the console's carries raw bytes).
 * Quiet: a VM's console, or a container without a terminal, refuses it,
 * and the console works on without it.
 */
static void send_size(const char *sp, const char *path)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
		return;
	int fd = connect_daemon(sp);
	if (fd < 0)
		return;
	char body[64], req[512], head[8192];
	int bl = snprintf(body, sizeof body, "{\"rows\":%u,\"cols\":%u}", ws.ws_row, ws.ws_col);
	int n = snprintf(req, sizeof req, "POST %s HTTP/1.1\r\nHost: nimbus\r\nContent-Type: "
			 "application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			 path, bl, body);
	size_t got;
	long clen;
	if (n > 0 && (size_t)n < sizeof req && cli_write_all(fd, req, (size_t)n) == 0)
		read_head(fd, head, sizeof head, &got, &clen);
	close(fd);
}

int cmd_console(int argc, char **argv)
{
	enum { OPT_SOCKET = 256 };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (argc - optind != 1) {
		cli_error("console: need one NAME (try `nimbus console --help`)");
		return 2;
	}
	char path[256];
	int rc = cli_instance_path("console", argv[optind], "/console", path, sizeof path);
	if (rc)
		return rc;
	const char *sp = client_socket_path(sock);
	int fd = connect_daemon(sp);
	if (fd < 0) {
		cli_error("console: no nimbus daemon at %s (%s); start one with `nimbus daemon` "
			  "(as root), or point --socket or $NIMBUS_SOCKET at it", sp, strerror(errno));
		return 1;
	}
	char req[512];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: nimbus\r\nConnection: Upgrade\r\n"
			 "Upgrade: nimbus-console\r\n\r\n", path);
	char body[8192];
	size_t got = 0;
	long clen = -1;
	int status = cli_write_all(fd, req, (size_t)n) < 0
		? -1 : read_head(fd, body, sizeof body - 1, &got, &clen);
	if (status != 101) {
		if (status > 0) {
			ssize_t more;
			/* The connection stays open: read the body's length, no more. */
			while (got < sizeof body - 1 && (clen < 0 || (long)got < clen) &&
			       (more = read(fd, body + got, sizeof body - 1 - got)) > 0)
				got += (size_t)more;
			body[got] = 0;
			cJSON *j = cJSON_Parse(body);
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
			cli_error("console: %s", cJSON_IsString(m) ? m->valuestring : "refused");
			cJSON_Delete(j);
		} else {
			cli_error("console: the daemon did not answer the upgrade");
		}
		close(fd);
		return status == 400 ? 2 : 1;
	}
	bool tty = isatty(STDIN_FILENO);
	struct termios saved, raw;
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fprintf(stderr, "[attached to %s: Ctrl-a q detaches]\r\n", argv[optind]);
	} else {
		tty = false;
	}
	if (got)
		cli_write_all(STDOUT_FILENO, body, got);
	if (tty) {
		struct sigaction sa = { .sa_handler = on_winch };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGWINCH, &sa, NULL);
		send_size(sp, path);
	}
	bool escape = false, detached = false, in_open = true;
	char buf[4096];
	for (;;) {
		if (winch) {
			winch = 0;
			send_size(sp, path);
		}
		struct pollfd pf[2] = { { .fd = fd, .events = POLLIN },
					{ .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN } };
		int ready = poll(pf, 2, in_open ? -1 : 2000);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			break;   /* error, or quiet for 2 s after the input ended */
		if (pf[0].revents) {
			ssize_t r = read(fd, buf, sizeof buf);
			if (r <= 0 || cli_write_all(STDOUT_FILENO, buf, (size_t)r) < 0)
				break;
		}
		if (pf[1].revents) {
			ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
			if (r <= 0) {
				/* Input ended (a script): show the output until it has
				 * been quiet for 2 s. */
				in_open = false;
				continue;
			}
			/* Ctrl-a q detaches; any other Ctrl-a sequence passes through. */
			char out[sizeof buf + 1];
			size_t k = 0;
			for (ssize_t i = 0; i < r; i++) {
				if (escape) {
					escape = false;
					if (buf[i] == 'q') {
						detached = true;
						break;
					}
					out[k++] = 0x01;
				} else if (buf[i] == 0x01) {
					escape = true;
					continue;
				}
				out[k++] = buf[i];
			}
			if (k && cli_write_all(fd, out, k) < 0)
				break;
			if (detached)
				break;
		}
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	close(fd);
	fprintf(stderr, detached ? "%s[detached from %s]\n" : "%s[console of %s closed]\n",
		tty ? "\r\n" : "", argv[optind]);
	return 0;
}
