/*
 * `vm control SOCKET fork DIR` for a sandboxed VMM, which can neither open
 * a file nor start a process: the VMM only writes its snapshot, into files
 * this client passes (vm_control_snapshot.c), and this client starts the
 * children as the VMM would (vm_fork_child.c): `nimbus vm run` with the
 * VM's own options plus --restore DIR --control DIR/child-N.sock --paused.
 *
 * The options are the command line of the VMM's launcher, the `nimbus vm
 * run --sandbox` process outside the jail, read from /proc: never from the
 * VMM, which a guest may have taken over and which could then make this
 * client start whatever it liked.  The VMM is the control socket's peer
 * (SO_PEERCRED), its launcher that process's parent.
 */
#include "cli/cli.h"
#include "cli/vm_control.h"
#include "cli/vm_fork_child.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The parent pid of pid, from /proc/PID/status; -1. */
static int parent_of(int pid)
{
	char p[64], line[256];
	snprintf(p, sizeof p, "/proc/%d/status", pid);
	FILE *f = fopen(p, "re");
	int ppid = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "PPid: %d", &ppid) == 1)
			break;
	if (f)
		fclose(f);
	return ppid;
}

/* The launcher's `vm run` arguments from "run" on (as vm_fork_ctx wants
 * them) into ctx.  0, or -1 reported. */
static int launcher_args(const char *path, struct vm_fork_ctx *ctx)
{
	int sock = vmc_connect(path);
	if (sock < 0)
		return -1;
	struct ucred cr;
	socklen_t len = sizeof cr;
	int rc = getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len);
	close(sock);
	int launcher = rc == 0 ? parent_of(cr.pid) : -1;
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/cmdline", launcher);
	FILE *f = launcher > 1 ? fopen(p, "re") : NULL;
	char *buf = NULL;
	size_t n = 0;
	if (f) {
		char chunk[4096];
		size_t got;
		while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
			char *nb = realloc(buf, n + got + 1);
			if (!nb)
				break;
			buf = nb;
			memcpy(buf + n, chunk, got);
			n += got;
		}
		fclose(f);
	}
	/* NUL-separated: nimbus vm run ARGS... */
	char *argv[512];
	int argc = 0;
	for (size_t at = 0; buf && at < n && argc < 511; at += strlen(buf + at) + 1)
		argv[argc++] = buf + at;
	if (buf)
		buf[n] = 0;
	rc = -1;
	if (argc >= 3 && !strcmp(argv[1], "vm") && !strcmp(argv[2], "run"))
		rc = vm_fork_ctx_init(ctx, argc - 2, argv + 2) ? -1 : 0;
	else
		cli_error("vm control: fork: cannot find the command line the VM was started with "
			  "(its launcher, pid %d, is not `nimbus vm run`)", launcher);
	free(buf);
	return rc;
}

char *vmc_fork_started_here(const char *path, const char *dir, unsigned count, bool running)
{
	struct vm_fork_ctx ctx = { 0 };
	if (launcher_args(path, &ctx) < 0) {
		vm_fork_ctx_free(&ctx);
		return NULL;
	}
	char *reply = vmc_snapshot_into_passed_files(path, dir, "fork", false, false, false);
	cJSON *o = reply ? cJSON_Parse(reply) : NULL;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"))) {
		cJSON_Delete(o);
		vm_fork_ctx_free(&ctx);
		return reply;   /* the VMM's error */
	}
	cJSON_DeleteItemFromObject(o, "snapshot_only");
	cJSON_DeleteItemFromObject(o, "children");
	cJSON *kids_json = cJSON_AddArrayToObject(o, "children");
	struct vm_fork_child kids[VM_FORK_MAX];
	unsigned started = 0;
	struct err e = { 0 };
	int rc = vm_fork_children_start(&ctx, dir, count, running, -1, -1, kids, &started, &e);
	for (unsigned i = 0; i < started; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddNumberToObject(c, "pid", kids[i].pid);
		cJSON_AddStringToObject(c, "control", kids[i].control);
		cJSON_AddStringToObject(c, "console", kids[i].console);
		cJSON_AddItemToArray(kids_json, c);
	}
	if (rc) {
		cJSON_Delete(o);
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", 1);
		cJSON_AddFalseToObject(o, "ok");
		cJSON *err = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(err, "code", "fork-failed");
		char msg[sizeof e.msg + 64];
		snprintf(msg, sizeof msg, "%s%s", e.msg, started ? " (some children were started)" : "");
		cJSON_AddStringToObject(err, "message", msg);
	}
	free(reply);
	reply = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	vm_fork_ctx_free(&ctx);
	return reply;
}
