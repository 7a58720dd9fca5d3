/* See volume.h. */
#include "daemon/volume.h"
#include "daemon/fsutil.h"
#include "daemon/host_key.h"
#include "daemon/meter.h"
#include "daemon/placement.h"
#include "daemon/proc.h"
#include "daemon/project.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void volume_path(const struct volume_ctx *c, const struct volume *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s/volumes/%s%s", c->state_dir, v->key, v->dir ? "" : ".qcow2");
}

#define VOL_COLS "host_key, project, type, size, snapshot_of, attached_to, created_at, name"
/* For reading: and the attached instance's name (attached_to is its host key). */
#define VOL_SELECT VOL_COLS ", (SELECT i.name FROM instances i WHERE i.host_key = attached_to)"

static void read_vol(sqlite3_stmt *st, struct volume *v)
{
	char type[8];
	memset(v, 0, sizeof *v);
	db_copy_text(v->key, sizeof v->key, st, 0);
	db_copy_text(v->project, sizeof v->project, st, 1);
	db_copy_text(type, sizeof type, st, 2);
	v->dir = !strcmp(type, "dir");
	v->size = sqlite3_column_int64(st, 3);
	db_copy_text(v->snapshot_of, sizeof v->snapshot_of, st, 4);
	db_copy_text(v->attached_to, sizeof v->attached_to, st, 5);
	v->created_at = sqlite3_column_int64(st, 6);
	db_copy_text(v->name, sizeof v->name, st, 7);
	db_copy_text(v->attached_name, sizeof v->attached_name, st, 8);
	if (!v->attached_name[0])
		memcpy(v->attached_name, v->attached_to, sizeof v->attached_name);
}

static void read_vol_row(sqlite3_stmt *st, void *item)
{
	read_vol(st, item);
}

/* The volume whose host key is key. */
static int vol_row(struct db *db, const char *key, struct volume *out, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT " VOL_SELECT " FROM volumes WHERE host_key = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	char thing[96];
	snprintf(thing, sizeof thing, "volume \"%s\"", key);
	return db_one(db, st, read_vol_row, out, thing, "volume", e);
}

int volume_get(struct db *db, const char *name, const char *project, struct volume *out,
	       struct err *e)
{
	char key[INSTANCE_NAME_MAX + 1];
	int rc = host_key_find(db, "volumes", "volume", project, name, key, sizeof key, e);
	return rc < 0 ? rc : vol_row(db, key, out, e);
}

int volume_list(struct db *db, const char *project, struct volume **out, size_t *n,
		struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT " VOL_SELECT " FROM volumes WHERE ?1 IS NULL OR project = ?1 "
			 "ORDER BY name, project", &st, e);
	if (rc < 0)
		return rc;
	if (project)
		sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
	void *items;
	rc = db_collect(db, st, sizeof **out, read_vol_row, &items, n, "listing volumes", e);
	if (rc == 0)
		*out = items;
	return rc;
}

static int insert(struct db *db, const struct volume *v, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "INSERT INTO volumes (" VOL_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, NULL, "
			 "?6, ?7)", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, v->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, v->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v->project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, v->dir ? "dir" : "block", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, v->size);
	if (v->snapshot_of[0])
		sqlite3_bind_text(st, 5, v->snapshot_of, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (long long)time(NULL));
	rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(db_sqlite(db));
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
		return err_set(e, -EEXIST, "volume \"%s\": already exists", v->name);
	return db_sql_err(db, e, "saving a volume");
}

static int drop_row(struct db *db, const char *key, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "DELETE FROM volumes WHERE host_key = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "deleting a volume");
	sqlite3_finalize(st);
	return rc;
}

/* Runs a tool on a volume (at most 10 minutes); the first line of its
 * output becomes the error, after what and its name. */
static int run_tool(char *const argv[], const char *what, const char *tool, struct err *e)
{
	char out[1024] = "";
	int rc = proc_run(argv, 10 * 60 * 1000, out, sizeof out, e);
	if (rc > 0) {
		out[strcspn(out, "\n")] = 0;
		return err_set(e, -EIO, "%s: %s: %s", what, tool, out[0] ? out : "failed");
	}
	return rc;
}

static int qemu_img(const struct volume_ctx *c, const char *what, char *const args[], struct err *e)
{
	char *argv[16] = { (char *)c->qemu_img };
	for (int i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	return run_tool(argv, what, "qemu-img", e);
}

static int size_arg(long long size, char *buf, size_t len)
{
	return snprintf(buf, len, "%lld", size);
}

int volume_create(struct db *db, const struct volume_ctx *c, struct volume *v, struct err *e)
{
	struct quota need = { { [QUOTA_DISK] = v->size } };
	struct volume old;
	int rc = project_admit(db, v->project, &need, e);
	if (rc < 0 || (c->place && (rc = placement_check(db, c->place, &need, e)) < 0))
		return rc;
	if (volume_get(db, v->name, v->project, &old, NULL) == 0)
		return err_set(e, -EEXIST, "volume \"%s\": already exists", v->name);
	if ((rc = host_key_pick(db, "volumes", v->name, v->key, sizeof v->key, e)) < 0)
		return rc;
	char path[4200], dir[4200], sz[32], what[96];
	snprintf(dir, sizeof dir, "%s/volumes", c->state_dir);
	if ((rc = mkdir_p(dir, 0700, e)) < 0)
		return rc;
	volume_path(c, v, path, sizeof path);
	snprintf(what, sizeof what, "volume \"%s\"", v->name);
	if ((rc = insert(db, v, e)) < 0)
		return rc;
	if (v->dir) {
		rc = mkdir(path, 0755) == 0 ? 0 : err_set(e, -errno, "%s: %s", path, strerror(errno));
	} else {
		size_arg(v->size, sz, sizeof sz);
		char *args[] = { "create", "-q", "-f", "qcow2", "-o", "cluster_size=65536", path, sz,
				 NULL };
		rc = qemu_img(c, what, args, e);
	}
	if (rc < 0) {
		unlink(path);
		rmdir(path);
		drop_row(db, v->key, NULL);
		return rc;
	}
	return meter_volume_open(db, v->key, v->project, v->size, e);
}

/* The instance v is attached to, if it runs: -EBUSY naming it. */
static int in_use(struct db *db, const struct volume *v, const char *doing, struct err *e)
{
	struct instance in;
	if (!v->attached_to[0] || db_instance_get(db, v->attached_to, &in, NULL) < 0)
		return 0;
	if (in.state == STATE_RUNNING && proc_alive((pid_t)in.pid, in.pid_start))
		return err_set(e, -EBUSY, "volume \"%s\": in use by the running instance \"%s\" "
			       "(stop it before you %s)", v->name, in.name, doing);
	return 0;
}

static int remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOTDIR ? unlink(path) : -errno;
	struct dirent *de;
	char sub[4300];
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		struct stat st;
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	return rmdir(path);
}

int volume_delete(struct db *db, const struct volume_ctx *c, const char *key, struct err *e)
{
	struct volume v;
	int rc = vol_row(db, key, &v, e);
	if (rc < 0)
		return rc;
	if (v.attached_to[0])
		return err_set(e, -EBUSY, "volume \"%s\": attached to instance \"%s\" (detach it "
			       "first)", v.name, v.attached_name);
	char path[4200];
	volume_path(c, &v, path, sizeof path);
	if ((rc = drop_row(db, key, e)) < 0)
		return rc;
	if (v.dir && chmod(path, 0700) == 0)   /* a snapshot's is read-only */
		remove_tree(path);
	else
		unlink(path);
	return meter_volume_close(db, key, e);
}

static int set_attached(struct db *db, const char *key, const char *instance, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "UPDATE volumes SET attached_to = ?2 WHERE host_key = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (instance)
		sqlite3_bind_text(st, 2, instance, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "attaching a volume");
	sqlite3_finalize(st);
	return rc;
}

int volume_attach(struct db *db, const char *key, const char *instance, struct err *e)
{
	struct volume v;
	struct instance in;
	int rc = vol_row(db, key, &v, e);
	if (rc < 0)
		return rc;
	const char *name = v.name;
	/* instance is a name of the volume's project (names are unique per
	 * project); the row holds its host key. */
	if ((rc = db_instance_find(db, v.project, instance, &in, e)) < 0)
		return rc;
	if (v.snapshot_of[0])
		return err_set(e, -EINVAL, "volume \"%s\": a snapshot is read-only (clone it to use "
			       "it)", name);
	if (v.attached_to[0])
		return strcmp(v.attached_to, in.key)
			? err_set(e, -EBUSY, "volume \"%s\": attached to instance \"%s\" already "
				  "(detach it first)", name, v.attached_name)
			: 0;
	if (v.dir != (in.kind == KIND_CONTAINER))
		return err_set(e, -EINVAL, "volume \"%s\": a %s volume, for %s; instance \"%s\" is "
			       "a %s", name, v.dir ? "dir" : "block", v.dir ? "containers" : "VMs",
			       instance, kind_str(in.kind));
	return set_attached(db, key, in.key, e);
}

int volume_detach(struct db *db, const char *key, bool ejected, struct err *e)
{
	struct volume v;
	int rc = vol_row(db, key, &v, e);
	if (rc < 0)
		return rc;
	const char *name = v.name;
	if (!v.attached_to[0])
		return err_set(e, -EALREADY, "volume \"%s\": not attached", name);
	if (!ejected && (rc = in_use(db, &v, "detach it", e)) < 0)
		return rc;
	return set_attached(db, key, NULL, e);
}

int volume_resize(struct db *db, const struct volume_ctx *c, const char *key, long long size,
		  struct err *e)
{
	struct volume v;
	int rc = vol_row(db, key, &v, e);
	if (rc < 0)
		return rc;
	const char *name = v.name;
	if (v.snapshot_of[0])
		return err_set(e, -EINVAL, "volume \"%s\": a snapshot cannot be resized", name);
	if (size < v.size)
		return err_set(e, -EINVAL, "volume \"%s\": shrinking (from %lld to %lld bytes) would "
			       "cut off data; only growing is supported", name, v.size, size);
	if ((rc = in_use(db, &v, "resize it", e)) < 0)
		return rc;
	struct quota need = { { [QUOTA_DISK] = size - v.size } };
	if ((rc = project_admit(db, v.project, &need, e)) < 0 ||
	    (c->place && (rc = placement_check(db, c->place, &need, e)) < 0))
		return rc;
	if (!v.dir && size != v.size) {
		char path[4200], sz[32], what[96];
		volume_path(c, &v, path, sizeof path);
		size_arg(size, sz, sizeof sz);
		snprintf(what, sizeof what, "volume \"%s\"", name);
		char *args[] = { "resize", "-q", "-f", "qcow2", path, sz, NULL };
		if ((rc = qemu_img(c, what, args, e)) < 0)
			return rc;
	}
	sqlite3_stmt *st;
	if ((rc = db_prepare(db, "UPDATE volumes SET size = ?2 WHERE host_key = ?1", &st, e)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, size);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "resizing a volume");
	sqlite3_finalize(st);
	return rc == 0 ? meter_volume_open(db, key, v.project, size, e) : rc;
}

/* A dir volume's copy: everything in it as it is (modes, owners -- a
 * container's, maybe mapped --, times, xattrs, hard links, sparse files;
 * symlinks as symlinks, never followed: the tenant wrote them), by
 * coreutils' cp -a, sharing blocks where the pool's filesystem can
 * (--reflink=auto: btrfs, XFS). */
static int copy_tree(const char *from, const char *to, const char *what, struct err *e)
{
	if (mkdir(to, 0700) < 0)
		return err_set(e, -errno, "%s: %s: %s", what, to, strerror(errno));
	char src[4300];
	snprintf(src, sizeof src, "%s/.", from);   /* its contents and its own modes */
	char *argv[] = { "/bin/cp", "-a", "--reflink=auto", "--", src, (char *)to, NULL };
	return run_tool(argv, what, "cp", e);
}

int volume_copy(struct db *db, const struct volume_ctx *c, const char *key, const char *to,
		bool snapshot, struct err *e)
{
	struct volume v;
	int rc = vol_row(db, key, &v, e);
	if (rc < 0)
		return rc;
	const char *src = v.name;
	/* A copy of a disk a VM (or a directory a container) is writing is not
	 * consistent. */
	if ((rc = in_use(db, &v, snapshot ? "snapshot it" : "clone it", e)) < 0)
		return rc;
	struct volume nv = v;
	snprintf(nv.name, sizeof nv.name, "%s", to);
	nv.attached_to[0] = 0;
	snprintf(nv.snapshot_of, sizeof nv.snapshot_of, "%s", snapshot ? src : "");
	struct quota need = { { [QUOTA_DISK] = v.size } };
	struct volume exists;
	if ((rc = project_admit(db, v.project, &need, e)) < 0 ||
	    (c->place && (rc = placement_check(db, c->place, &need, e)) < 0))
		return rc;
	if (volume_get(db, to, v.project, &exists, NULL) == 0)
		return err_set(e, -EEXIST, "volume \"%s\": already exists", to);
	if ((rc = host_key_pick(db, "volumes", to, nv.key, sizeof nv.key, e)) < 0)
		return rc;
	char from[4200], path[4200], what[96];
	volume_path(c, &v, from, sizeof from);
	volume_path(c, &nv, path, sizeof path);
	snprintf(what, sizeof what, "volume \"%s\"", to);
	if ((rc = insert(db, &nv, e)) < 0)
		return rc;
	if (v.dir) {
		rc = copy_tree(from, path, what, e);
	} else {
		char *args[] = { "convert", "-q", "-f", "qcow2", "-O", "qcow2", "-o",
				 "cluster_size=65536", from, path, NULL };
		rc = qemu_img(c, what, args, e);
	}
	if (rc < 0) {
		if (v.dir)
			remove_tree(path);
		else
			unlink(path);
		drop_row(db, nv.key, NULL);
		return rc;
	}
	if (snapshot)
		chmod(path, v.dir ? 0500 : 0400);   /* read-only (for the VMM too) */
	return meter_volume_open(db, nv.key, nv.project, nv.size, e);
}

int volume_prepare(struct db *db, const struct volume_ctx *c, const char *instance,
		   const char *inst_dir, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT " VOL_SELECT " FROM volumes WHERE attached_to = ?1 ORDER BY "
			 "created_at, name", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	char file[4200], path[4200];
	snprintf(file, sizeof file, "%s/volumes", inst_dir);
	FILE *f = NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct volume v;
		read_vol(st, &v);
		if (!f && (rc = mkdir_p(inst_dir, 0700, e)) == 0 && !(f = fopen(file, "we")))
			rc = err_set(e, -errno, "%s: %s", file, strerror(errno));
		if (rc < 0)
			break;
		volume_path(c, &v, path, sizeof path);
		fprintf(f, "%s %s %s\n", v.dir ? "dir" : "block", path, v.name);
	}
	sqlite3_finalize(st);
	if (f && fclose(f) != 0 && rc == 0)
		rc = err_set(e, -EIO, "%s: cannot write it", file);
	if (!f)
		unlink(file);
	return rc;
}
