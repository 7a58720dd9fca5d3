/* See disks.h. */
#include "daemon/disks.h"
#include "daemon/fsutil.h"
#include "daemon/proc.h"

#include <dirent.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QEMU_IMG "/usr/bin/qemu-img"
#define QEMU_IMG_TIMEOUT_MS 60000

static void read_disk(sqlite3_stmt *st, void *item)
{
	struct disk *d = item;
	db_copy_text(d->name, sizeof d->name, st, 0);
	d->size_mib = sqlite3_column_int64(st, 1);
}

int disks_get(struct db *db, const char *instance, struct disk *out, size_t *n, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT name, size_mib FROM instance_disks WHERE instance = ? "
			    "ORDER BY name", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_TRANSIENT);
	void *rows;
	size_t got;
	if ((rc = db_collect(db, st, sizeof(struct disk), read_disk, &rows, &got, "disks", e)) < 0)
		return rc;
	*n = got < DISKS_MAX ? got : DISKS_MAX;
	if (*n)
		memcpy(out, rows, *n * sizeof *out);
	free(rows);
	return 0;
}

int disks_check(struct db *db, const struct instance *in, const struct disk *chg, size_t n,
		long long *growth, struct err *e)
{
	*growth = 0;
	if (n && in->kind != KIND_VM)
		return err_set(e, -EINVAL, "instance \"%s\": a container has no disks (a volume gives "
			       "it storage: nimbus volume create --type dir)", in->name);
	struct disk have[DISKS_MAX];
	size_t nhave;
	int rc = disks_get(db, in->key, have, &nhave, e);
	if (rc < 0)
		return rc;
	size_t count = nhave;
	for (size_t i = 0; i < n; i++) {
		const struct disk *old = NULL;
		for (size_t k = 0; k < nhave; k++)
			if (!strcmp(have[k].name, chg[i].name))
				old = &have[k];
		if (!chg[i].size_mib && !old)
			return err_set(e, -ENOENT, "instance \"%s\": disk \"%s\": no such disk",
				       in->name, chg[i].name);
		if (old && chg[i].size_mib && chg[i].size_mib < old->size_mib)
			return err_set(e, -EINVAL, "instance \"%s\": disk \"%s\": %lldM is smaller "
				       "than its %lldM; shrinking would cut off what the guest "
				       "wrote (remove it and add a new one)", in->name, chg[i].name,
				       chg[i].size_mib, old->size_mib);
		*growth += (chg[i].size_mib - (old ? old->size_mib : 0)) << 20;
		count += !old && chg[i].size_mib ? 1 : 0;
		count -= old && !chg[i].size_mib ? 1 : 0;
	}
	if (count > DISKS_MAX)
		return err_set(e, -EINVAL, "instance \"%s\": more than %d disks", in->name,
			       DISKS_MAX);
	return 0;
}

static int write_conf(struct db *db, const char *inst_dir, const char *instance, struct err *e)
{
	struct disk d[DISKS_MAX];
	size_t n;
	int rc = disks_get(db, instance, d, &n, e);
	if (rc < 0)
		return rc;
	char text[DISKS_MAX * 96] = "", path[4200];
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "%s %lld\n", d[i].name,
					d[i].size_mib);
	snprintf(path, sizeof path, "%s/disks.conf", inst_dir);
	if ((rc = mkdir_p(inst_dir, 0700, e)) < 0)
		return rc;
	return write_file(path, text, len, 0600, e);
}

int disks_apply(struct db *db, const char *inst_dir, const char *instance,
		const struct disk *chg, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st;
		int rc = db_prepare(db, chg[i].size_mib
				    ? "INSERT INTO instance_disks (instance, name, size_mib) VALUES "
				      "(?1, ?2, ?3) ON CONFLICT (instance, name) DO UPDATE SET "
				      "size_mib = ?3"
				    : "DELETE FROM instance_disks WHERE instance = ?1 AND name = ?2",
				    &st, e);
		if (rc < 0)
			return rc;
		sqlite3_bind_text(st, 1, instance, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, chg[i].name, -1, SQLITE_TRANSIENT);
		if (chg[i].size_mib)
			sqlite3_bind_int64(st, 3, chg[i].size_mib);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return db_sql_err(db, e, "instance_disks");
	}
	return write_conf(db, inst_dir, instance, e);
}

static int qemu_img(const char *instance, char *const argv[], struct err *e)
{
	char out[1024] = "";
	int st = proc_run(argv, QEMU_IMG_TIMEOUT_MS, out, sizeof out, e);
	if (st > 0)
		return err_set(e, -EIO, "vm \"%s\": qemu-img %s: %.300s", instance, argv[1], out);
	return st;
}

/* Removes the files of disks disks.conf no longer lists. */
static void remove_gone(const char *ddir, const struct disk *d, size_t n)
{
	DIR *dir = opendir(ddir);
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		char *dot = strchr(de->d_name, '.');
		if (!dot || de->d_name[0] == '.')
			continue;
		bool keep = false;
		for (size_t i = 0; i < n; i++)
			keep |= strlen(d[i].name) == (size_t)(dot - de->d_name) &&
				!strncmp(d[i].name, de->d_name, (size_t)(dot - de->d_name));
		if (!keep)
			unlinkat(dirfd(dir), de->d_name, 0);
	}
	if (dir)
		closedir(dir);
}

int disks_prepare(const char *inst_dir, const char *instance, char (*args)[4200], int max,
		  int *n, struct err *e)
{
	*n = 0;
	char conf[DISKS_MAX * 96 + 1], path[3200], ddir[3100];
	if (strlen(inst_dir) > 3000)
		return err_set(e, -ENAMETOOLONG, "vm \"%s\": %s: too long", instance, inst_dir);
	snprintf(path, sizeof path, "%s/disks.conf", inst_dir);
	snprintf(ddir, sizeof ddir, "%s/disks", inst_dir);
	struct disk d[DISKS_MAX];
	size_t nd = 0;
	if (read_file(path, conf, sizeof conf) > 0)
		for (char *line = strtok(conf, "\n"); line && nd < DISKS_MAX; line = strtok(NULL, "\n"))
			if (sscanf(line, "%63s %lld", d[nd].name, &d[nd].size_mib) == 2 &&
			    name_check("disk", d[nd].name, NULL) == 0 &&
			    d[nd].size_mib >= DISK_SIZE_MIN_MIB && d[nd].size_mib <= DISK_SIZE_MAX_MIB)
				nd++;
	int rc = mkdir_p(ddir, 0700, e);
	if (rc < 0)
		return rc;
	remove_gone(ddir, d, nd);
	for (size_t i = 0; i < nd && *n < max; i++) {
		char file[3500], sizef[3500], size[32], had[32] = "";
		snprintf(file, sizeof file, "%s/%s.qcow2", ddir, d[i].name);
		snprintf(sizef, sizeof sizef, "%s/%s.size", ddir, d[i].name);
		snprintf(size, sizeof size, "%lldM", d[i].size_mib);
		/* The size last applied, written after qemu-img succeeded: a file
		 * without one is a create that did not finish. */
		bool exists = access(file, F_OK) == 0 && read_file(sizef, had, sizeof had) > 0;
		if (!exists) {
			char tmp[4400];
			snprintf(tmp, sizeof tmp, "%s.tmp", file);
			char *argv[] = { QEMU_IMG, "create", "-q", "-f", "qcow2", tmp, size, NULL };
			if ((rc = qemu_img(instance, argv, e)) < 0)
				return rc;
			if (rename(tmp, file) < 0)
				return err_set(e, -errno, "vm \"%s\": %s: %s", instance, file,
					       strerror(errno));
		} else if (atoll(had) < d[i].size_mib) {
			char *argv[] = { QEMU_IMG, "resize", "-q", "-f", "qcow2", file, size, NULL };
			if ((rc = qemu_img(instance, argv, e)) < 0)
				return rc;
		}
		snprintf(had, sizeof had, "%lld\n", d[i].size_mib);
		if ((rc = write_file(sizef, had, strlen(had), 0600, e)) < 0)
			return rc;
		snprintf(args[(*n)++], 4200, "%s,format=qcow2,serial=%s", file, d[i].name);
	}
	return 0;
}
