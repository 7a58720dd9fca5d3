/*
 * A fork's writable disks (docs/snapshot.md, "Live fork"): the children
 * must not share the parent's image, and copying it would cost what a fork
 * must not.  So, with the parent paused, each writable disk's image is
 * frozen: the parent moves onto a new qcow2 overlay over it, beside the
 * fork directory (DIR.parent-diskI.qcow2), and the image becomes a
 * read-only base that nothing writes again.  The snapshot records the base
 * (its identity in the "vm" section, as the disk the guest saw at the
 * pause, and its path and format in a "fork-disks" section), and each child
 * makes its own overlay over it, DIR/child-N-diskI.qcow2, as it restores
 * (vm run --fork-child N).  A write in one is invisible to the others and
 * to the parent; all read the frozen base for what none of them wrote.
 *
 * The parent's overlays are made before it pauses (prepare: an overlay only
 * names its base, so the guest may go on writing the image meanwhile), and
 * the pause only switches the disks onto them (freeze): their sync, a
 * journal commit of 8-15 ms here, is not the guest's to wait for.
 *
 * Invariants: the parent's overlay is durable (synced, and its directory)
 * before the guest may write to it; a child's is not (its disk is useless
 * without its RAM, which a crash loses anyway).  Nothing is ever created
 * over an existing file.  The switch (virtio_blk_reopen) closes the old
 * backend first, dropping its write lock, since the overlay opens the same
 * file read-only as its backing; on failure the disk is put back on its own
 * image.  A failed snapshot thaws: the parent goes back onto its image and
 * its overlay is removed (the VM has stood still meanwhile: nothing is in
 * it).  A restore of the snapshot that is not a child of the fork may open
 * a frozen disk read-only (,ro or --ephemeral) and nothing else: writing
 * the base would corrupt every overlay on it.
 */
#include "vmm/vm_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/snap_stream.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/block.h"

/* Where a disk is: its overlay not made (or not wanted), made but the VM
 * still on its image, the VM on the overlay (the image frozen), or left on
 * the overlay by a thaw that could not reopen the image. */
enum fork_disk { DISK_NONE, DISK_MADE, DISK_ON, DISK_STUCK };

struct vm_fork_disks {
	unsigned n;                           /* the VM's disks */
	enum fork_disk state[VM_MAX_DISKS];
	char base[VM_MAX_DISKS][PATH_MAX];    /* the frozen image, resolved */
	enum block_format format[VM_MAX_DISKS];
	uint64_t size[VM_MAX_DISKS];          /* bytes the guest sees */
	char overlay[VM_MAX_DISKS][PATH_MAX]; /* the parent's from now on */
	/* What the VM's configuration named before (for a thaw). */
	char was_path[VM_MAX_DISKS][PATH_MAX];
	const char *was_format[VM_MAX_DISKS];
	bool was_confined[VM_MAX_DISKS];
};

/* The overlay of child `child` for disk i: DIR/child-N-diskI.qcow2. */
static int child_overlay(char *buf, size_t len, const char *dir, unsigned child, unsigned i)
{
	int n = snprintf(buf, len, "%s/child-%u-disk%u.qcow2", dir, child, i);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Which image virtio_blk_reopen puts a disk on: `to` (a qcow2 overlay or,
 * thawing, the image itself), else back on `from`. */
struct reopen {
	const char *to, *from;
	enum block_format to_fmt, from_fmt;
	bool to_confined, from_confined;   /* the user's backing=confined, for the image */
};

static int reopen_open(void *ctx, bool original, struct block_backend **out, struct err *err)
{
	const struct reopen *r = ctx;
	/* An overlay names its backing by a resolved path nimbus wrote, so it
	 * is not confined: the base's own chain is the one the VM opened under
	 * the user's rule when it started, and its header (where backing names
	 * live) is not the guest's to write. */
	struct block_opts o = { .format = original ? r->from_fmt : r->to_fmt,
				.confine_backing = original ? r->from_confined : r->to_confined };
	return block_backend_open(original ? r->from : r->to, &o, out, err);
}

static const char *format_name(enum block_format f)
{
	return f == BLOCK_FORMAT_QCOW2 ? "qcow2" : "raw";
}

/* Appends "; more" to err's message (a thaw's trouble after the failure
 * that made it thaw). */
static void err_append(struct err *err, const char *more)
{
	size_t l = strlen(err->msg);
	snprintf(err->msg + l, sizeof err->msg - l, "; %s", more);
}

void vm_fork_disks_thaw(struct vm *vm, struct vm_fork_disks *f, struct err *err)
{
	struct vm_parts p;
	vm_parts(vm, &p);
	for (unsigned i = 0; f && i < f->n; i++) {
		if (f->state[i] != DISK_ON)
			continue;
		struct reopen r = { .to = f->base[i], .to_fmt = f->format[i],
				    .to_confined = f->was_confined[i], .from = f->overlay[i],
				    .from_fmt = BLOCK_FORMAT_QCOW2 };
		struct err e = { 0 };
		if (virtio_blk_reopen(p.disks[i], reopen_open, &r, &e) == 0 &&
		    vm_disk_set_image(vm, i, f->was_path[i], f->was_format[i],
				      f->was_confined[i]) == 0) {
			f->state[i] = DISK_MADE;   /* removed by vm_fork_disks_free */
		} else {
			char msg[sizeof e.msg + PATH_MAX + 64];
			snprintf(msg, sizeof msg, "disk %s stays on %s (%s)", f->was_path[i],
				 f->overlay[i], e.msg[0] ? e.msg : "out of memory");
			err_append(err, msg);
			f->state[i] = DISK_STUCK;
		}
	}
}

void vm_fork_disks_free(struct vm_fork_disks *f)
{
	for (unsigned i = 0; f && i < f->n; i++)
		if (f->state[i] == DISK_MADE)
			unlink(f->overlay[i]);
	free(f);
}

/* Makes disk i's overlay (the VM runs on): its names, then the file. */
static int prepare_one(const struct vm_parts *p, const char *dir, struct vm_fork_disks *f,
		       unsigned i, struct err *err)
{
	const struct vm_disk *d = &p->cfg->disks[i];
	enum block_format fmt = BLOCK_FORMAT_RAW;
	if (d->format && block_format_parse(d->format, &fmt) < 0)
		return err_set(err, -EINVAL, "fork: disk %s: format %s", d->path, d->format);
	if (!realpath(d->path, f->base[i]))
		return err_set(err, -errno, "fork: disk %s: %s", d->path, strerror(errno));
	int n = snprintf(f->overlay[i], sizeof f->overlay[i], "%s.parent-disk%u.qcow2", dir, i);
	if (n < 0 || (size_t)n >= sizeof f->overlay[i] ||
	    strlen(d->path) >= sizeof f->was_path[i])
		return err_set(err, -ENAMETOOLONG, "fork: %s: name too long", dir);
	f->format[i] = fmt;
	f->size[i] = virtio_blk_size(p->disks[i]);
	strcpy(f->was_path[i], d->path);
	f->was_format[i] = d->format;
	f->was_confined[i] = d->confine_backing;
	struct err e = { 0 };
	int rc = block_qcow2_create_overlay(f->overlay[i], f->size[i], f->base[i], fmt, true, &e);
	if (rc)
		return err_set(err, rc, "fork: disk %s: %s", d->path, e.msg);
	f->state[i] = DISK_MADE;
	return 0;
}

/* Moves disk i onto its overlay (the VM paused). */
static int freeze_one(struct vm *vm, const struct vm_parts *p, struct vm_fork_disks *f,
		      unsigned i, struct err *err)
{
	struct reopen r = { .to = f->overlay[i], .to_fmt = BLOCK_FORMAT_QCOW2, .from = f->base[i],
			    .from_fmt = f->format[i], .from_confined = f->was_confined[i] };
	struct err e = { 0 };
	int rc = virtio_blk_reopen(p->disks[i], reopen_open, &r, &e);
	if (rc)
		return err_set(err, rc, "fork: disk %s: %s", f->was_path[i], e.msg);
	f->state[i] = DISK_ON;   /* from here a thaw undoes it */
	if ((rc = vm_disk_set_image(vm, i, f->overlay[i], "qcow2", false)))
		return err_set(err, rc, "fork: out of memory");
	return 0;
}

int vm_fork_disks_prepare(struct vm *vm, const char *dir, unsigned children,
			  struct vm_fork_disks **out, struct err *err)
{
	*out = NULL;
	struct vm_parts p;
	vm_parts(vm, &p);
	const struct vm_config *cfg = p.cfg;
	unsigned writable = 0;
	for (unsigned i = 0; i < cfg->ndisks; i++)
		writable += !cfg->disks[i].readonly && !cfg->disks[i].ephemeral;
	if (!writable)
		return 0;
	/* DIR, without the trailing slashes, names the parent's overlays. */
	char base_dir[PATH_MAX];
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (dl >= sizeof base_dir - 64)
		return err_set(err, -ENAMETOOLONG, "fork: %s: name too long", dir);
	memcpy(base_dir, dir, dl);
	base_dir[dl] = 0;
	/* A child finding its overlay's name taken would fail after the
	 * parent moved: refuse now (an earlier fork into this directory). */
	for (unsigned c = 0; c < children; c++)
		for (unsigned i = 0; i < cfg->ndisks; i++) {
			char path[PATH_MAX];
			if (!cfg->disks[i].readonly && !cfg->disks[i].ephemeral &&
			    child_overlay(path, sizeof path, base_dir, c, i) == 0 &&
			    access(path, F_OK) == 0)
				return err_set(err, -EEXIST, "fork: %s exists (an earlier fork into "
					       "%s?): fork into a new directory", path, base_dir);
		}
	struct vm_fork_disks *f = calloc(1, sizeof *f);
	if (!f)
		return err_set(err, -ENOMEM, "fork: out of memory");
	f->n = cfg->ndisks;
	int rc = 0;
	for (unsigned i = 0; i < cfg->ndisks && !rc; i++)
		if (!cfg->disks[i].readonly && !cfg->disks[i].ephemeral)
			rc = prepare_one(&p, base_dir, f, i, err);
	if (rc) {
		vm_fork_disks_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int vm_fork_disks_freeze(struct vm *vm, struct vm_fork_disks *f, struct err *err)
{
	struct vm_parts p;
	vm_parts(vm, &p);
	int rc = 0;
	for (unsigned i = 0; f && i < f->n && !rc; i++)
		if (f->state[i] == DISK_MADE)
			rc = freeze_one(vm, &p, f, i, err);
	if (rc)
		vm_fork_disks_thaw(vm, f, err);
	return rc;
}

const char *vm_fork_disks_base(const struct vm_fork_disks *f, unsigned i)
{
	return f && i < f->n && f->state[i] == DISK_ON ? f->base[i] : NULL;
}

void vm_fork_disks_save(const struct vm_fork_disks *f, struct snap_out *o)
{
	if (!f)
		return;
	snap_begin(o, "fork-disks", 1);
	snap_put_u32(o, f->n);
	for (unsigned i = 0; i < f->n; i++) {
		bool frozen = f->state[i] == DISK_ON;
		snap_put_u8(o, frozen);
		if (!frozen)
			continue;
		snap_put_str(o, f->base[i]);
		snap_put_str(o, format_name(f->format[i]));
		snap_put_u64(o, f->size[i]);
	}
	snap_end(o);
}

/* "DIR: message", for the snapshot stream's errors. */
static int in_dir(struct err *err, int rc, const char *dir)
{
	char msg[sizeof err->msg];
	snprintf(msg, sizeof msg, "%s", err->msg);
	return err_set(err, rc, "%s: %s", dir, msg);
}

/* The base must be the disk the fork froze: a child's overlay of another
 * size than its base would show the guest a disk of another size than it
 * probed, or (larger) zeroes past the base's end that no write put there. */
static int check_base_size(const char *dir, unsigned i, const char *base, enum block_format fmt,
			   uint64_t size, struct err *err)
{
	struct block_opts o = { .readonly = true, .format = fmt };
	struct block_backend *b;
	int rc = block_backend_open(base, &o, &b, err);
	if (rc)
		return in_dir(err, rc, dir);
	uint64_t has = b->size;
	b->ops->close(b);
	if (has != size)
		return err_set(err, -EINVAL, "%s: disk %u: the fork froze its base %s at %llu bytes, "
			       "it has %llu now (changed since the fork, or not the fork's snapshot)",
			       dir, i, base, (unsigned long long)size, (unsigned long long)has);
	return 0;
}

int vm_fork_disks_restore(struct snap_in *in, struct vm_config *cfg, const char *dir,
			  char *paths[VM_MAX_DISKS], struct err *err)
{
	int rc = snap_in_section(in, "fork-disks", 1, err);
	if (rc)
		return in_dir(err, rc, dir);
	uint32_t n = snap_get_u32(in);
	if (!in->overrun && n != cfg->ndisks)
		return err_set(err, -EINVAL, "%s: %u disks in the snapshot, %u in this VM (--disk)",
			       dir, n, cfg->ndisks);
	for (uint32_t i = 0; i < n && !in->overrun; i++) {
		char base[PATH_MAX], fmt_name[8], overlay[PATH_MAX];
		if (!snap_get_u8(in))
			continue;
		snap_get_str(in, base, sizeof base);
		snap_get_str(in, fmt_name, sizeof fmt_name);
		uint64_t size = snap_get_u64(in);
		enum block_format fmt;
		if (in->overrun || base[0] != '/' || block_format_parse(fmt_name, &fmt) < 0) {
			snap_in_bad(in);
			break;
		}
		struct vm_disk *d = &cfg->disks[i];
		if (d->readonly || d->ephemeral)
			continue;   /* the base itself, read-only: the "vm" section checks it */
		if (!cfg->fork_index)
			return err_set(err, -EINVAL, "%s: disk %s was frozen by a fork (%s is the base "
				       "of its overlays; writing it would corrupt them): restore it "
				       "read-only (,ro or --ephemeral)", dir, d->path, base);
		if ((rc = child_overlay(overlay, sizeof overlay, dir, cfg->fork_index - 1, i)))
			return err_set(err, rc, "%s: name too long", dir);
		if ((rc = check_base_size(dir, i, base, fmt, size, err)))
			return rc;
		/* One allocation: the overlay's path, then the base's. */
		size_t ol = strlen(overlay) + 1;
		if (!(paths[i] = malloc(ol + strlen(base) + 1)))
			return err_set(err, -ENOMEM, "out of memory");
		memcpy(paths[i], overlay, ol);
		strcpy(paths[i] + ol, base);
		if ((rc = block_qcow2_create_overlay(overlay, size, base, fmt, false, err)))
			return rc;
		d->path = paths[i];
		d->format = "qcow2";
		d->confine_backing = false;   /* its backing is named by the snapshot, resolved */
		d->frozen_base = paths[i] + ol;
	}
	return (rc = snap_in_end(in, err)) ? in_dir(err, rc, dir) : 0;
}
