/*
 * `vm control SOCKET migrate URI` for a VMM that connects nowhere (run with
 * --sandbox, docs/sandbox.md): this client connects to the target, in its
 * own network namespace and with its own name resolution, and passes the
 * connection with the request (SCM_RIGHTS; docs/control.md, "fds"), as a
 * jailer hands a jailed process what it may use instead of letting it
 * open anything.  The VMM then runs the migration over it as it would
 * over a connection of its own.
 */
#include "cli/cli.h"
#include "cli/vm_control.h"
#include "lib/io.h"
#include "vmm/vm_migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
