/* See state.h. */
#include "ctr/state.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctr/config.h"
#include "ctr/util.h"

const char *status_name(enum ctr_status s)
{
	static const char *n[] = { "creating", "created", "running", "paused", "stopped" };
	return n[s];
}

int state_dir(const char *root, const char *id, char *buf, size_t n, struct err *e)
{
	if (!id_valid(id))
		return err_set(e, -EINVAL, "container id \"%s\": use 1-1024 letters, digits, _ . + -",
			       id);
	char name[NAME_MAX + 1];
	id_file_name(id, name, sizeof name);
	if ((size_t)snprintf(buf, n, "%s/%s", root, name) >= n)
		return err_set(e, -ENAMETOOLONG, "%s/%s: path too long", root, name);
	return 0;
}

int state_file(const char *root, const char *id, const char *file, char *buf, size_t n)
{
	char d[PATH_MAX];
	if (state_dir(root, id, d, sizeof d, NULL) || (size_t)snprintf(buf, n, "%s/%s", d, file) >= n)
		return -ENAMETOOLONG;
	return 0;
}

int state_create(const char *root, const char *id, struct err *e)
{
	char d[PATH_MAX];
	int rc = state_dir(root, id, d, sizeof d, e);
	if (rc)
		return rc;
	if (mkdir(d, 0711) == 0)
		return 0;
	if (errno == ENOENT) {
		if ((rc = mkdir_p(root, 0711)))
			return err_set(e, rc, "--root %s: %s", root, strerror(-rc));
		if (mkdir(d, 0711) == 0)
			return 0;
	}
	if (errno == EEXIST)
		return err_set(e, -EEXIST, "container \"%s\" already exists", id);
	return err_set(e, -errno, "%s: %s", d, strerror(errno));
}

int state_save(const char *root, const struct ctr_state *s, struct err *e)
{
	char d[PATH_MAX + 16];
	int drc = state_dir(root, s->id, d, PATH_MAX, e);
	if (drc)
		return drc;
	strcat(d, "/state.json");
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", s->id);
	cJSON_AddNumberToObject(o, "pid", s->pid);
	cJSON_AddNumberToObject(o, "start", (double)s->start_time);
	cJSON_AddStringToObject(o, "bundle", s->bundle);
	cJSON_AddStringToObject(o, "rootfs", s->rootfs);
	cJSON_AddStringToObject(o, "created", s->created);
	cJSON_AddStringToObject(o, "cgroup", s->cgroup);
	cJSON_AddBoolToObject(o, "systemd", s->systemd_cgroup);
	cJSON_AddBoolToObject(o, "userns", s->userns);
	if (s->annotations) {
		cJSON *a = cJSON_Parse(s->annotations);
		if (a)
			cJSON_AddItemToObject(o, "annotations", a);
	}
	char *txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!txt)
		return err_set(e, -ENOMEM, "out of memory");
	int rc = write_atomic(d, txt, strlen(txt), 0600);
	free(txt);
	if (rc)
		return err_set(e, rc, "%s: %s", d, strerror(-rc));
	return 0;
}

static void copy_str(char *dst, size_t n, const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	snprintf(dst, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

int state_load(const char *root, const char *id, struct ctr_state *s, struct err *e)
{
	char d[PATH_MAX + 16];
	memset(s, 0, sizeof *s);
	int rc = state_dir(root, id, d, PATH_MAX, e);
	if (rc)
		return rc;
	strcat(d, "/state.json");
	char *txt;
	rc = read_file(d, &txt, NULL);
	if (rc == -ENOENT) {
		/* A directory without state.json: a create that was killed
		 * half-way.  It reads as a stopped container so delete works. */
		*strrchr(d, '/') = 0;
		if (access(d, F_OK) == 0) {
			snprintf(s->id, sizeof s->id, "%s", id);
			return 0;
		}
	}
	if (rc == -ENOENT || rc == -ENOTDIR)
		return err_set(e, -ENOENT, "container \"%s\" does not exist", id);
	if (rc)
		return err_set(e, rc, "%s: %s", d, strerror(-rc));
	cJSON *o = cJSON_Parse(txt);
	free(txt);
	if (!o)
		return err_set(e, -EIO, "%s: corrupt state file", d);
	/* `list` passes directory names; a long id's directory name stands for
	 * the full id, which is kept here. */
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "id");
	snprintf(s->id, sizeof s->id, "%s", cJSON_IsString(v) && id_valid(v->valuestring) ? v->valuestring : id);
	char mine[NAME_MAX + 1], asked[NAME_MAX + 1];
	id_file_name(s->id, mine, sizeof mine);
	id_file_name(id, asked, sizeof asked);
	if (strcmp(mine, asked)) {
		cJSON_Delete(o);
		return err_set(e, -ENOENT, "container \"%s\" does not exist", id);
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "pid");
	s->pid = cJSON_IsNumber(v) ? (pid_t)v->valuedouble : 0;
	v = cJSON_GetObjectItemCaseSensitive(o, "start");
	s->start_time = cJSON_IsNumber(v) ? (unsigned long long)v->valuedouble : 0;
	copy_str(s->bundle, sizeof s->bundle, o, "bundle");
	copy_str(s->rootfs, sizeof s->rootfs, o, "rootfs");
	copy_str(s->created, sizeof s->created, o, "created");
	copy_str(s->cgroup, sizeof s->cgroup, o, "cgroup");
	s->systemd_cgroup = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "systemd"));
	s->userns = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "userns"));
	v = cJSON_GetObjectItemCaseSensitive(o, "annotations");
	if (cJSON_IsObject(v))
		s->annotations = cJSON_PrintUnformatted(v);
	cJSON_Delete(o);
	return 0;
}

void state_free(struct ctr_state *s)
{
	free(s->annotations);
	s->annotations = NULL;
}

int state_remove(const char *root, const char *id)
{
	char d[PATH_MAX];
	if (state_dir(root, id, d, sizeof d, NULL))
		return -EINVAL;
	int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	struct dirent *de;
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dfd, de->d_name, 0);
	closedir(dir);
	if (rmdir(d) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

char *state_oci_json(const struct ctr_state *s, enum ctr_status st, bool pretty,
		     const char *extra_key, long long extra_val)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ociVersion", "1.1.0");
	cJSON_AddStringToObject(o, "id", s->id);
	cJSON_AddStringToObject(o, "status", status_name(st));
	cJSON_AddNumberToObject(o, "pid", st == ST_STOPPED ? 0 : s->pid);
	cJSON_AddStringToObject(o, "bundle", s->bundle);
	cJSON_AddStringToObject(o, "rootfs", s->rootfs);
	cJSON_AddStringToObject(o, "created", s->created);
	cJSON_AddStringToObject(o, "owner", "");
	if (extra_key)
		cJSON_AddNumberToObject(o, extra_key, (double)extra_val);
	cJSON *a = s->annotations ? cJSON_Parse(s->annotations) : NULL;
	cJSON_AddItemToObject(o, "annotations", a ? a : cJSON_CreateObject());
	char *txt = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return txt;
}
