/*
 * `vm control SOCKET snapshot DIR [--incremental|--disks]` (and the snapshot
 * of `fork DIR`) for a VMM that can open no file (run with --sandbox,
 * docs/sandbox.md): this client makes DIR and opens its files, passes them
 * with the request (SCM_RIGHTS; docs/control.md, "fds"), and once the VMM
 * has written and synced them renames them into place, state last, as the
 * VMM itself does otherwise: a failure leaves the old snapshot or the new
 * one.  With --disks it cannot know how many disks the VM has (hot-plug
 * changes it), so it passes a file for each of the VMM's VM_MAX_DISKS slots
 * and keeps those the VMM says it wrote.
 */
#include "cli/cli.h"
#include "cli/vm_control.h"
#include "lib/io.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define TIMEOUT_MS 600000   /* as for every snapshot: it writes all of guest RAM */
#define NFILES (2 + VM_MAX_DISKS)

char *vmc_snapshot_into_passed_files(const char *path, const char *dir, const char *verb,
				     bool paused, bool incremental, bool disks)
{
	/* Passed in this order: memory, state, disk0, disk1, ... */
	char tmp[NFILES][32], final[NFILES][24];
	const char *names[NFILES];
	unsigned nfiles = disks ? NFILES : 2;
	for (unsigned i = 0; i < nfiles; i++) {
		if (i < 2) {
			snprintf(final[i], sizeof final[i], "%s",
				 i ? "state" : incremental ? "memory.diff" : "memory");
			snprintf(tmp[i], sizeof tmp[i], ".%s.tmp", i ? "state" : "memory");
		} else {
			snprintf(final[i], sizeof final[i], "disk%u", i - 2);
			snprintf(tmp[i], sizeof tmp[i], ".disk%u.tmp", i - 2);
		}
		names[i] = i == 0 ? "memory" : final[i];
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		cli_error("vm control: snapshot %s: %s", dir, strerror(errno));
		return NULL;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fds[NFILES];
	unsigned opened = 0;
	while (dfd >= 0 && opened < nfiles &&
	       (fds[opened] = openat(dfd, tmp[opened], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC |
				     O_NOFOLLOW, 0600)) >= 0)
		opened++;
	char *reply = NULL;
	unsigned written = 0;   /* disk files the VMM wrote */
	bool ok = false;
	if (opened < nfiles) {
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
	if (disks)
		cJSON_AddTrueToObject(req, "disks");
	cJSON_AddItemToObject(req, "fds", cJSON_CreateStringArray(names, (int)nfiles));
	reply = vmc_ask_with_fds(path, req, fds, nfiles, TIMEOUT_MS);
	cJSON_Delete(req);
	cJSON *o = reply ? cJSON_Parse(reply) : NULL;
	ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"));
	double nd = disks ? vmc_num(o, "disks") : 0;
	cJSON_Delete(o);
	bool ours_failed = false;   /* the VMM's own failure is its reply, shown as such */
	if (ok && !(nd >= 0 && nd <= VM_MAX_DISKS && nd == (unsigned)nd)) {
		cli_error("vm control: snapshot %s: the VMM's reply names no number of disks", dir);
		ours_failed = true;
	}
	written = ok && !ours_failed ? (unsigned)nd : 0;
	/* The VMM synced the files: into place, the disks and memory first,
	 * state the commit. */
	for (unsigned k = 0; k < 2 + written && ok && !ours_failed; k++) {
		unsigned i = k < written ? 2 + k : k - written;   /* disks, memory, state */
		if (renameat(dfd, tmp[i], dfd, final[i]) < 0) {
			cli_error("vm control: snapshot %s/%s: %s", dir, final[i], strerror(errno));
			ours_failed = true;
		}
	}
	if (ours_failed) {
		free(reply);
		reply = NULL;
		ok = false;
	} else if (ok) {
		fsync(dfd);
	}
out:
	for (unsigned i = 0; i < opened; i++) {
		close(fds[i]);
		/* Files the VMM did not write (slots without a disk), or all on failure. */
		if (!ok || (i >= 2 && i - 2 >= written))
			unlinkat(dfd, tmp[i], 0);
	}
	if (dfd >= 0)
		close(dfd);
	return reply;
}
