/*
 * A VM moved live between two daemons (migrate.h; docs/daemon.md, "Moving
 * a VM"): the source's operation and the target's receiving instance.
 * Both sides are operations with a thread of their own; the source's claims
 * its instance for the whole move, so no stop, delete or snapshot runs
 * into it.
 */
#include "daemon/migrate.h"

#include "daemon/client.h"
#include "daemon/disks.h"
#include "daemon/driver.h"
#include "daemon/events.h"
#include "daemon/fsutil.h"
#include "daemon/operations.h"
#include "daemon/proc.h"
#include "daemon/request.h"
#include "daemon/vmm_migrate.h"
#include "vmm/vm_migrate.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_WAIT_MS 60000       /* the target's VMM builds its RAM and harts first */
#define TARGET_OP_WAIT_S 120       /* the target's VMM loads the state and answers */
#define SOURCE_END_WAIT_MS 10000   /* the VMM here ending after the hand-over */

/* The instance as its driver sees it: named by its host key (service.c's host_view). */
static struct instance host_view(const struct instance *in)
{
	struct instance hv = *in;
	memcpy(hv.name, in->key, sizeof hv.name);
	return hv;
}

/* ---- the source ---------------------------------------------------------- */

struct migrate_job {
	struct service *s;
	struct instance in;
	char target[108];
	char op[OPERATION_ID_MAX];
	struct disk disks[DISKS_MAX];
	size_t ndisks;
};

static void on_progress(void *arg, const struct vmm_migration_progress *p)
{
	struct migrate_job *job = arg;
	char stage[160];
	snprintf(stage, sizeof stage, "%s, round %u: %llu pages sent, %llu left (%.0f/s dirtied), "
		 "downtime expected %.1f ms", p->stage, p->round,
		 (unsigned long long)p->pages_sent, (unsigned long long)p->pages_left,
		 p->dirty_pages_per_s, p->expected_downtime_ms);
	/* 10 % when the VM starts to go, 90 % at the pause; each round halves what is left. */
	int pct = !strcmp(p->stage, "stop-copy") ? 90 : 90 - 70 / (int)(p->round + 1);
	operations_progress(service_operations(job->s), job->op, pct, stage);
}

/* The target daemon's reply to incoming: the URI its VMM listens on and
 * its operation; 0 or -errno with e set. */
static int ask_target(struct migrate_job *job, char *uri, size_t urilen, char *top, size_t toplen,
		      struct err *e)
{
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "image", job->in.image);
	cJSON_AddStringToObject(body, "project", job->in.project);
	if (job->in.cpus > 0)
		cJSON_AddNumberToObject(body, "cpus", job->in.cpus);
	if (job->in.memory_mib > 0)
		cJSON_AddNumberToObject(body, "memory_mib", (double)job->in.memory_mib);
	cJSON *d = cJSON_AddObjectToObject(body, "disks");
	for (size_t i = 0; i < job->ndisks; i++) {
		char size[32];
		snprintf(size, sizeof size, "%lldM", job->disks[i].size_mib);
		cJSON_AddStringToObject(d, job->disks[i].name, size);
	}
	char *text = cJSON_PrintUnformatted(body), path[256];
	cJSON_Delete(body);
	snprintf(path, sizeof path, "/1.0/incoming/%s", job->in.name);
	cJSON *reply = NULL;
	struct err te = { 0 };
	int rc = text ? client_call(job->target, "POST", path, text, NULL, &reply, &te) : -ENOMEM;
	free(text);
	if (rc < 0) {
		cJSON_Delete(reply);
		return err_set(e, rc, "target daemon %s: %s", job->target,
			       te.msg[0] ? te.msg : strerror(-rc));
	}
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(reply, "uri");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, "id");
	if (!cJSON_IsString(u) || strncmp(u->valuestring, "unix:", 5) || !cJSON_IsString(id))
		rc = err_set(e, -EPROTO, "target daemon %s: its reply names no unix: URI and operation",
			     job->target);
	else {
		snprintf(uri, urilen, "%s", u->valuestring);
		snprintf(top, toplen, "%s", id->valuestring);
	}
	cJSON_Delete(reply);
	return rc;
}

int migrate_connect_target(const char *uri, int wait_ms, struct err *e)
{
	struct stat st;
	int waited = 0;
	for (;; waited += 20) {
		if (stat(uri + 5, &st) == 0 && S_ISSOCK(st.st_mode)) {
			int fd = vm_migrate_connect(uri, e);
			/* Refused: bound, not listening yet (the VMM does one, then the other). */
			if (fd != -ECONNREFUSED || waited >= wait_ms)
				return fd;
		} else if (waited >= wait_ms) {
			return err_set(e, -ETIMEDOUT, "%s: the target's VMM did not listen within %d s",
				       uri, wait_ms / 1000);
		}
		usleep(20000);
	}
}

/* The target's operation to its end: 0 once the VM runs there. */
static int target_done(struct migrate_job *job, const char *top, struct err *e)
{
	char path[128];
	snprintf(path, sizeof path, "/1.0/operations/%s?wait=%d", top, TARGET_OP_WAIT_S);
	cJSON *op = NULL;
	struct err te = { 0 };
	int rc = client_call(job->target, "GET", path, NULL, NULL, &op, &te);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(op, "status");
	const cJSON *er = cJSON_GetObjectItemCaseSensitive(op, "error");
	if (rc < 0)
		rc = err_set(e, rc, "target daemon %s: %s", job->target, te.msg);
	else if (!cJSON_IsString(st) || strcmp(st->valuestring, "success"))
		rc = err_set(e, -EIO, "target daemon %s: the VM did not start there: %s", job->target,
			     cJSON_IsString(er) && er->valuestring[0] ? er->valuestring
			     : cJSON_IsString(st) ? st->valuestring : "no answer");
	cJSON_Delete(op);
	return rc;
}

static void *migrate_thread(void *arg)
{
	struct migrate_job *job = arg;
	struct service *s = job->s;
	struct operations *ops = service_operations(s);
	struct err e = { 0 };
	char uri[160] = "", top[OPERATION_ID_MAX] = "";
	bool asked = false, handed_over = false;
	operations_progress(ops, job->op, 2, "asking the target daemon for an instance to receive it");
	int rc = ask_target(job, uri, sizeof uri, top, sizeof top, &e);
	asked = rc == 0;
	/* Before the VMM is asked to send: a daemon killed from here on finds
	 * the move at its next start and settles it with the target. */
	if (rc == 0)
		rc = migrate_record(s, job->in.key, job->target, top, &e);
	int conn = rc == 0 ? migrate_connect_target(uri, LISTEN_WAIT_MS, &e) : -1;
	if (rc == 0 && conn < 0)
		rc = conn;
	struct vmm_migration_result res = { 0 };
	if (rc == 0) {
		operations_progress(ops, job->op, 10, "sending the VM and its disks");
		struct instance hv = host_view(&job->in);
		rc = vmm_migrate_send(service_driver(s), &hv, uri, conn, true, on_progress, job, &res,
				      &e);
		handed_over = rc == 0;
	}
	if (conn >= 0)
		close(conn);
	if (rc == 0) {
		operations_progress(ops, job->op, 95, "waiting for the target daemon");
		rc = target_done(job, top, &e);
	}
	service_job_release(s, job->in.key);
	if (handed_over) {
		/* The VMM here ends once it handed the VM over, and its launcher and
		 * console relay after it (cleaning up their jail and sockets): then
		 * the instance goes. */
		proc_wait_gone((pid_t)job->in.pid, job->in.pid_start, SOURCE_END_WAIT_MS);
		struct err de = { 0 };
		migrate_record_drop(s, job->in.key);   /* not left behind if the delete fails */
		if (service_delete(s, job->in.key, true, &de) < 0 && rc == 0)
			rc = err_set(&e, de.code, "moved, but not deleted here: %s", de.msg);
		events_publish_in(service_events(s), job->in.project, "instance-migrated",
				  job->in.name, "to %s: %u rounds, %.1f MiB, %.0f ms, downtime %.1f ms%s",
				  job->target, res.rounds, (double)res.bytes_sent / (1 << 20),
				  res.total_ms, res.downtime_ms, rc ? " (the target did not confirm)" : "");
	} else if (asked) {
		migrate_record_drop(s, job->in.key);
		/* Nothing moved: the target's waiting instance goes, the VM runs on here. */
		char path[256];
		snprintf(path, sizeof path, "/1.0/instances/%s?force=1", job->in.name);
		(void)client_call(job->target, "DELETE", path, NULL, NULL, NULL, NULL);
	}
	if (rc < 0 && !handed_over && e.msg[0])
		snprintf(e.msg + strlen(e.msg), sizeof e.msg - strlen(e.msg), " (the VM runs on here)");
	operations_finish(ops, job->op, rc < 0 ? &e : NULL);
	free(job);
	return NULL;
}

static bool has_file(struct service *s, const struct instance *in, const char *leaf)
{
	char path[8192];
	struct stat st;
	return instance_path(service_driver(s), in->key, leaf, path, sizeof path, NULL) == 0 &&
	       stat(path, &st) == 0 && st.st_size > 0;
}

static int run_thread(void *(*fn)(void *), void *arg, struct err *e)
{
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &a, fn, arg);
	pthread_attr_destroy(&a);
	return rc ? err_set(e, -rc, "daemon: cannot start a thread: %s", strerror(rc)) : 0;
}

int service_migrate(struct service *s, const char *name, const struct migrate_req *r,
		    struct operation *out, struct err *e)
{
	struct migrate_job *job = calloc(1, sizeof *job);
	if (!job)
		return err_set(e, -ENOMEM, "daemon: out of memory");
	job->s = s;
	snprintf(job->target, sizeof job->target, "%s", r->target);
	int rc = service_job_claim(s, name, &job->in, e);
	if (rc < 0) {
		free(job);
		return rc;
	}
	const struct instance *in = &job->in;
	if (in->kind != KIND_VM)
		rc = err_set(e, -ENOSYS, "instance \"%s\": a container; only VMs move live", in->name);
	else if (in->state != STATE_RUNNING)
		rc = err_set(e, -EALREADY, "instance \"%s\": not running (a move is of a running VM)",
			     in->name);
	else if (in->paused)
		rc = err_set(e, -EALREADY, "instance \"%s\": paused; resume it first", in->name);
	else if (has_file(s, in, "nic"))
		rc = err_set(e, -ENOTSUP, "instance \"%s\": on networks of this host; a move takes "
			     "VMs without networks for now", in->name);
	else if (has_file(s, in, "volumes"))
		rc = err_set(e, -ENOTSUP, "instance \"%s\": has volumes attached; detach them first",
			     in->name);
	if (rc == 0) {
		struct db *db = service_lock(s);
		rc = disks_get(db, in->key, job->disks, &job->ndisks, e);
		service_unlock(s);
	}
	char res[128];
	snprintf(res, sizeof res, "/1.0/instances/%s", in->name);
	if (rc == 0 && (rc = operations_start_in(service_operations(s), in->project,
						 "instance-migrate", res, out, e)) == 0) {
		snprintf(job->op, sizeof job->op, "%s", out->id);
		if ((rc = run_thread(migrate_thread, job, e)) < 0)
			operations_finish(service_operations(s), out->id, e);
	}
	if (rc < 0) {
		service_job_release(s, job->in.key);
		free(job);
	}
	return rc;
}

/* ---- the target ---------------------------------------------------------- */

struct incoming_job {
	struct service *s;
	char key[INSTANCE_NAME_MAX + 1];
	char op[OPERATION_ID_MAX];
};

/* Starts the instance, which runs once the VM has arrived; a start that
 * fails leaves nothing behind. */
static void *incoming_thread(void *arg)
{
	struct incoming_job *job = arg;
	struct err e = { 0 };
	struct instance in;
	operations_progress(service_operations(job->s), job->op, 10, "receiving the VM");
	int rc = service_start(job->s, job->key, &in, &e);
	if (rc < 0)
		(void)service_delete(job->s, job->key, true, NULL);
	operations_finish(service_operations(job->s), job->op, rc < 0 ? &e : NULL);
	free(job);
	return NULL;
}

int service_incoming(struct service *s, const char *name, struct incoming_req *r, char *uri,
		     size_t urilen, struct operation *out, struct err *e)
{
	struct incoming_job *job = calloc(1, sizeof *job);
	struct instance in;
	char dir[8192], file[8300];
	snprintf(r->cr.name, sizeof r->cr.name, "%s", name);
	r->cr.start = false;
	int rc = job ? service_create(s, &r->cr, &in, e) : err_set(e, -ENOMEM, "daemon: out of memory");
	free(r);
	if (rc < 0) {
		free(job);
		return rc;
	}
	if ((rc = instance_path(service_driver(s), in.key, NULL, dir, sizeof dir, e)) == 0 &&
	    ((size_t)snprintf(uri, urilen, "unix:%s/incoming.sock", dir) >= urilen ||
	     strlen(uri) - 5 >= sizeof ((struct sockaddr_un *)0)->sun_path))
		rc = err_set(e, -ENAMETOOLONG, "instance \"%s\": its socket path would be longer "
			     "than %zu bytes (use a shorter --state-dir)", name,
			     sizeof ((struct sockaddr_un *)0)->sun_path - 1);
	snprintf(file, sizeof file, "%s/" VMM_INCOMING_FILE, dir);
	/* A VM without disks of its own has no directory yet (its start makes it). */
	if (rc == 0)
		rc = mkdir_p(dir, 0700, e);
	if (rc == 0)
		rc = write_file(file, uri, strlen(uri), 0600, e);
	char res[128];
	snprintf(res, sizeof res, "/1.0/instances/%s", in.name);
	if (rc == 0)
		rc = operations_start_in(service_operations(s), in.project, "instance-incoming", res,
					 out, e);
	if (rc == 0) {
		*job = (struct incoming_job){ .s = s };
		snprintf(job->key, sizeof job->key, "%s", in.key);
		snprintf(job->op, sizeof job->op, "%s", out->id);
		if ((rc = run_thread(incoming_thread, job, e)) < 0)
			operations_finish(service_operations(s), out->id, e);
	}
	if (rc < 0) {
		free(job);
		(void)service_delete(s, in.key, true, NULL);
	}
	return rc;
}
