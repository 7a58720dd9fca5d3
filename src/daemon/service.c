/* See service.h. */
#include "daemon/service.h"
#include "daemon/driver.h"
#include "daemon/fsutil.h"
#include "daemon/images.h"
#include "daemon/logs.h"
#include "daemon/meter.h"
#include "daemon/proc.h"
#include "daemon/network.h"
#include "daemon/placement.h"
#include "daemon/project.h"
#include "daemon/volume.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUSY_MAX 128

struct service {
	char state_dir[4096], runtime[4096], conmon[4096], self_exe[4096], dnsmasq[4096];
	char qemu_img[4096];
	struct driver_ctx ctx;
	struct net_ctx net;
	struct volume_ctx vol;
	char pool[4200];
	struct placement place;
	struct db *db;
	pthread_mutex_t lock;
	char busy[BUSY_MAX][INSTANCE_NAME_MAX + 1];   /* names with an operation running */
	int adopted, lost, rolled_back;
};

static void unplug(struct service *s, const struct instance *in);

/* Corrects a row whose supervisor is gone.  Called with the lock held. */
static int refresh(struct service *s, struct instance *in, struct err *e)
{
	if (in->state != STATE_RUNNING || proc_alive((pid_t)in->pid, in->pid_start))
		return 0;
	in->state = STATE_STOPPED;
	in->pid = 0;
	in->pid_start = 0;
	return db_instance_update(s->db, in, e);
}

/* Removes a stopped instance's host side of its NIC (network.h). */
static void unplug(struct service *s, const struct instance *in)
{
	char dir[4096];
	if (instance_path(&s->ctx, in->name, NULL, dir, sizeof dir, NULL) == 0)
		network_unplug(in, dir);
}

static int reconcile(struct service *s, struct err *e)
{
	struct instance *v;
	size_t n;
	int rc = db_instance_list(s->db, &v, &n, e);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (v[i].state == STATE_RUNNING) {
			if ((rc = refresh(s, &v[i], e)) < 0)
				break;
			if (v[i].state == STATE_RUNNING) {
				s->adopted++;
				continue;
			}
			s->lost++;
		}
		/* Stopped must mean nothing runs: a start or stop the last daemon
		 * did not finish, or a monitor killed while its container ran,
		 * leaves processes behind; they are killed and forgotten. */
		int killed = driver_for(v[i].kind)->rollback(&s->ctx, &v[i], e);
		unplug(s, &v[i]);
		if (killed < 0)
			rc = killed;
		else
			s->rolled_back += killed > 0;
	}
	free(v);
	return rc;
}

int service_open(const struct service_cfg *cfg, struct service **out, struct err *e)
{
	struct service *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(e, -ENOMEM, "daemon: out of memory");
	snprintf(s->state_dir, sizeof s->state_dir, "%s", cfg->state_dir);
	snprintf(s->runtime, sizeof s->runtime, "%s", cfg->runtime);
	snprintf(s->conmon, sizeof s->conmon, "%s", cfg->conmon);
	snprintf(s->self_exe, sizeof s->self_exe, "%s", cfg->self_exe);
	s->ctx = (struct driver_ctx){ s->state_dir, s->runtime, s->conmon, s->self_exe };
	snprintf(s->dnsmasq, sizeof s->dnsmasq, "%s", cfg->dnsmasq ? cfg->dnsmasq : "/usr/sbin/dnsmasq");
	s->net = (struct net_ctx){ s->state_dir, s->dnsmasq };
	snprintf(s->qemu_img, sizeof s->qemu_img, "%s", cfg->qemu_img ? cfg->qemu_img : "/usr/bin/qemu-img");
	snprintf(s->pool, sizeof s->pool, "%s/volumes", s->state_dir);
	s->place = (struct placement){ { cfg->ratio[0], cfg->ratio[1], cfg->ratio[2] }, s->pool };
	s->vol = (struct volume_ctx){ s->state_dir, s->qemu_img, &s->place };
	pthread_mutex_init(&s->lock, NULL);
	char path[8192];
	int rc;
	if ((rc = mkdir_p(cfg->state_dir, 0700, e)) < 0)
		goto fail;
	static const char *const subdirs[] = { "instances", "images", "runtime", "networks", "volumes",
					       NULL };
	for (const char *const *d = subdirs; *d; d++) {
		snprintf(path, sizeof path, "%s/%s", cfg->state_dir, *d);
		if ((rc = mkdir_p(path, 0700, e)) < 0)
			goto fail;
	}
	snprintf(path, sizeof path, "%s/nimbus.db", cfg->state_dir);
	if ((rc = db_open(path, &s->db, e)) < 0 ||
	    (rc = images_init(s->db, cfg->state_dir, cfg->guest_dir, e)) < 0 ||
	    (rc = network_reconcile(s->db, &s->net, e)) < 0 ||
	    (rc = reconcile(s, e)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	service_close(s);
	return rc;
}

void service_close(struct service *s)
{
	if (!s)
		return;
	db_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void service_reconcile_counts(const struct service *s, int *adopted, int *lost,
			      int *rolled_back)
{
	*adopted = s->adopted;
	*lost = s->lost;
	*rolled_back = s->rolled_back;
}

/* Marks name busy; -EBUSY if another operation holds it.  Lock held. */
static int claim(struct service *s, const char *name, struct err *e)
{
	int free_slot = -1;
	for (int i = 0; i < BUSY_MAX; i++) {
		if (!s->busy[i][0]) {
			if (free_slot < 0)
				free_slot = i;
		} else if (!strcmp(s->busy[i], name)) {
			return err_set(e, -EBUSY, "instance \"%s\": another operation on it is "
				       "in progress", name);
		}
	}
	if (free_slot < 0)
		return err_set(e, -EAGAIN, "instance \"%s\": too many operations in progress "
			       "(%d); try again", name, BUSY_MAX);
	snprintf(s->busy[free_slot], sizeof s->busy[free_slot], "%s", name);
	return 0;
}

static void release(struct service *s, const char *name)
{
	for (int i = 0; i < BUSY_MAX; i++)
		if (!strcmp(s->busy[i], name))
			s->busy[i][0] = 0;
}

/* Starts a claimed, stopped instance; called with the lock held, drops it
 * while the driver works. */
static int start_locked(struct service *s, struct instance *in, struct err *e)
{
	struct image im;
	int rc = db_image_get(s->db, in->image, &im, e);
	if (rc < 0)
		return rc;
	char dir[4096];
	if ((rc = instance_path(&s->ctx, in->name, NULL, dir, sizeof dir, e)) < 0 ||
	    (rc = volume_prepare(s->db, &s->vol, in->name, dir, e)) < 0 ||
	    (rc = network_plug(s->db, &s->net, in, dir, e)) < 0)
		return rc;
	pthread_mutex_unlock(&s->lock);
	rc = driver_for(in->kind)->start(&s->ctx, in, &im, e);
	pthread_mutex_lock(&s->lock);
	if (rc < 0) {
		network_unplug(in, dir);
		return rc;
	}
	in->state = STATE_RUNNING;
	in->started_at = (long long)time(NULL);
	meter_instance_start(s->db, in, NULL);
	return db_instance_update(s->db, in, e);
}

int service_create(struct service *s, const struct create_req *r, struct instance *out,
		   struct err *e)
{
	struct image im;
	struct instance in = { .state = STATE_STOPPED };
	pthread_mutex_lock(&s->lock);
	int rc = db_image_get(s->db, r->image, &im, e);
	if (rc < 0)
		goto out;
	if (r->has_kind && r->kind != im.kind) {
		rc = err_set(e, -EINVAL, "image \"%s\": is a %s image, not a %s image", im.name,
			     kind_str(im.kind), kind_str(r->kind));
		goto out;
	}
	snprintf(in.name, sizeof in.name, "%s", r->name);
	snprintf(in.image, sizeof in.image, "%s", r->image);
	in.kind = im.kind;
	in.created_at = (long long)time(NULL);
	snprintf(in.project, sizeof in.project, "%s", r->project[0] ? r->project : PROJECT_DEFAULT);
	in.cpus = r->cpus;
	in.memory_mib = r->memory_mib;
	/* Checked and inserted under one lock, so two launches cannot both
	 * take the last of a quota. */
	struct quota need = { { [QUOTA_INSTANCES] = 1, [QUOTA_CPUS] = instance_cpus(&in),
				[QUOTA_MEMORY] = instance_memory(&in) } };
	if ((rc = project_admit(s->db, in.project, &need, e)) < 0 ||
	    (in.kind == KIND_VM && (rc = placement_check(s->db, &s->place, &need, e)) < 0) ||
	    (rc = claim(s, in.name, e)) < 0)
		goto out;
	rc = db_instance_insert(s->db, &in, e);
	if (rc == 0 && r->network[0] &&
	    (rc = network_nic_add(s->db, &s->net, in.name, in.project, r->network, e)) < 0)
		db_instance_delete(s->db, in.name, NULL);
	if (rc == 0 && r->start) {
		rc = start_locked(s, &in, e);
		if (rc < 0) {
			/* A launch that cannot start leaves nothing behind. */
			driver_for(in.kind)->remove(&s->ctx, &in, NULL);
			network_nic_forget(s->db, &s->net, in.name, NULL);
			db_instance_delete(s->db, in.name, NULL);
		}
	}
	release(s, in.name);
	if (rc == 0)
		*out = in;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Looks name up, refreshed, and claims it.  Lock held. */
static int get_claimed(struct service *s, const char *name, struct instance *in, struct err *e)
{
	int rc = db_instance_get(s->db, name, in, e);
	if (rc == 0)
		rc = claim(s, name, e);
	if (rc == 0 && (rc = refresh(s, in, e)) < 0)
		release(s, name);
	return rc;
}

int service_start(struct service *s, const char *name, struct instance *out, struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = get_claimed(s, name, &in, e);
	if (rc < 0)
		goto out;
	if (in.state == STATE_RUNNING)
		rc = err_set(e, -EALREADY, "instance \"%s\": already running", name);
	else
		rc = start_locked(s, &in, e);
	release(s, name);
	if (rc == 0)
		*out = in;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int stop_locked(struct service *s, struct instance *in, int timeout_s, bool force,
		       struct err *e)
{
	pthread_mutex_unlock(&s->lock);
	int rc = driver_for(in->kind)->stop(&s->ctx, in, timeout_s, force, e);
	pthread_mutex_lock(&s->lock);
	if (rc < 0)
		return rc;
	unplug(s, in);
	meter_instance_stop(s->db, in->name, NULL);
	in->state = STATE_STOPPED;
	in->pid = 0;
	in->pid_start = 0;
	return db_instance_update(s->db, in, e);
}

int service_stop(struct service *s, const char *name, const struct stop_req *r,
		 struct instance *out, struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = get_claimed(s, name, &in, e);
	if (rc < 0)
		goto out;
	if (in.state != STATE_RUNNING)
		rc = err_set(e, -EALREADY, "instance \"%s\": not running", name);
	else
		rc = stop_locked(s, &in, r->timeout_s, r->force, e);
	release(s, name);
	if (rc == 0)
		*out = in;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int service_restart(struct service *s, const char *name, const struct stop_req *r,
		    struct instance *out, struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = get_claimed(s, name, &in, e);
	if (rc < 0)
		goto out;
	if (in.state == STATE_RUNNING)
		rc = stop_locked(s, &in, r->timeout_s, r->force, e);
	if (rc == 0)
		rc = start_locked(s, &in, e);
	release(s, name);
	if (rc == 0)
		*out = in;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int service_delete(struct service *s, const char *name, bool force, struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = get_claimed(s, name, &in, e);
	if (rc < 0)
		goto out;
	if (in.state == STATE_RUNNING && !force)
		rc = err_set(e, -EBUSY, "instance \"%s\": running (stop it first, or delete "
			     "with force)", name);
	else if (in.state == STATE_RUNNING)
		rc = stop_locked(s, &in, 0, true, e);
	if (rc == 0) {
		pthread_mutex_unlock(&s->lock);
		rc = driver_for(in.kind)->remove(&s->ctx, &in, e);
		pthread_mutex_lock(&s->lock);
	}
	if (rc == 0)
		rc = network_nic_forget(s->db, &s->net, name, e);
	if (rc == 0)
		rc = db_instance_delete(s->db, name, e);
	release(s, name);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int service_get(struct service *s, const char *name, struct instance *out, struct err *e)
{
	pthread_mutex_lock(&s->lock);
	int rc = db_instance_get(s->db, name, out, e);
	if (rc == 0)
		rc = refresh(s, out, e);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int service_list(struct service *s, struct instance **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->lock);
	int rc = db_instance_list(s->db, out, n, e);
	for (size_t i = 0; rc == 0 && i < *n; i++)
		rc = refresh(s, &(*out)[i], e);
	if (rc < 0 && *out) {
		free(*out);
		*out = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int service_exec(struct service *s, const char *name, const struct exec_req *r, int *status,
		 char **output, struct err *e)
{
	*output = NULL;
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = db_instance_get(s->db, name, &in, e);
	if (rc == 0)
		rc = refresh(s, &in, e);
	pthread_mutex_unlock(&s->lock);
	if (rc < 0)
		return rc;
	if (in.state != STATE_RUNNING)
		return err_set(e, -EALREADY, "instance \"%s\": not running", name);
	char *out = malloc(EXEC_OUTPUT_MAX + 1);
	if (!out)
		return err_set(e, -ENOMEM, "instance \"%s\": out of memory", name);
	/* Not claimed: an exec may run beside a stop, which then ends it. */
	rc = driver_for(in.kind)->exec(&s->ctx, &in, r->argv, r->timeout_s, out,
				       EXEC_OUTPUT_MAX + 1, e);
	if (rc < 0) {
		free(out);
		return rc;
	}
	logs_make_utf8(out, strlen(out));
	*status = rc;
	*output = out;
	return 0;
}

int service_logs(struct service *s, const char *name, char **out, struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = db_instance_get(s->db, name, &in, e);
	pthread_mutex_unlock(&s->lock);
	char path[4096];
	if (rc == 0)
		rc = instance_path(&s->ctx, name, "console.log", path, sizeof path, e);
	if (rc == 0)
		rc = logs_read(path, in.kind == KIND_CONTAINER, LOGS_TAIL_MAX, out, e);
	return rc;
}

int service_images(struct service *s, struct image **out, size_t *n, struct err *e)
{
	pthread_mutex_lock(&s->lock);
	int rc = db_image_list(s->db, out, n, e);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

struct db *service_lock(struct service *s)
{
	pthread_mutex_lock(&s->lock);
	return s->db;
}

void service_unlock(struct service *s)
{
	pthread_mutex_unlock(&s->lock);
}

const struct net_ctx *service_net(struct service *s)
{
	return &s->net;
}

const struct volume_ctx *service_volumes(struct service *s)
{
	return &s->vol;
}

const struct placement *service_placement(struct service *s)
{
	return &s->place;
}
