/* See service.h. */
#include "daemon/service.h"
#include "daemon/host_key.h"
#include <cjson/cJSON.h>
#include "daemon/disks.h"
#include "daemon/driver.h"
#include "daemon/events.h"
#include "daemon/operations.h"
#include "daemon/fsutil.h"
#include "daemon/images.h"
#include "daemon/journal.h"
#include "daemon/logs.h"
#include "daemon/meter.h"
#include "daemon/migrate.h"
#include "daemon/proc.h"
#include "daemon/network.h"
#include "daemon/placement.h"
#include "daemon/project.h"
#include "daemon/snapshot.h"
#include "daemon/vmm_snapshot.h"
#include "daemon/volume.h"
#include "vmm/board/virt.h"
#include "vmm/vm_cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUSY_MAX 128
#define SERVICE_IMPORTS_MAX 8

struct service {
	char state_dir[4096], runtime[4096], conmon[4096], self_exe[4096], guest_dir[4096];
	char vm_cgroup_parent[256];
	char dnsmasq[4096], qemu_img[4096], dhcp_hook[4096];
	struct driver_ctx ctx;
	struct net_ctx net;
	struct volume_ctx vol;
	char pool[4200];
	struct placement place;
	struct price_list prices;
	struct db *db;
	pthread_mutex_t lock;
	char busy[BUSY_MAX][INSTANCE_NAME_MAX + 1];   /* names with an operation running */
	int adopted, lost, rolled_back;
	int journal_finished, journal_undone;   /* journaled operations recovered at open */
	struct events *events;
	struct watches *watches;
	struct operations *ops;
	/* Image imports in flight: their helper processes (killed when the
	 * service closes) and a condition to wait for them. */
	pid_t import_pids[SERVICE_IMPORTS_MAX];
	int imports_running;
	bool closing;
	pthread_cond_t imports_done;
	int ops_interrupted;
	struct mem_pressure *pressure;
	int jobs_running;            /* snapshot threads (service_snapshot_*) */
};

static void unplug(struct service *s, const struct instance *in);
static int start_locked(struct service *s, struct instance *in, struct err *e);
static int stop_locked(struct service *s, struct instance *in, int timeout_s, bool force,
		       struct err *e);
static int recover_journal(struct service *s, struct err *e);

/* The instance as the host knows it: named by its host key (instance.h),
 * which its directory, processes, cgroup, NIC and metering rows hang off.
 * Drivers and the NIC plumbing get this view, so they never see the name,
 * which only its project holds unique. */
static const struct instance *host_view(const struct instance *in, struct instance *buf)
{
	*buf = *in;
	if (in->key[0])
		memcpy(buf->name, in->key, sizeof buf->name);
	return buf;
}

/* Removes what interrupted imports left: STATE/images/tmp/ and the
 * half-unpacked layers and half-copied disks beside the finished ones. */
static void image_scratch_cleanup(const char *state_dir)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/images/tmp", state_dir);
	rm_rf(path, NULL);
	mkdir_p(path, 0700, NULL);
	static const char *const dirs[] = { "layers", "disk", NULL };
	for (const char *const *d = dirs; *d; d++) {
		snprintf(path, sizeof path, "%s/images/%s", state_dir, *d);
		DIR *dir = opendir(path);
		struct dirent *de;
		while (dir && (de = readdir(dir))) {
			char p[8192 + 512];
			snprintf(p, sizeof p, "%s/%s", path, de->d_name);
			if (strstr(de->d_name, ".tmp-")) {
				rm_rf(p, NULL);
			} else if (!strcmp(*d, "disk") && de->d_name[0] != '.') {
				char t[sizeof p + 32];
				snprintf(t, sizeof t, "%s/disk.raw.tmp", p);
				unlink(t);
				snprintf(t, sizeof t, "%s/disk.qcow2.tmp", p);
				unlink(t);
			}
		}
		if (dir)
			closedir(dir);
	}
}

/*
 * Removes the stored disks (STATE/images/disk/sha256-HEX/) no image row
 * names.  An import helper that outlived a killed daemon finishes its copy
 * after the new one failed its operation: its disk belongs to nobody.  Lock
 * held; only while no import of ours runs (its disk is named only once it
 * is registered).
 */
static void disks_gc(struct service *s)
{
	struct image *v;
	size_t n;
	if (db_image_list(s->db, &v, &n, NULL) < 0)
		return;
	char dir[8192];
	snprintf(dir, sizeof dir, "%s/images/disk", s->state_dir);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "sha256-", 7) || strchr(de->d_name, '.'))
			continue;
		char p[8192 + 300];
		int len = snprintf(p, sizeof p, "%s/%s/", dir, de->d_name);
		bool used = false;
		for (size_t i = 0; i < n && !used; i++)
			used = !strncmp(v[i].path, p, (size_t)len);
		if (!used)
			rm_rf(p, NULL);
	}
	if (d)
		closedir(d);
	free(v);
}

/* Corrects a row whose supervisor is gone, saying why in the event.
 * Called with the lock held. */
static int refresh_why(struct service *s, struct instance *in, const char *why, struct err *e)
{
	if (in->state != STATE_RUNNING || proc_alive((pid_t)in->pid, in->pid_start))
		return 0;
	in->state = STATE_STOPPED;
	in->pid = 0;
	in->pid_start = 0;
	in->paused = false;
	unplug(s, in);
	meter_instance_stop(s->db, in->key, NULL);
	events_publish_in(s->events, in->project, "instance-stopped", in->name, "%s",
		       why && *why ? why : "its supervisor ended");
	return db_instance_update(s->db, in, e);
}

/* Removes a stopped instance's host side of its NIC (network.h). */
static void unplug(struct service *s, const struct instance *in)
{
	char dir[4096];
	struct instance hv;
	/* its traffic, before the NIC and its counters go */
	meter_sample_network(s->db, in->key);
	if (instance_path(&s->ctx, in->key, NULL, dir, sizeof dir, NULL) == 0)
		network_unplug(host_view(in, &hv), dir);
}

static int refresh(struct service *s, struct instance *in, struct err *e)
{
	return refresh_why(s, in, NULL, e);
}

static bool is_busy(struct service *s, const char *name)
{
	for (int i = 0; i < BUSY_MAX; i++)
		if (!strcmp(s->busy[i], name))
			return true;
	return false;
}

/* Records a pause or resume, whoever made it (the API, or someone at the
 * VMM's control socket); publishes it once.  Lock held. */
static void note_paused(struct service *s, const char *name, bool paused)
{
	struct instance in;
	if (db_instance_get(s->db, name, &in, NULL) < 0 || in.state != STATE_RUNNING ||
	    in.paused == paused)
		return;
	in.paused = paused;
	if (db_instance_update(s->db, &in, NULL) == 0)
		events_publish_in(s->events, in.project, paused ? "instance-paused" : "instance-resumed", in.name, "%s",
			       "");
}

/* Watcher callbacks (watch.h), on the watcher's thread. */
static void on_vmm_event(void *cookie, const char *name, const char *type, const char *detail)
{
	struct service *s = cookie;
	pthread_mutex_lock(&s->lock);
	struct instance in;
	bool known = db_instance_get(s->db, name, &in, NULL) == 0;
	const char *owner = known ? in.project : NULL;
	if (!strcmp(type, "paused") || !strcmp(type, "resumed"))
		note_paused(s, name, !strcmp(type, "paused"));
	else if (!strcmp(type, "reset") || !strcmp(type, "guest-panic") ||
		 !strcmp(type, "device-error"))
		events_publish_in(s->events, owner, !strcmp(type, "reset") ? "instance-reset"
					  : !strcmp(type, "guest-panic") ? "instance-guest-panic"
									 : "instance-device-error",
			       known ? in.name : name, "%s", detail);
	pthread_mutex_unlock(&s->lock);
}

static void on_ended(void *cookie, const char *name, long long pid, long long pid_start,
		     const char *why)
{
	struct service *s = cookie;
	struct instance in;
	pthread_mutex_lock(&s->lock);
	/* An operation in progress (a stop) reports the end itself. */
	if (!is_busy(s, name) && db_instance_get(s->db, name, &in, NULL) == 0 &&
	    in.pid == pid && in.pid_start == pid_start)
		refresh_why(s, &in, why, NULL);
	pthread_mutex_unlock(&s->lock);
	/* A VM whose launcher was killed outright left its empty group. */
	if (s->ctx.vm_cgroup_parent)
		vm_cgroup_sweep(s->ctx.vm_cgroup_parent);
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
			if ((rc = refresh_why(s, &v[i], "it ended while the daemon was away", e)) < 0)
				break;
			struct instance hv;
			if (v[i].state == STATE_RUNNING) {
				s->adopted++;
				driver_for(v[i].kind)->watch(&s->ctx, host_view(&v[i], &hv));
				continue;
			}
			s->lost++;
		}
		/* Stopped must mean nothing runs: a start or stop the last daemon
		 * did not finish, or a monitor killed while its container ran,
		 * leaves processes behind; they are killed and forgotten. */
		struct instance hv;
		int killed = driver_for(v[i].kind)->rollback(&s->ctx, host_view(&v[i], &hv), e);
		unplug(s, &v[i]);
		if (killed < 0)
			rc = killed;
		else
			s->rolled_back += killed > 0;
	}
	free(v);
	return rc;
}

/*
 * The VMs' parent cgroup, made (with its weight) once here so that a host
 * whose cgroups we may not write is found at start, with one warning, rather
 * than at every VM's start; and the groups VMMs killed while no daemon ran
 * left behind, swept.  The parent for the driver, or NULL.
 */
static const char *vm_cgroups(struct service *s, const struct service_cfg *cfg)
{
	if (!cfg->vm_cgroup_parent)
		return NULL;
	struct vm_cgroup_limits l = { .parent = cfg->vm_cgroup_parent,
				      .parent_weight = cfg->vm_cgroup_weight,
				      .parent_weight_given = cfg->vm_cgroup_weight != 0 };
	struct err ce = { 0 };
	if (vm_cgroup_make_parent(&l, &ce) < 0) {
		fprintf(stderr, "nimbus: daemon: warning: VMs run without cgroups: %s\n", ce.msg);
		return NULL;
	}
	vm_cgroup_sweep(cfg->vm_cgroup_parent);
	snprintf(s->vm_cgroup_parent, sizeof s->vm_cgroup_parent, "%s", cfg->vm_cgroup_parent);
	return s->vm_cgroup_parent;
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
	snprintf(s->dnsmasq, sizeof s->dnsmasq, "%s", cfg->dnsmasq ? cfg->dnsmasq : "/usr/sbin/dnsmasq");
	/* The DHCP hook is built beside the binaries (nimbus, nimbusd). */
	snprintf(s->dhcp_hook, sizeof s->dhcp_hook, "%s", s->self_exe);
	char *slash = strrchr(s->dhcp_hook, '/');
	snprintf(slash ? slash + 1 : s->dhcp_hook,
		 sizeof s->dhcp_hook - (size_t)(slash ? slash + 1 - s->dhcp_hook : 0), "%s",
		 "nimbus-dhcp-hook");
	s->net = (struct net_ctx){ s->state_dir, s->dnsmasq, "/bin/busybox", s->dhcp_hook };
	snprintf(s->qemu_img, sizeof s->qemu_img, "%s", cfg->qemu_img ? cfg->qemu_img : "/usr/bin/qemu-img");
	snprintf(s->pool, sizeof s->pool, "%s/volumes", s->state_dir);
	s->place = (struct placement){ .ratio = { cfg->ratio[0], cfg->ratio[1], cfg->ratio[2] },
				       .pool = s->pool, .load = cfg->load };
	s->prices = cfg->prices;
	s->vol = (struct volume_ctx){ s->state_dir, s->qemu_img, &s->place };
	pthread_mutex_init(&s->lock, NULL);
	char path[8192];
	int rc;
	struct watch_sink sink = { on_vmm_event, on_ended, s };
	s->events = events_new();
	s->watches = watches_new(&sink);
	if (!s->events || !s->watches) {
		rc = err_set(e, -ENOMEM, "daemon: out of memory");
		goto fail;
	}
	snprintf(s->guest_dir, sizeof s->guest_dir, "%s", cfg->guest_dir ? cfg->guest_dir : "");
	s->ctx = (struct driver_ctx){ s->state_dir, s->runtime, s->conmon, s->self_exe,
				      s->watches, cfg->guest_dir ? s->guest_dir : NULL,
				      cfg->mem_merge, vm_cgroups(s, cfg) };
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
	pthread_cond_init(&s->imports_done, NULL);
	if ((rc = db_open(path, &s->db, e)) < 0 ||
	    (rc = images_init(s->db, cfg->state_dir, cfg->guest_dir, e)) < 0 ||
	    (rc = network_reconcile(s->db, &s->net, e)) < 0 ||
	    (rc = reconcile(s, e)) < 0 ||
	    (rc = recover_journal(s, e)) < 0)
		goto fail;
	if (!(s->ops = operations_open(s->db, &s->lock, &s->ops_interrupted, e))) {
		rc = e && e->code ? e->code : -ENOMEM;
		goto fail;
	}
	/* An import a killed daemon left half-done leaves only scratch files:
	 * images are registered in one step at the end. */
	image_scratch_cleanup(s->state_dir);
	/* And a snapshot's files without their row (snapshot.h). */
	pthread_mutex_lock(&s->lock);
	snapshot_sweep(s->db, s->state_dir);
	pthread_mutex_unlock(&s->lock);
	if ((rc = mem_pressure_start(s, &s->ctx, &cfg->pressure, &s->pressure, e)) < 0)
		goto fail;
	/* Last: a move a killed daemon left is settled with its target in a
	 * thread that deletes the instance if it moved (migrate_recover.c). */
	int moves;
	if ((rc = service_migrate_recover(s, &moves, e)) < 0)
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
	/* It lists instances and talks to VMMs: first to go. */
	mem_pressure_stop(s->pressure);
	events_close(s->events);
	/* Imports in flight end with the daemon; their scratch files are
	 * removed at the next start. */
	pthread_mutex_lock(&s->lock);
	s->closing = true;
	for (int i = 0; i < SERVICE_IMPORTS_MAX; i++)
		if (s->import_pids[i] > 0)
			kill(s->import_pids[i], SIGKILL);
	while (s->imports_running || s->jobs_running)
		pthread_cond_wait(&s->imports_done, &s->lock);
	pthread_mutex_unlock(&s->lock);
	/* Watchers take the lock in their callbacks: end them before anything goes. */
	watches_free(s->watches);
	operations_free(s->ops);
	db_close(s->db);
	events_free(s->events);
	pthread_cond_destroy(&s->imports_done);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void service_shutdown(struct service *s)
{
	events_close(s->events);
}

struct events *service_events(struct service *s)
{
	return s->events;
}

void service_journal_counts(const struct service *s, int *finished, int *undone)
{
	*finished = s->journal_finished;
	*undone = s->journal_undone;
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

/* Ends name's operation: its journal entry (if any) and its busy mark. */
static void release(struct service *s, const char *name)
{
	journal_end(s->db, name, NULL);
	for (int i = 0; i < BUSY_MAX; i++)
		if (!strcmp(s->busy[i], name))
			s->busy[i][0] = 0;
}

/* The start gate of an instance whose NICs wait for their leases. */
struct lease_wait {
	const char *dir;
	struct nic_leases *leases;
};

static int leases_ready(void *arg, struct err *e)
{
	struct lease_wait *w = arg;
	return network_dhcp_wait(w->dir, w->leases, e);
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
	struct instance hv;
	struct nic_leases leases;
	if ((rc = instance_path(&s->ctx, in->key, NULL, dir, sizeof dir, e)) < 0 ||
	    (rc = volume_prepare(s->db, &s->vol, in->key, dir, e)) < 0 ||
	    (rc = network_plug(s->db, &s->net, host_view(in, &hv), dir, &leases, e)) < 0)
		return rc;
	pthread_mutex_unlock(&s->lock);
	/* A container starts with its addresses (DHCP), never without. */
	struct lease_wait lw = { dir, &leases };
	struct start_gate gate = { leases_ready, &lw };
	rc = driver_for(in->kind)->start(&s->ctx, &hv, &im, &gate, e);
	pthread_mutex_lock(&s->lock);
	if (rc < 0) {
		network_dhcp_abandon(&leases);
		network_unplug(&hv, dir);
		return rc;
	}
	in->pid = hv.pid;
	in->pid_start = hv.pid_start;
	in->state = STATE_RUNNING;
	in->paused = false;
	in->started_at = (long long)time(NULL);
	meter_instance_start(s->db, host_view(in, &hv), NULL);
	rc = db_instance_update(s->db, in, e);
	if (rc == 0)
		events_publish_in(s->events, in->project, "instance-started", in->name, "pid %lld", in->pid);
	return rc;
}

/* Picks in's host key (instance.h, host_key.h).  Lock held. */
static int host_key(struct service *s, struct instance *in, struct err *e)
{
	return host_key_pick(s->db, "instances", in->name, in->key, sizeof in->key, e);
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
	/* A project's private image is no other project's (no existence leak). */
	if (im.project[0] && strcmp(im.project, r->project[0] ? r->project : PROJECT_DEFAULT)) {
		rc = err_set(e, -ENOENT, "image \"%s\": no such image", r->image);
		goto out;
	}
	if (r->has_kind && r->kind != im.kind) {
		rc = err_set(e, -EINVAL, "image \"%s\": is a %s image, not a %s image", im.name,
			     kind_str(im.kind), kind_str(r->kind));
		goto out;
	}
	if (r->command[0] && im.kind != KIND_CONTAINER) {
		rc = err_set(e, -EINVAL, "image \"%s\": a VM image; a command is for containers",
			     im.name);
		goto out;
	}
	snprintf(in.name, sizeof in.name, "%s", r->name);
	snprintf(in.image, sizeof in.image, "%s", r->image);
	snprintf(in.command, sizeof in.command, "%s", r->command);
	in.kind = im.kind;
	if (r->terminal && im.kind != KIND_CONTAINER) {
		rc = err_set(e, -EINVAL, "image \"%s\": a VM image; a VM's console is always a "
			     "terminal (\"terminal\" is for containers)", im.name);
		goto out;
	}
	in.terminal = r->terminal;
	in.created_at = (long long)time(NULL);
	snprintf(in.project, sizeof in.project, "%s", r->project[0] ? r->project : PROJECT_DEFAULT);
	in.cpus = r->cpus;
	in.memory_mib = r->memory_mib;
	/* Checked and inserted under one lock, so two launches cannot both
	 * take the last of a quota. */
	struct quota need = { { [QUOTA_INSTANCES] = 1, [QUOTA_CPUS] = instance_cpus(&in),
				[QUOTA_MEMORY] = instance_memory(&in) } };
	for (size_t i = 0; i < r->ndisks; i++)   /* a profile's disks: all new */
		need.v[QUOTA_DISK] += r->disks[i].size_mib << 20;
	struct instance other;
	if (db_instance_find(s->db, in.project, in.name, &other, NULL) == 0) {
		rc = err_set(e, -EEXIST, "instance \"%s\": already exists", in.name);
		goto out;
	}
	if ((rc = host_key(s, &in, e)) < 0 ||
	    (rc = project_admit(s->db, in.project, &need, e)) < 0 ||
	    (in.kind == KIND_VM && (rc = placement_check(s->db, &s->place, &need, e)) < 0) ||
	    (rc = claim(s, in.key, e)) < 0)
		goto out;
	/* Journaled before the row exists: a daemon killed from here on has
	 * the next one undo the launch (or keep it, once it runs). */
	if ((rc = journal_begin(s->db, &in, r->start ? JOURNAL_LAUNCH : JOURNAL_CREATE, e)) == 0)
		rc = db_instance_insert(s->db, &in, e);
	if (rc == 0 && r->network[0] &&
	    (rc = network_nic_add(s->db, &s->net, in.key, in.project, r->network, e)) < 0)
		db_instance_delete(s->db, in.key, NULL);
	for (int i = 0; rc == 0 && i < r->nmore_networks; i++)
		if ((rc = network_nic_add(s->db, &s->net, in.key, in.project, r->more_networks[i],
					  e)) < 0) {
			network_nic_forget(s->db, &s->net, in.key, NULL);
			db_instance_delete(s->db, in.key, NULL);
		}
	/* A profile's disks (api_launch) are the instance's before it first
	 * starts, within the same journaled launch. */
	char dir[4096];
	long long growth;
	if (rc == 0 && r->ndisks &&
	    ((rc = disks_check(s->db, &in, r->disks, r->ndisks, &growth, e)) < 0 ||
	     (rc = instance_path(&s->ctx, in.key, NULL, dir, sizeof dir, e)) < 0 ||
	     (rc = disks_apply(s->db, dir, in.key, r->disks, r->ndisks, e)) < 0)) {
		struct instance hv;
		driver_for(in.kind)->remove(&s->ctx, host_view(&in, &hv), NULL);
		network_nic_forget(s->db, &s->net, in.key, NULL);
		db_instance_delete(s->db, in.key, NULL);
	}
	if (rc == 0)
		events_publish_in(s->events, in.project, "instance-created", in.name, "%s %s", kind_str(in.kind),
			       in.image);
	if (rc == 0 && r->start) {
		rc = start_locked(s, &in, e);
		if (rc < 0) {
			/* A launch that cannot start leaves nothing behind. */
			struct instance hv;
			driver_for(in.kind)->remove(&s->ctx, host_view(&in, &hv), NULL);
			network_nic_forget(s->db, &s->net, in.key, NULL);
			db_instance_delete(s->db, in.key, NULL);
			events_publish_in(s->events, in.project, "instance-deleted", in.name, "it could not start");
		}
	}
	release(s, in.key);
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

/* get_claimed, and op journaled before anything is done (journal.h), so a
 * daemon killed during it finishes or undoes it at its next start. */
static int get_journaled(struct service *s, const char *name, enum journal_op op,
			 struct instance *in, struct err *e)
{
	int rc = get_claimed(s, name, in, e);
	if (rc == 0 && (rc = journal_begin(s->db, in, op, e)) < 0)
		release(s, name);
	return rc;
}

int service_start(struct service *s, const char *name, struct instance *out, struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = get_journaled(s, name, JOURNAL_START, &in, e);
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
	const struct driver *d = driver_for(in->kind);
	struct instance hv;
	host_view(in, &hv);
	pthread_mutex_unlock(&s->lock);
	/* A frozen container would take neither SIGTERM nor SIGKILL, nor a
	 * paused guest a shutdown: thaw it first. */
	if (in->paused)
		d->pause(&s->ctx, &hv, false, NULL);
	int rc = d->stop(&s->ctx, &hv, timeout_s, force, e);
	pthread_mutex_lock(&s->lock);
	if (rc < 0)
		return rc;
	unplug(s, in);
	meter_instance_stop(s->db, in->key, NULL);
	in->state = STATE_STOPPED;
	in->pid = 0;
	in->pid_start = 0;
	in->paused = false;
	rc = db_instance_update(s->db, in, e);
	if (rc == 0)
		events_publish_in(s->events, in->project, "instance-stopped", in->name, "%s",
			       force ? "forced" : "stopped");
	return rc;
}

int service_stop(struct service *s, const char *name, const struct stop_req *r,
		 struct instance *out, struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = get_journaled(s, name, JOURNAL_STOP, &in, e);
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
	int rc = get_journaled(s, name, JOURNAL_RESTART, &in, e);
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
	int rc = get_journaled(s, name, JOURNAL_DELETE, &in, e);
	if (rc < 0)
		goto out;
	if (in.state == STATE_RUNNING && !force)
		rc = err_set(e, -EBUSY, "instance \"%s\": running (stop it first, or delete "
			     "with force)", name);
	else if (in.state == STATE_RUNNING)
		rc = stop_locked(s, &in, 0, true, e);
	if (rc == 0) {
		struct instance hv;
		host_view(&in, &hv);
		pthread_mutex_unlock(&s->lock);
		rc = driver_for(in.kind)->remove(&s->ctx, &hv, e);
		pthread_mutex_lock(&s->lock);
	}
	if (rc == 0)
		rc = network_nic_forget(s->db, &s->net, name, e);
	if (rc == 0)
		rc = db_instance_delete(s->db, name, e);
	if (rc == 0)
		events_publish_in(s->events, in.project, "instance-deleted", in.name, "%s", "");
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
	struct instance hv;
	rc = driver_for(in.kind)->exec(&s->ctx, host_view(&in, &hv), r->argv, r->timeout_s, out,
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

int service_exec_target(struct service *s, const char *name, struct instance *out, struct err *e)
{
	pthread_mutex_lock(&s->lock);
	int rc = db_instance_get(s->db, name, out, e);
	if (rc == 0)
		rc = refresh(s, out, e);
	pthread_mutex_unlock(&s->lock);
	if (rc == 0 && out->state != STATE_RUNNING)
		rc = err_set(e, -EALREADY, "instance \"%s\": not running", name);
	return rc;
}

int service_exec_stream(struct service *s, const struct instance *in, const struct exec_req *r,
			struct exec_client *x, struct err *e)
{
	/* Not claimed, as service_exec: a stop ends it. */
	return driver_for(in->kind)->exec_stream(&s->ctx, in, r, x, e);
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

const struct driver_ctx *service_driver_ctx(struct service *s)
{
	return &s->ctx;
}

struct mem_pressure *service_pressure(struct service *s)
{
	return s->pressure;
}

const struct placement *service_placement(struct service *s)
{
	return &s->place;
}

void service_vm_cpu_set(struct service *s, const struct vm_cpu_measure *m)
{
	pthread_mutex_lock(&s->lock);
	s->place.vm_cpu = *m;
	pthread_mutex_unlock(&s->lock);
}

const struct price_list *service_prices(struct service *s)
{
	return &s->prices;
}

int service_pause(struct service *s, const char *name, bool pause, struct instance *out,
		  struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = get_claimed(s, name, &in, e);
	if (rc < 0)
		goto out;
	if (in.state != STATE_RUNNING)
		rc = err_set(e, -EALREADY, "instance \"%s\": not running", name);
	else if (in.paused == pause)
		rc = err_set(e, -EALREADY, "instance \"%s\": %s", name,
			     pause ? "already paused" : "not paused");
	if (rc == 0) {
		pthread_mutex_unlock(&s->lock);
		struct instance hv;
		rc = driver_for(in.kind)->pause(&s->ctx, host_view(&in, &hv), pause, e);
		pthread_mutex_lock(&s->lock);
	}
	if (rc == 0) {
		note_paused(s, name, pause);
		rc = db_instance_get(s->db, name, &in, e);
	}
	release(s, name);
	if (rc == 0)
		*out = in;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int service_config(struct service *s, const char *name, const struct config_req *r,
		   struct instance *out, struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = get_claimed(s, name, &in, e);
	if (rc < 0)
		goto out;
	if (r->has_cpus && in.kind == KIND_VM && r->cpus > VM_MAX_CPUS) {
		rc = err_set(e, -EINVAL, "instance \"%s\": cpus %d: a VM has at most %d", name,
			     r->cpus, VM_MAX_CPUS);
		release(s, name);
		goto out;
	}
	/* What the change adds to the instance's reservation is checked as a
	 * launch is, against its project's quotas and (a VM) the host's room;
	 * a decrease needs nothing. */
	struct quota need = { { [QUOTA_CPUS] = -instance_cpus(&in),
				[QUOTA_MEMORY] = -instance_memory(&in) } };
	if (r->has_cpus)
		in.cpus = r->cpus;
	if (r->has_memory)
		in.memory_mib = r->memory_mib;
	need.v[QUOTA_CPUS] += instance_cpus(&in);
	need.v[QUOTA_MEMORY] += instance_memory(&in);
	/* Disks (disks.h) are checked whole before anything is written; what
	 * they add counts for disk as a volume's size does. */
	if (r->ndisks)
		rc = disks_check(s->db, &in, r->disks, r->ndisks, &need.v[QUOTA_DISK], e);
	if (rc == 0 && (rc = project_admit(s->db, in.project, &need, e)) == 0 &&
	    in.kind == KIND_VM)
		rc = placement_check(s->db, &s->place, &need, e);
	if (rc == 0)
		rc = db_instance_update(s->db, &in, e);
	char dir[4096];
	if (rc == 0 && r->ndisks && (rc = instance_path(&s->ctx, name, NULL, dir, sizeof dir, e)) == 0)
		rc = disks_apply(s->db, dir, name, r->disks, r->ndisks, e);
	if (rc == 0)
		events_publish_in(s->events, in.project, "instance-updated", in.name, "cpus %d, memory %lld MiB%s%s",
			       in.cpus, in.memory_mib, r->ndisks ? ", disks" : "",
			       in.state == STATE_RUNNING ? " (from the next start)" : "");
	release(s, name);
	if (rc == 0)
		*out = in;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Runs fn(arg) on a detached thread, the work of operation id; if no thread
 * can be made, the operation fails with the reason. */
static int operation_thread(struct service *s, const char *id, void *(*fn)(void *), void *arg,
			    struct err *e)
{
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int cr = pthread_create(&t, &a, fn, arg);
	pthread_attr_destroy(&a);
	if (cr == 0)
		return 0;
	int rc = err_set(e, -cr, "operation %s: thread: %s", id, strerror(cr));
	operations_finish(s->ops, id, e);
	return rc;
}

/* --- images ------------------------------------------------------------ */

struct import_job {
	struct service *s;
	char op[OPERATION_ID_MAX];
	char name[INSTANCE_NAME_MAX + 1];
	char source[4096];
	int slot;
};

/* Registers what the helper made (its result line) as image name. */
static int import_register(struct service *s, const char *name, const char *result,
			   struct err *e)
{
	cJSON *j = cJSON_Parse(result);
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(j, "path");
	const cJSON *digest = cJSON_GetObjectItemCaseSensitive(j, "digest");
	struct image im = { 0 };
	int rc;
	if (!cJSON_IsString(kind) || !cJSON_IsString(path) || !cJSON_IsString(digest) ||
	    kind_parse(kind->valuestring, &im.kind) < 0 ||
	    strlen(path->valuestring) >= sizeof im.path) {
		rc = err_set(e, -EIO, "image \"%s\": the import helper sent a bad result", name);
	} else {
		snprintf(im.name, sizeof im.name, "%s", name);
		snprintf(im.path, sizeof im.path, "%s", path->valuestring);
		pthread_mutex_lock(&s->lock);
		struct image old;
		rc = db_image_get(s->db, name, &old, NULL) == 0
			? err_set(e, -EEXIST, "image \"%s\": already exists", name)
			: db_image_put(s->db, &im, e);
		if (rc == 0)
			events_publish(s->events, "image-imported", NULL, "%s: %s image %s", name,
				       kind->valuestring, digest->valuestring);
		pthread_mutex_unlock(&s->lock);
	}
	cJSON_Delete(j);
	return rc;
}

static void *import_thread(void *arg)
{
	struct import_job *job = arg;
	struct service *s = job->s;
	struct err e = { 0 };
	int rc = 0;
	int pfd[2] = { -1, -1 };
	pid_t pid = -1;
	char *argv[] = { s->self_exe, "image-import-helper", job->source, s->state_dir, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rc = err_set(&e, -errno, "image import: pipe: %s", strerror(errno));
	} else {
		posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
		posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
		extern char **environ;
		int sr = posix_spawn(&pid, s->self_exe, &fa, NULL, argv, environ);
		if (sr != 0)
			rc = err_set(&e, -sr, "image import: %s: %s", s->self_exe, strerror(sr));
		close(pfd[1]);
	}
	posix_spawn_file_actions_destroy(&fa);
	pthread_mutex_lock(&s->lock);
	s->import_pids[job->slot] = pid;
	if (s->closing && pid > 0)
		kill(pid, SIGKILL);
	pthread_mutex_unlock(&s->lock);
	char result[8192] = "", errline[600] = "";
	if (rc == 0) {
		FILE *f = fdopen(pfd[0], "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while (f && (n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] == '\n')
				line[n - 1] = 0;
			int pct;
			int used = 0;
			if (sscanf(line, "progress %d %n", &pct, &used) == 1 && used > 0)
				operations_progress(s->ops, job->op, pct, line + used);
			else if (!strncmp(line, "result ", 7))
				snprintf(result, sizeof result, "%s", line + 7);
			else if (!strncmp(line, "error ", 6))
				snprintf(errline, sizeof errline, "%s", line + 6);
			else if (!*errline)
				snprintf(errline, sizeof errline, "%s", line);
		}
		free(line);
		if (f)
			fclose(f);
		else
			close(pfd[0]);
		int st = 0;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(st))
			rc = err_set(&e, -EIO, "image \"%s\": the import was stopped (signal %d)%s%s",
				     job->name, WTERMSIG(st), *errline ? ": " : "", errline);
		else if (WEXITSTATUS(st) != 0 || !*result)
			rc = err_set(&e, WEXITSTATUS(st) == 2 ? -EINVAL : -EIO, "image \"%s\": %s",
				     job->name, *errline ? errline : "the import failed");
		else
			rc = import_register(s, job->name, result, &e);
	} else if (pfd[0] >= 0) {
		close(pfd[0]);
	}
	operations_finish(s->ops, job->op, rc < 0 ? &e : NULL);
	pthread_mutex_lock(&s->lock);
	s->import_pids[job->slot] = 0;
	if (--s->imports_running == 0)
		disks_gc(s);
	pthread_cond_broadcast(&s->imports_done);
	pthread_mutex_unlock(&s->lock);
	free(job);
	return NULL;
}

int service_image_import(struct service *s, const char *source, const char *name,
			 struct operation *out, struct err *e)
{
	int rc = name_check("image", name, e);
	if (rc < 0)
		return rc;
	if (source[0] != '/')
		return err_set(e, -EINVAL, "source %.200s: must be an absolute path on the daemon's "
			       "host", source);
	if (access(source, R_OK) < 0)
		return err_set(e, -EINVAL, "source %.200s: %s", source, strerror(errno));
	struct import_job *job = calloc(1, sizeof *job);
	if (!job)
		return err_set(e, -ENOMEM, "daemon: out of memory");
	job->s = s;
	snprintf(job->name, sizeof job->name, "%s", name);
	if (snprintf(job->source, sizeof job->source, "%s", source) >= (int)sizeof job->source) {
		free(job);
		return err_set(e, -EINVAL, "source: path too long");
	}
	struct image old;
	pthread_mutex_lock(&s->lock);
	job->slot = -1;
	for (int i = 0; i < SERVICE_IMPORTS_MAX && job->slot < 0; i++)
		if (!s->import_pids[i])
			job->slot = i;
	if (db_image_get(s->db, name, &old, NULL) == 0)
		rc = err_set(e, -EEXIST, "image \"%s\": already exists", name);
	else if (job->slot < 0 || s->imports_running >= SERVICE_IMPORTS_MAX)
		rc = err_set(e, -EAGAIN, "image \"%s\": %d imports are running; try again later",
			     name, SERVICE_IMPORTS_MAX);
	if (rc == 0) {
		s->import_pids[job->slot] = -1;   /* taken until the helper's pid is known */
		s->imports_running++;
	}
	pthread_mutex_unlock(&s->lock);
	char res[128];
	snprintf(res, sizeof res, "/1.0/images/%s", name);
	if (rc == 0)
		rc = operations_start(s->ops, "image-import", res, out, e);
	if (rc == 0) {
		snprintf(job->op, sizeof job->op, "%s", out->id);
		if ((rc = operation_thread(s, out->id, import_thread, job, e)) == 0)
			return 0;
	}
	if (job->slot >= 0 && rc != -EEXIST && rc != -EAGAIN) {
		pthread_mutex_lock(&s->lock);
		s->import_pids[job->slot] = 0;
		s->imports_running--;
		pthread_cond_broadcast(&s->imports_done);
		pthread_mutex_unlock(&s->lock);
	}
	free(job);
	return rc;
}

/* Whether some image row has path p.  Lock held. */
static bool path_in_use(struct service *s, const char *p)
{
	struct image *v;
	size_t n;
	bool used = false;
	if (db_image_list(s->db, &v, &n, NULL) < 0)
		return true;
	for (size_t i = 0; i < n && !used; i++)
		used = !strcmp(v[i].path, p);
	free(v);
	return used;
}

/* Layers no image lists any more.  Lock held; not while an import runs
 * (its layers are not listed until it ends). */
static void layers_gc(struct service *s)
{
	char dir[8192], path[8192 + 600];
	snprintf(dir, sizeof dir, "%s/images/layers", s->state_dir);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "sha256-", 7) || strchr(de->d_name, '.'))
			continue;
		/* Listed by an image if its `layers` file names it. */
		bool used = false;
		char odir[8192];
		snprintf(odir, sizeof odir, "%s/images/oci", s->state_dir);
		DIR *od = opendir(odir);
		struct dirent *oe;
		while (od && !used && (oe = readdir(od))) {
			if (oe->d_name[0] == '.')
				continue;
			char lf[8192 + 600], buf[65536];
			snprintf(lf, sizeof lf, "%s/%s/layers", odir, oe->d_name);
			ssize_t n = read_file(lf, buf, sizeof buf - 1);
			if (n > 0) {
				buf[n] = 0;
				used = strstr(buf, de->d_name + 7) != NULL;
			}
		}
		if (od)
			closedir(od);
		if (!used) {
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			rm_rf(path, NULL);
		}
	}
	if (d)
		closedir(d);
}

int service_image_delete(struct service *s, const char *name, struct err *e)
{
	struct image im;
	pthread_mutex_lock(&s->lock);
	int rc = db_image_get(s->db, name, &im, e);
	if (rc == 0 && (!strcmp(name, "bb") || !strcmp(name, "default")))
		rc = err_set(e, -EINVAL, "image \"%s\": built in (it comes back at the daemon's "
			     "next start)", name);
	if (rc == 0)
		rc = db_image_delete(s->db, name, e);
	if (rc == 0) {
		events_publish(s->events, "image-deleted", NULL, "%s", name);
		/* Content shared with another name stays. */
		char store[8192];
		snprintf(store, sizeof store, "%s/images/", s->state_dir);
		if (!strncmp(im.path, store, strlen(store)) && !path_in_use(s, im.path)) {
			char *slash = strrchr(im.path, '/');
			bool disk = strstr(im.path, "/images/disk/") != NULL;
			if (disk && slash)
				*slash = 0;   /* the directory holding the disk */
			rm_rf(im.path, NULL);
		}
		if (!s->imports_running) {
			layers_gc(s);
			disks_gc(s);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

struct operations *service_operations(struct service *s)
{
	return s->ops;
}

int service_console_socket(struct service *s, const char *name, char *path, size_t len,
			   bool *seqpacket, struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = db_instance_get(s->db, name, &in, e);
	if (rc == 0)
		rc = refresh(s, &in, e);
	pthread_mutex_unlock(&s->lock);
	if (rc < 0)
		return rc;
	if (in.state != STATE_RUNNING)
		return err_set(e, -EALREADY, "instance \"%s\": not running (its last output: "
			       "`nimbus logs %s`)", name, name);
	*seqpacket = in.kind == KIND_CONTAINER;
	rc = instance_path(&s->ctx, name, *seqpacket ? "attach" : "console.sock", path, len, e);
	if (rc == 0 && access(path, F_OK) < 0)
		rc = err_set(e, -ENOSYS, "instance \"%s\": started before consoles were served "
			     "(restart it to get one)", name);
	return rc;
}

int service_interrupted_operations(const struct service *s)
{
	return s->ops_interrupted;
}

/* Removes an instance whose launch is undone or whose delete is finished:
 * whatever still runs for it, its files, NIC and row.  Lock held. */
static int forget_instance(struct service *s, const struct journal_entry *j, bool have_row,
			   struct instance *in, const char *why, struct err *e)
{
	struct instance hv = { .kind = j->kind };
	if (have_row)
		host_view(in, &hv);
	else
		snprintf(hv.name, sizeof hv.name, "%s", j->key);
	const struct driver *d = driver_for(hv.kind);
	int rc = d->rollback(&s->ctx, &hv, e);
	if (rc >= 0)
		rc = d->remove(&s->ctx, &hv, e);
	if (rc >= 0 && have_row) {
		unplug(s, in);
		if ((rc = network_nic_forget(s->db, &s->net, j->key, e)) == 0 &&
		    (rc = db_instance_delete(s->db, j->key, e)) == 0)
			events_publish_in(s->events, j->project, "instance-deleted", j->name, "%s", why);
	}
	return rc < 0 ? rc : 0;
}

/* Finishes or undoes what a killed daemon was doing (journal.h).  Runs
 * after reconcile, so each row says whether its supervisor lives, and
 * stopped ones have nothing running. */
static int recover_journal(struct service *s, struct err *e)
{
	struct journal_entry *v;
	size_t n;
	pthread_mutex_lock(&s->lock);
	int rc = journal_list(s->db, &v, &n, e);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct journal_entry *j = &v[i];
		struct instance in;
		/* Busy, so the watcher reconcile gave it stays out of a stop. */
		if ((rc = claim(s, j->key, e)) < 0)
			break;
		bool have = db_instance_get(s->db, j->key, &in, NULL) == 0;
		bool running = have && in.state == STATE_RUNNING;
		bool undone = false;
		switch (j->op) {
		case JOURNAL_LAUNCH:
		case JOURNAL_CREATE:
			/* A launch is done once it runs, a create once its row exists. */
			if (!have || (j->op == JOURNAL_LAUNCH && !running)) {
				rc = forget_instance(s, j, have, &in, "its launch was interrupted by "
						     "the daemon's end", e);
				undone = true;
			}
			break;
		case JOURNAL_START:
			undone = !running;   /* reconcile left it stopped, nothing running */
			break;
		case JOURNAL_STOP:
			if (running)
				rc = stop_locked(s, &in, 0, true, e);
			break;
		case JOURNAL_RESTART:
			if (have && !running)
				rc = start_locked(s, &in, e);
			break;
		case JOURNAL_DELETE:
			if (running)
				rc = stop_locked(s, &in, 0, true, e);
			if (rc == 0)
				rc = forget_instance(s, j, have, &in, "its delete was finished at the "
						     "daemon's restart", e);
			break;
		}
		if (rc < 0) {
			release(s, j->key);
			break;
		}
		if (undone)
			s->journal_undone++;
		else
			s->journal_finished++;
		release(s, j->key);
	}
	pthread_mutex_unlock(&s->lock);
	free(v);
	return rc;
}

/* --- snapshots (snapshot.h) ------------------------------------------------ */

struct snapshot_job {
	struct service *s;
	struct instance in;
	char name[INSTANCE_NAME_MAX + 1];
	char op[OPERATION_ID_MAX];
	bool restore;
};

/* The instance name names in a state a snapshot verb can work on: a VM.  Lock held. */
static int snapshot_target(struct service *s, const char *name, struct instance *in,
			   struct err *e)
{
	int rc = db_instance_get(s->db, name, in, e);
	if (rc == 0 && (rc = refresh(s, in, e)) == 0 && in->kind != KIND_VM)
		rc = err_set(e, -ENOSYS, "instance \"%s\": a container; snapshots are of VMs",
			     in->name);
	return rc;
}

/* Saves the running VM (create), or stops it and starts it from the
 * snapshot (restore); the instance is claimed until it is done. */
static void *snapshot_thread(void *arg)
{
	struct snapshot_job *job = arg;
	struct service *s = job->s;
	struct err e = { 0 };
	char dir[4096];
	struct instance hv;
	int rc = snapshot_dir(s->state_dir, job->in.key, job->name, dir, sizeof dir, &e);
	if (rc == 0 && !job->restore) {
		operations_progress(s->ops, job->op, 10, "saving guest memory and state");
		rc = vmm_snapshot_save(&s->ctx, host_view(&job->in, &hv), dir, &e);
		struct snapshot sn = { .created_at = (long long)time(NULL) };
		snprintf(sn.name, sizeof sn.name, "%s", job->name);
		static const char *const files[] = { "memory", "state" };
		for (int i = 0; i < 2 && rc == 0; i++) {
			char f[4200];
			struct stat st;
			snprintf(f, sizeof f, "%s/%s", dir, files[i]);
			if (stat(f, &st) == 0)
				sn.size += (long long)st.st_blocks * 512;
		}
		pthread_mutex_lock(&s->lock);
		if (rc == 0 && (rc = snapshot_add(s->db, job->in.key, &sn, &e)) == 0)
			events_publish_in(s->events, job->in.project, "instance-snapshot", job->in.name,
					  "snapshot %s saved", job->name);
		if (rc < 0)
			rm_rf(dir, NULL);
	} else if (rc == 0) {
		operations_progress(s->ops, job->op, 10, "stopping the VM");
		pthread_mutex_lock(&s->lock);
		struct instance in;
		char file[4200];
		if ((rc = db_instance_get(s->db, job->in.key, &in, &e)) == 0 &&
		    (rc = refresh(s, &in, &e)) == 0 && in.state == STATE_RUNNING)
			rc = stop_locked(s, &in, 0, true, &e);
		/* Written before the start, so a daemon killed now restores it at
		 * its next start (the journal's restart, journal.h). */
		if (rc == 0 && (rc = instance_path(&s->ctx, in.key, VMM_RESTORE_FILE, file,
						   sizeof file, &e)) == 0)
			rc = write_file(file, dir, strlen(dir), 0600, &e);
		if (rc == 0) {
			pthread_mutex_unlock(&s->lock);
			operations_progress(s->ops, job->op, 50, "starting the VM from the snapshot");
			pthread_mutex_lock(&s->lock);
			rc = start_locked(s, &in, &e);
		}
		if (rc == 0)
			events_publish_in(s->events, in.project, "instance-restored", in.name,
					  "from snapshot %s", job->name);
	}
	if (rc != 0 && !e.code)
		err_set(&e, rc, "snapshot \"%s\": failed", job->name);
	release(s, job->in.key);
	s->jobs_running--;
	pthread_cond_broadcast(&s->imports_done);
	pthread_mutex_unlock(&s->lock);
	operations_finish(s->ops, job->op, rc < 0 ? &e : NULL);
	free(job);
	return NULL;
}

/* Claims the instance and runs job on a thread of its own, as an operation
 * (returned in out).  Lock held on entry, dropped on return. */
static int snapshot_start(struct service *s, struct snapshot_job *job, struct operation *out,
			  struct err *e)
{
	int rc = claim(s, job->in.key, e);
	if (rc == 0 && job->restore)
		rc = journal_begin(s->db, &job->in, JOURNAL_RESTART, e);
	if (rc == 0)
		s->jobs_running++;
	pthread_mutex_unlock(&s->lock);
	if (rc < 0) {
		if (rc != -EBUSY && rc != -EAGAIN) {
			pthread_mutex_lock(&s->lock);
			release(s, job->in.key);
			pthread_mutex_unlock(&s->lock);
		}
		free(job);
		return rc;
	}
	char res[200];
	snprintf(res, sizeof res, "/1.0/instances/%s/snapshots/%s", job->in.name, job->name);
	rc = operations_start_in(s->ops, job->in.project,
				 job->restore ? "snapshot-restore" : "snapshot-create", res, out, e);
	if (rc == 0) {
		snprintf(job->op, sizeof job->op, "%s", out->id);
		rc = operation_thread(s, out->id, snapshot_thread, job, e);
	}
	if (rc < 0) {
		pthread_mutex_lock(&s->lock);
		release(s, job->in.key);
		s->jobs_running--;
		pthread_cond_broadcast(&s->imports_done);
		pthread_mutex_unlock(&s->lock);
		free(job);
	}
	return rc;
}

int service_snapshot_create(struct service *s, const char *name, const char *snap,
			    struct operation *out, struct err *e)
{
	struct snapshot_job *job = calloc(1, sizeof *job);
	if (!job)
		return err_set(e, -ENOMEM, "daemon: out of memory");
	*job = (struct snapshot_job){ .s = s };
	snprintf(job->name, sizeof job->name, "%s", snap);
	struct snapshot sn, *all = NULL;
	size_t n = 0;
	pthread_mutex_lock(&s->lock);
	int rc = snapshot_target(s, name, &job->in, e);
	if (rc == 0 && job->in.state != STATE_RUNNING)
		rc = err_set(e, -EALREADY, "instance \"%s\": not running (a snapshot is of a running "
			     "VM)", job->in.name);
	else if (rc == 0 && snapshot_get(s->db, name, job->in.name, snap, &sn, NULL) == 0)
		rc = err_set(e, -EEXIST, "instance \"%s\": snapshot \"%s\": already exists",
			     job->in.name, snap);
	else if (rc == 0 && (rc = snapshot_list(s->db, name, &all, &n, e)) == 0 &&
		 n >= SNAPSHOTS_MAX)
		rc = err_set(e, -EDQUOT, "instance \"%s\": has %d snapshots, the most it may "
			     "(delete one first)", job->in.name, SNAPSHOTS_MAX);
	free(all);
	if (rc < 0) {
		pthread_mutex_unlock(&s->lock);
		free(job);
		return rc;
	}
	return snapshot_start(s, job, out, e);
}

int service_snapshot_restore(struct service *s, const char *name, const char *snap,
			     struct operation *out, struct err *e)
{
	struct snapshot_job *job = calloc(1, sizeof *job);
	if (!job)
		return err_set(e, -ENOMEM, "daemon: out of memory");
	*job = (struct snapshot_job){ .s = s, .restore = true };
	snprintf(job->name, sizeof job->name, "%s", snap);
	struct snapshot sn;
	pthread_mutex_lock(&s->lock);
	int rc = snapshot_target(s, name, &job->in, e);
	if (rc == 0)
		rc = snapshot_get(s->db, name, job->in.name, snap, &sn, e);
	if (rc < 0) {
		pthread_mutex_unlock(&s->lock);
		free(job);
		return rc;
	}
	return snapshot_start(s, job, out, e);
}

int service_snapshot_list(struct service *s, const char *name, struct snapshot **out,
			  size_t *n, struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	int rc = snapshot_target(s, name, &in, e);
	if (rc == 0)
		rc = snapshot_list(s->db, name, out, n, e);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int service_snapshot_delete(struct service *s, const char *name, const char *snap,
			    struct err *e)
{
	struct instance in;
	pthread_mutex_lock(&s->lock);
	/* Claimed, so a restore from it is not under way. */
	int rc = get_claimed(s, name, &in, e);
	if (rc == 0) {
		rc = snapshot_remove(s->db, s->state_dir, name, in.name, snap, e);
		release(s, name);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* --- jobs of other files (migrate.c) ----------------------------------------- */

int service_job_claim(struct service *s, const char *name, struct instance *out, struct err *e)
{
	pthread_mutex_lock(&s->lock);
	int rc = db_instance_get(s->db, name, out, e);
	if (rc == 0)
		rc = refresh(s, out, e);
	if (rc == 0)
		rc = claim(s, out->key, e);
	if (rc == 0)
		s->jobs_running++;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void service_job_release(struct service *s, const char *key)
{
	pthread_mutex_lock(&s->lock);
	release(s, key);
	s->jobs_running--;
	pthread_cond_broadcast(&s->imports_done);
	pthread_mutex_unlock(&s->lock);
}

const struct driver_ctx *service_driver(struct service *s)
{
	return &s->ctx;
}
