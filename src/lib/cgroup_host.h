/*
 * Which cgroup filesystems a host has and where, shared by the container
 * runtime (src/ctr/cgroup*.c) and the VMM's per-VM cgroup (src/vmm/vm_cgroup.c):
 *   - v1:      controllers mounted one (or a few) per hierarchy under
 *              /sys/fs/cgroup/NAME, no cgroup2 mount;
 *   - hybrid:  v1 controllers plus a cgroup2 mount (usually
 *              /sys/fs/cgroup/unified) holding whatever controllers v1 does
 *              not (often none, on some hosts hugetlb);
 *   - v2:      one cgroup2 hierarchy at /sys/fs/cgroup.
 * cg_detect() reads /proc/self/mountinfo, so nothing is assumed about where
 * things are mounted.  A group's `path` is the same relative path in each
 * hierarchy.  Kernel Documentation/admin-guide/cgroup-v1 and cgroup-v2.rst.
 */
#ifndef NIMBUS_LIB_CGROUP_HOST_H
#define NIMBUS_LIB_CGROUP_HOST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

enum cg_mode { CG_NONE, CG_V1, CG_HYBRID, CG_V2 };

#define CG_MAX_HIER 20

struct cg_hier {
	char opts[128];      /* "cpu,cpuacct", "memory", "name=systemd" */
	char mnt[256];       /* mount point */
};

struct cgroup {
	enum cg_mode mode;
	char path[PATH_MAX];         /* relative path, starts with '/' */
	int nh;
	struct cg_hier h[CG_MAX_HIER];
	char unified[256];           /* cgroup2 mount point, "" if none */
	char v2ctrl[256];            /* controllers available in the unified root */
	/* Limits whose kernel knob this host lacks: ignored, as crun does, and
	 * listed here ("; " separated) for the caller to warn about. */
	char warn[512];
	/* Rootless (see running_rootless()) and some hierarchy was not ours to
	 * write: its limits are ignored with a warning instead of failing. */
	bool rootless;
};

const char *cg_mode_name(enum cg_mode m);

/* Reads mounts from /proc/self/mountinfo and classifies the host. */
int cg_detect(struct cgroup *cg, struct err *e);
/* Same, from mountinfo text (unit tests feed fixtures). */
int cg_detect_from(struct cgroup *cg, const char *mountinfo, struct err *e);

/* The directory of this cgroup in a v1 hierarchy owning controller `ctl`
 * ("memory"), or "" if the host has no such v1 controller. */
void cg_v1_dir(const struct cgroup *cg, const char *ctl, char *out, size_t n);
bool cg_has_v1(const struct cgroup *cg, const char *ctl);
/* The directory in the unified hierarchy, "" if none. */
void cg_v2_dir(const struct cgroup *cg, char *out, size_t n);

/* True if w is one of the sep-separated words of list ("cpu,cpuacct"). */
bool cg_has_word(const char *list, const char *w, char sep);
/* A whole (procfs) file, malloc'd and NUL-terminated, into *out; 0 or -errno. */
int cg_read_whole(const char *path, char **out);
/* Reads a small file into buf (NUL-terminated, trailing newlines removed). */
int cg_read_small(const char *path, char *buf, size_t n);

#endif
