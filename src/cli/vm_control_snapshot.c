/*
 * `vm control SOCKET snapshot DIR [--incremental]` (and the snapshot of `fork DIR`) for a
 * VMM that can open no file (run with --sandbox, docs/sandbox.md): this
 * client makes DIR and opens its files, passes them with the request
 * (SCM_RIGHTS; docs/control.md, "fds"), and once the VMM has written and
 * synced them renames them into place, state last, as the VMM itself does
 * otherwise: a failure leaves the old snapshot or the new one.
 */
#include "cli/cli.h"
#include "cli/vm_control.h"
#include "lib/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define TIMEOUT_MS 600000   /* as for every snapshot: it writes all of guest RAM */

char *vmc_snapshot_into_passed_files(const char *path, const char *dir, const char *verb,
				     bool paused, bool incremental)
{
	static const char *const tmp[2] = { ".memory.tmp", ".state.tmp" };
	const char *const final[2] = { incremental ? "memory.diff" : "memory", "state" };
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		cli_error("vm control: snapshot %s: %s", dir, strerror(errno));
		return NULL;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fds[2] = { -1, -1 };
	for (unsigned i = 0; i < 2 && dfd >= 0; i++)
		if ((fds[i] = openat(dfd, tmp[i], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
				     0600)) < 0)
			break;
	char *reply = NULL;
	bool ok = false;
	if (dfd < 0 || fds[0] < 0 || fds[1] < 0) {
		cli_error("vm control: snapshot %s: %s", dir, strerror(errno));
		goto out;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddNumberToObject(req, "id", 1);
	cJSON_AddStringToObject(req, "verb", verb);
	cJSON_AddStringToObject(req, "dir", dir);
	if (paused)
		cJSON_AddTrueToObject(req, "paused");
	if (incremental)
		cJSON_AddTrueToObject(req, "incremental");
	const char *names[2] = { "memory", "state" };
	cJSON_AddItemToObject(req, "fds", cJSON_CreateStringArray(names, 2));
	reply = vmc_ask_with_fds(path, req, fds, 2, TIMEOUT_MS);
	cJSON_Delete(req);
	cJSON *o = reply ? cJSON_Parse(reply) : NULL;
	ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"));
	cJSON_Delete(o);
	/* The VMM synced the files: into place, memory first, state the commit. */
	for (unsigned i = 0; i < 2 && ok; i++)
		if (renameat(dfd, tmp[i], dfd, final[i]) < 0) {
			cli_error("vm control: snapshot %s/%s: %s", dir, final[i], strerror(errno));
			free(reply);
			reply = NULL;
			ok = false;
		}
	if (ok)
		fsync(dfd);
out:
	for (unsigned i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		if (!ok && dfd >= 0)
			unlinkat(dfd, tmp[i], 0);
	}
	if (dfd >= 0)
		close(dfd);
	return reply;
}
