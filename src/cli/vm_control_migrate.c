/*
 * `vm control SOCKET migrate URI` for a VMM that connects nowhere (run with
 * --sandbox, docs/sandbox.md): this client connects to the target, in its
 * own network namespace and with its own name resolution, and passes the
 * connection with the request (SCM_RIGHTS; docs/control.md, "fds"), as a
 * jailer hands a jailed process what it may use instead of letting it
 * open anything.  The VMM then runs the migration over it as it would
 * over a connection of its own.
 *
 * Progress on the terminal: a thread of this client follows the VM's
 * events on a connection of its own and prints each `migration` event
 * (docs/control.md) to stderr while the request runs.
 */
#include "cli/cli.h"
#include "cli/vm_control.h"
#include "lib/io.h"
#include "vmm/vm_migrate.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TIMEOUT_MS 600000   /* as for every migration: it sends all of guest RAM */

char *vmc_ask_with_fds(const char *path, cJSON *req, const int *fds, unsigned nfds,
		       int timeout_ms)
{
	char *line = cJSON_PrintUnformatted(req);
	char *nl = line ? malloc(strlen(line) + 2) : NULL;
	free(nl ? NULL : line);
	if (!nl) {
		cli_error("vm control: out of memory");
		return NULL;
	}
	sprintf(nl, "%s\n", line);
	free(line);
	char *reply = NULL;
	int sock = vmc_connect(path), rc;
	if (sock >= 0 && (rc = io_send_fds(sock, nl, strlen(nl), fds, nfds)) < 0) {
		cli_error("vm control %s: %s", path, strerror(-rc));
	} else if (sock >= 0) {
		struct reader r = { .fd = sock };
		reply = vmc_read_line(&r, path, timeout_ms);
		free(r.buf);
	}
	if (sock >= 0)
		close(sock);
	free(nl);
	return reply;
}

char *vmc_migrate_over_passed_conn(const char *path, cJSON *req)
{
	const char *uri = vmc_str(req, "uri");
	struct err e = { 0 };
	int conn = vm_migrate_connect(uri, &e);
	if (conn < 0) {
		cli_error("vm control: migrate: %s", e.msg);
		return NULL;
	}
	const char *names[1] = { "socket" };
	cJSON_DeleteItemFromObjectCaseSensitive(req, "fds");
	cJSON_AddItemToObject(req, "fds", cJSON_CreateStringArray(names, 1));
	char *reply = vmc_ask_with_fds(path, req, &conn, 1, TIMEOUT_MS);
	close(conn);
	return reply;
}

struct vmc_progress {
	int fd;
	struct reader r;           /* what came after the subscription's reply too */
	pthread_t thread;
};

static void *progress_thread(void *arg)
{
	struct vmc_progress *w = arg;
	char *line;
	while ((line = vmc_read_line(&w->r, "", -1))) {
		cJSON *o = cJSON_Parse(line);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "migration");
		if (cJSON_IsObject(m))
			fprintf(stderr, "migrate: %s, round %.0f: %.0f pages sent, %.0f left (%.0f/s "
				"dirtied), downtime expected %.1f ms\n", vmc_str(m, "stage"),
				vmc_num(m, "round"), vmc_num(m, "pages_sent"), vmc_num(m, "pages_left"),
				vmc_num(m, "dirty_pages_per_s"), vmc_num(m, "expected_downtime_ms"));
		cJSON_Delete(o);
		free(line);
	}
	return NULL;
}

struct vmc_progress *vmc_progress_start(const char *path)
{
	struct vmc_progress *w = calloc(1, sizeof *w);
	static const char req[] = "{\"id\":0,\"verb\":\"events\"}\n";
	if (!w || (w->fd = vmc_connect(path)) < 0) {
		free(w);
		return NULL;
	}
	w->r.fd = w->fd;
	char *ok = send(w->fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1)
		   ? vmc_read_line(&w->r, path, 5000) : NULL;
	bool subscribed = ok && strstr(ok, "\"ok\":true");
	free(ok);
	if (!subscribed || pthread_create(&w->thread, NULL, progress_thread, w)) {
		close(w->fd);
		free(w->r.buf);
		free(w);
		return NULL;
	}
	return w;
}

void vmc_progress_stop(struct vmc_progress *w)
{
	if (!w)
		return;
	shutdown(w->fd, SHUT_RDWR);   /* its read returns: the thread ends */
	pthread_join(w->thread, NULL);
	close(w->fd);
	free(w->r.buf);
	free(w);
}
