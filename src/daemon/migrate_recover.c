/*
 * A move a killed daemon left unfinished (migrate.h; docs/daemon.md,
 * "Moving a VM").  The VMM, not the daemon, sends the VM: a source daemon
 * killed mid-move leaves its VMM sending, and the VM may well arrive and
 * run in the target while the daemon is away.  So once the target has
 * answered, and before the VMM is asked to send, the move is recorded in
 * the instance's directory (`moving`: the target daemon's socket and its
 * operation), and removed when the move's end is known.  At its next start
 * the daemon finds the record and asks the target how its operation ended:
 *
 *   succeeded             the VM runs there: the instance here is deleted
 *                         once its VMM ended, as a move that finished is
 *   failed, or unknown    the VM did not move: it runs on here (re-adopted),
 *   there                 or is stopped if its VMM had died
 *   still running after   the VMM here still sends: the target's waiting
 *   as long a wait as a   instance is deleted, which cuts the stream, and
 *   move gives it         the VM runs on here
 *   no daemon to ask      left as found: running here if its VMM runs
 *                         (nothing is deleted on a guess)
 *
 * Until then the instance is claimed (busy), so its VMM's end is not taken
 * for a crash and nothing else runs into it.
 */
#include "daemon/migrate.h"

#include "daemon/client.h"
#include "daemon/db.h"
#include "daemon/driver.h"
#include "daemon/events.h"
#include "daemon/fsutil.h"
#include "daemon/operations.h"
#include "daemon/proc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MOVING_FILE "moving"
#define TARGET_OP_WAIT_S 120       /* as long as a move waits for its target */
#define SOURCE_END_WAIT_MS 10000   /* the VMM here ending after the hand-over */

static int moving_path(struct service *s, const char *key, char *buf, size_t len, struct err *e)
{
	return instance_path(service_driver(s), key, MOVING_FILE, buf, len, e);
}

int migrate_record(struct service *s, const char *key, const char *target, const char *top,
		   struct err *e)
{
	char path[8192], text[256];
	int rc = moving_path(s, key, path, sizeof path, e);
	if (rc < 0)
		return rc;
	int n = snprintf(text, sizeof text, "%s\n%s\n", target, top);
	if (n < 0 || (size_t)n >= sizeof text)
		return err_set(e, -ENAMETOOLONG, "%s: the move's record would not fit", path);
	return write_file(path, text, (size_t)n, 0600, e);
}

void migrate_record_drop(struct service *s, const char *key)
{
	char path[8192];
	if (moving_path(s, key, path, sizeof path, NULL) == 0)
		(void)unlink(path);
}

/* The record of key: 1 with target and top, 0 if none. */
static int read_record(struct service *s, const char *key, char *target, size_t tlen, char *top,
		       size_t toplen)
{
	char path[8192], text[256];
	if (moving_path(s, key, path, sizeof path, NULL) < 0)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = 0;
	char *nl = strchr(text, '\n');
	if (!nl)
		return 0;
	*nl = 0;
	char *op = nl + 1, *end = strchr(op, '\n');
	if (end)
		*end = 0;
	/* Written by us, but checked as any file read back: an absolute socket path. */
	if (text[0] != '/' || strlen(text) >= tlen || !op[0] || strlen(op) >= toplen)
		return 0;
	snprintf(target, tlen, "%s", text);
	snprintf(top, toplen, "%s", op);
	return 1;
}

struct recover_job {
	struct service *s;
	struct instance in;          /* claimed */
	char target[108];
	char top[OPERATION_ID_MAX];
};

enum outcome { MOVED, FAILED, IN_FLIGHT, UNKNOWN };

/* How the target's operation ended, waiting for it as a move does. */
static enum outcome target_outcome(const struct recover_job *job)
{
	char path[128];
	snprintf(path, sizeof path, "/1.0/operations/%s?wait=%d", job->top, TARGET_OP_WAIT_S);
	cJSON *op = NULL;
	long status = 0;
	int rc = client_call(job->target, "GET", path, NULL, &status, &op, NULL);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(op, "status");
	enum outcome o = status == 404 ? FAILED : UNKNOWN;
	if (rc == 0 && cJSON_IsString(st))
		o = !strcmp(st->valuestring, "success") ? MOVED
		    : !strcmp(st->valuestring, "running") ? IN_FLIGHT : FAILED;
	cJSON_Delete(op);
	return o;
}

/* The move's own operation, failed as interrupted at the daemon's restart,
 * says how the move ended after all. */
static void settle_operation(struct service *s, const struct instance *in, const char *failure,
			     const char *stage)
{
	char res[128];
	snprintf(res, sizeof res, "/1.0/instances/%s", in->name);
	(void)operations_settle_interrupted(service_operations(s), in->project, "instance-migrate",
					    res, failure, stage);
}

static void *recover_thread(void *arg)
{
	struct recover_job *job = arg;
	struct service *s = job->s;
	const struct instance *in = &job->in;
	enum outcome o = target_outcome(job);
	bool here = proc_alive((pid_t)in->pid, in->pid_start);
	if (o != MOVED) {
		if (o == IN_FLIGHT) {
			/* Cut the stream: the VMM here then fails its send and runs on. */
			char path[256];
			snprintf(path, sizeof path, "/1.0/instances/%s?force=1", in->name);
			(void)client_call(job->target, "DELETE", path, NULL, NULL, NULL, NULL);
			here = proc_alive((pid_t)in->pid, in->pid_start);
		}
		migrate_record_drop(s, in->key);
		service_job_release(s, in->key);
		fprintf(stderr, "nimbusd: %s: its move to %s, interrupted by the daemon's end, %s; "
			"%s\n", in->name, job->target,
			o == UNKNOWN ? "cannot be asked about there" : "did not happen",
			here ? "it runs on here" : "its VMM had ended: stopped");
		events_publish_in(service_events(s), in->project, "instance-migrate-failed",
				  in->name, "to %s: interrupted by the daemon's end; %s", job->target,
				  here ? "runs on here" : "stopped");
		char why[256];
		snprintf(why, sizeof why, "the daemon stopped during the move to %s, which %s; %s",
			 job->target, o == UNKNOWN ? "cannot be asked about there" : "did not happen",
			 here ? "the VM runs on here" : "its VMM had ended: stopped");
		settle_operation(s, in, why, NULL);
	} else {
		service_job_release(s, in->key);
		proc_wait_gone((pid_t)in->pid, in->pid_start, SOURCE_END_WAIT_MS);
		struct err de = { 0 };
		if (service_delete(s, in->key, true, &de) < 0)
			fprintf(stderr, "nimbusd: %s: moved to %s, but not deleted here: %s\n",
				in->name, job->target, de.msg);
		else
			fprintf(stderr, "nimbusd: %s: its move to %s finished while the daemon was "
				"away; deleted here\n", in->name, job->target);
		events_publish_in(service_events(s), in->project, "instance-migrated", in->name,
				  "to %s (finished while the daemon was away)", job->target);
		settle_operation(s, in, NULL, "moved; finished while the daemon was away");
	}
	free(job);
	return NULL;
}

int service_migrate_recover(struct service *s, int *found, struct err *e)
{
	struct instance *v;
	size_t n;
	*found = 0;
	struct db *db = service_lock(s);
	int rc = db_instance_list(db, &v, &n, e);
	service_unlock(s);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct recover_job *job = calloc(1, sizeof *job);
		if (!job) {
			rc = err_set(e, -ENOMEM, "daemon: out of memory");
			break;
		}
		job->s = s;
		if (!read_record(s, v[i].key, job->target, sizeof job->target, job->top,
				 sizeof job->top) ||
		    service_job_claim(s, v[i].key, &job->in, NULL) < 0) {
			free(job);
			continue;
		}
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		int prc = pthread_create(&t, &a, recover_thread, job);
		pthread_attr_destroy(&a);
		if (prc) {
			service_job_release(s, v[i].key);
			free(job);
			rc = err_set(e, -prc, "daemon: cannot start a thread: %s", strerror(prc));
			break;
		}
		++*found;
	}
	free(v);
	return rc;
}
