/*
 * `nimbus vm control SOCKET REQUEST...`: sends one request line to a VM
 * started with `--control SOCKET` and prints the reply.  Exit status 0 for
 * "ok ...", 1 for an error reply or a VM that does not answer, 2 for usage.
 */
#include "cli/cli.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char usage[] =
	"Usage: nimbus vm control SOCKET REQUEST\n"
	"\n"
	"Send a request to a VM started with `nimbus vm run --control SOCKET`.\n"
	"\n"
	"Requests:\n"
	"  balloon SIZE     ask the guest to give SIZE of its RAM back to the host\n"
	"                   (needs --balloon; 0 returns it all to the guest)\n"
	"  balloon-stats    the balloon's size and the guest's memory statistics\n"
	"  stop             stop the VM\n";

int cmd_vm_control(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 3) {
		cli_error("vm control: need SOCKET and REQUEST (try --help)");
		return 2;
	}
	const char *path = argv[1];
	char req[512] = "";
	size_t used = 0;
	for (int i = 2; i < argc; i++) {
		int n = snprintf(req + used, sizeof req - used, "%s%s", i > 2 ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof req - used - 1) {
			cli_error("vm control: request too long");
			return 2;
		}
		used += (size_t)n;
	}
	req[used++] = '\n';

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		cli_error("vm control %s: path too long", path);
		return 2;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		cli_error("vm control %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (send(fd, req, used, MSG_NOSIGNAL) != (ssize_t)used) {
		cli_error("vm control %s: %s", path, strerror(errno));
		close(fd);
		return 1;
	}
	char reply[1024];
	size_t have = 0;
	while (have < sizeof reply - 1 && !memchr(reply, '\n', have)) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, 10000) <= 0) {
			cli_error("vm control %s: no reply within 10 s", path);
			close(fd);
			return 1;
		}
		ssize_t r = read(fd, reply + have, sizeof reply - 1 - have);
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	close(fd);
	reply[have] = 0;
	char *nl = strchr(reply, '\n');
	if (nl)
		*nl = 0;
	if (!strncmp(reply, "ok", 2)) {
		printf("%s\n", reply[2] == ' ' ? reply + 3 : reply + 2);
		return 0;
	}
	cli_error("%s", !strncmp(reply, "error: ", 7) ? reply + 7 : (have ? reply : "no reply"));
	return 1;
}
