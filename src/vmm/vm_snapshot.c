/*
 * Snapshot and restore of a whole VM (vm.h, docs/snapshot.md).
 *
 * A snapshot directory holds two files:
 *   state   the snapshot stream (snap_stream.h): a "vm" section (board
 *           shape, guest clock, device list, disk identities), one section
 *           per hart ("hart0", ...) and one per device, named as on the
 *           VM's device list;
 *   memory  guest RAM, byte for byte, ram_size long; pages that are zero
 *           (never touched, ballooned away, or just zero) are holes.
 *   disk0.. with --disks only: each disk as the guest sees it, raw and
 *           sparse (a "disks" section in state lists them).
 * A VM with hot-plug disk slots has a "disk-slots" section too: what each
 * slot held (its serial and its image's identity), so a restore gets each
 * hot-plugged disk back in its slot (--slot-disk) or is refused naming it.
 * One with hot-plug NIC slots has a "nic-slots" section: which hold a TAP
 * (the guest's link is up there), so a restore gets a TAP in each
 * (--slot-nic) or is refused.
 * All are written under temporary names and renamed into place, memory
 * (and disks) first: `state` is the commit point, and a VM whose RAM is a
 * private mapping of the old `memory` keeps its (unlinked) pages.
 *
 * Restore builds the VM as configured (same CPUs, memory, devices, disks),
 * then maps `memory` MAP_PRIVATE over guest RAM (pages fault in on use, so
 * restore costs O(devices), not O(RAM)), loads the devices, then the harts
 * (whose pending-interrupt word is the saved one, whatever the devices
 * drove meanwhile), and sets the clock to continue from the saved reading.
 */
#include "vmm/vm_internal.h"
#include "lib/io.h"
#include "lib/zero.h"
#include "lib/tmark.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/cpu/hart.h"
#include "vmm/device.h"
#include "vmm/snap_stream.h"
#include "vmm/vm_fork_image.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/net.h"

#define VM_SNAP_VERSION 1u
#define DIFF_MAGIC "NIMBDIFF"
#define DIFF_HEADER_BYTES 24u
#define MAX_CHAIN 64              /* incremental snapshots on one full one */
#define STATE_MAX_BYTES (64u << 20)   /* far above any real state file */
#define DISK_CHUNK (256u << 10)       /* a snapshot's disk is copied this much at a time */

/* ---- helpers ---------------------------------------------------------- */


static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* err's message with "what: " in front. */
static int prefix(struct err *err, int rc, const char *what)
{
	char msg[sizeof err->msg];
	snprintf(msg, sizeof msg, "%s", err->msg);
	return err_set(err, rc, "%s: %s", what, msg);
}

/* ---- disks ------------------------------------------------------------- */

struct disk_id {
	char path[4096];
	uint64_t size, dev, ino, mtime_s, mtime_ns;
};

/* dev: the open disk (NULL: look path up).  The open image's fstat is what
 * the guest's data is in, and needs no path lookup (a sandboxed VMM may
 * make none). */
static int disk_identify(const char *path, struct virtio_device *dev, struct disk_id *d)
{
	struct stat st;
	int rc = dev ? virtio_blk_image_stat(dev, &st) : -ENOTSUP;
	if (rc == -ENOTSUP && stat(path, &st) < 0)
		return -errno;
	if (rc && rc != -ENOTSUP)
		return rc;
	snprintf(d->path, sizeof d->path, "%s", path);
	d->size = (uint64_t)st.st_size;
	d->dev = (uint64_t)st.st_dev;
	d->ino = (uint64_t)st.st_ino;
	d->mtime_s = (uint64_t)st.st_mtim.tv_sec;
	d->mtime_ns = (uint64_t)st.st_mtim.tv_nsec;
	return 0;
}

/* The "disk-slots" section: per hot-plug slot a u8 (1: holds a disk), then
 * for a disk its serial and image identity (as the "vm" section's disks). */
static int save_slots(struct vm *vm, struct snap_out *o, struct err *err)
{
	struct virtio_device *d;
	unsigned n = 0;
	while (vm_disk_slot(vm, n))
		n++;
	if (!n)
		return 0;
	snap_begin(o, "disk-slots", 1);
	snap_put_u32(o, n);
	for (unsigned i = 0; (d = vm_disk_slot(vm, i)); i++) {
		char id[VIRTIO_BLK_ID_BYTES + 1];
		struct disk_id di;
		bool loaded = virtio_blk_loaded(d, id);
		snap_put_u8(o, loaded);
		if (!loaded)
			continue;
		int rc = disk_identify(id, d, &di);
		if (rc) {
			snap_end(o);
			return err_set(err, rc, "snapshot: hot-plugged disk %s: %s", id, strerror(-rc));
		}
		snap_put_str(o, id);
		snap_put_u64(o, di.size);
		snap_put_u64(o, di.dev);
		snap_put_u64(o, di.ino);
		snap_put_u64(o, di.mtime_s);
		snap_put_u64(o, di.mtime_ns);
	}
	snap_end(o);
	return 0;
}

/* The "nic-slots" section: u32 count, per slot a u8 (1: holds a TAP). */
static void save_nic_slots(struct vm *vm, struct snap_out *o)
{
	struct virtio_device *d;
	unsigned n = 0;
	while (vm_nic_slot(vm, n))
		n++;
	if (!n)
		return;
	snap_begin(o, "nic-slots", 1);
	snap_put_u32(o, n);
	for (unsigned i = 0; (d = vm_nic_slot(vm, i)); i++)
		snap_put_u8(o, virtio_net_loaded(d));
	snap_end(o);
}

/* Each NIC slot holds a TAP now where it held one at the snapshot, and
 * none where it held none (the guest's link state is in its memory). */
static int check_nic_slots(struct snap_in *in, struct vm *vm, const char *dir, struct err *err)
{
	unsigned have = 0;
	while (vm_nic_slot(vm, have))
		have++;
	uint32_t n = 0;
	int rc;
	if (snap_in_has(in, "nic-slots")) {
		if ((rc = snap_in_section(in, "nic-slots", 1, err)))
			return prefix(err, rc, dir);
		n = snap_get_u32(in);
	}
	for (unsigned i = 0; i < have && !in->overrun; i++) {
		bool held = i < n && snap_get_u8(in), holds = virtio_net_loaded(vm_nic_slot(vm, i));
		if (in->overrun)
			break;
		if (held != holds)
			return err_set(err, -EINVAL, "%s: hot-plug NIC slot %u %s a TAP at the snapshot%s",
				       dir, i, held ? "held" : "was without",
				       held ? "; give one with --slot-nic" : ", here it has one");
	}
	if (n && (rc = snap_in_end(in, err)))
		return prefix(err, rc, dir);
	if (n > have)
		return err_set(err, -EINVAL, "%s: %u hot-plug NIC slots in the snapshot, %u in this "
			       "VM", dir, n, have);
	return 0;
}

/* Each slot holds now what it held at the snapshot: the same serial, and
 * (unless the disks came with the VM) the same image, unchanged. */
static int check_slots(struct snap_in *in, struct vm *vm, const char *dir, bool disks_carried,
		       struct err *err)
{
	unsigned have = 0;
	while (vm_disk_slot(vm, have))
		have++;
	uint32_t n = 0;
	int rc;
	if (snap_in_has(in, "disk-slots")) {
		if ((rc = snap_in_section(in, "disk-slots", 1, err)))
			return prefix(err, rc, dir);
		n = snap_get_u32(in);
	}
	for (unsigned i = 0; i < have && !in->overrun; i++) {
		char was[VIRTIO_BLK_ID_BYTES + 1] = "", now[VIRTIO_BLK_ID_BYTES + 1];
		struct disk_id saved = { 0 }, cur;
		bool held = i < n && snap_get_u8(in);
		if (held) {
			snap_get_str(in, was, sizeof was);
			saved.size = snap_get_u64(in);
			saved.dev = snap_get_u64(in);
			saved.ino = snap_get_u64(in);
			saved.mtime_s = snap_get_u64(in);
			saved.mtime_ns = snap_get_u64(in);
		}
		struct virtio_device *d = vm_disk_slot(vm, i);
		bool holds = virtio_blk_loaded(d, now);
		if (in->overrun)
			break;
		if (held && !holds)
			return err_set(err, -EINVAL, "%s: hot-plug slot %u held disk %s at the "
				       "snapshot; give it back with --slot-disk %u:IMAGE,serial=%s", dir,
				       i, was, i, was);
		if (!held && holds)
			return err_set(err, -EINVAL, "%s: hot-plug slot %u was empty at the snapshot, "
				       "here it holds disk %s (--slot-disk)", dir, i, now);
		if (!held)
			continue;
		if (strcmp(was, now))
			return err_set(err, -EINVAL, "%s: hot-plug slot %u held disk %s at the "
				       "snapshot, here disk %s", dir, i, was, now);
		if (disks_carried)
			continue;
		if ((rc = disk_identify(now, d, &cur)))
			return err_set(err, rc, "%s: hot-plugged disk %s: %s", dir, now, strerror(-rc));
		if (cur.dev != saved.dev || cur.ino != saved.ino)
			return err_set(err, -EINVAL, "%s: hot-plugged disk %s is not the image the "
				       "snapshot was taken with", dir, now);
		if (cur.size != saved.size || cur.mtime_s != saved.mtime_s ||
		    cur.mtime_ns != saved.mtime_ns)
			return err_set(err, -EINVAL, "%s: hot-plugged disk %s changed since the snapshot "
				       "(size or modification time differ); restoring would corrupt it",
				       dir, now);
	}
	if (n && (rc = snap_in_end(in, err)))
		return prefix(err, rc, dir);
	if (n > have)
		return err_set(err, -EINVAL, "%s: %u hot-plug slots in the snapshot, %u in this VM",
			       dir, n, have);
	return 0;
}

/* ---- the chain of incremental snapshots -------------------------------- */

/* With the VM paused (or not yet run): pages written from now on are logged. */
static void chain_start(struct vm_parts *p, const char *dir, uint64_t id)
{
	struct vm_snap_chain *ch = p->chain;
	ch->valid = bus_dirty_start(p->bus) == 0;
	ch->from_file = false;
	ch->id = id;
	snprintf(ch->dir, sizeof ch->dir, "%s", dir);
}

/* A VM just restored from dir, its RAM dir's memory mapped: what it writes
 * from now on shows in the mapping itself (bus_ram_changed_from_file). */
static void chain_from_restore(struct vm_parts *p, const char *dir, uint64_t id)
{
	struct vm_snap_chain *ch = p->chain;
	ch->valid = p->bus->ram_from_file;
	ch->from_file = true;
	ch->id = id;
	snprintf(ch->dir, sizeof ch->dir, "%s", dir);
}

/* ---- save -------------------------------------------------------------- */

static void save_vm_section(struct snap_out *o, const struct vm_parts *p, uint64_t ticks,
			    const struct disk_id *disks)
{
	const struct vm_config *c = p->cfg;
	snap_begin(o, "vm", 1);
	snap_put_u32(o, VM_SNAP_VERSION);
	snap_put_u32(o, p->ncpus);
	snap_put_u64(o, p->bus->ram_base);
	snap_put_u64(o, p->bus->ram_size);
	snap_put_u64(o, p->clock->hz);
	snap_put_u64(o, ticks);
	snap_put_u32(o, p->devs->n);
	for (unsigned i = 0; i < p->devs->n; i++)
		snap_put_str(o, p->devs->dev[i].name);
	snap_put_u32(o, c->ndisks);
	for (unsigned i = 0; i < c->ndisks; i++) {
		const struct disk_id *d = &disks[i];
		snap_put_str(o, d->path);
		snap_put_u64(o, d->size);
		snap_put_u64(o, d->dev);
		snap_put_u64(o, d->ino);
		snap_put_u64(o, d->mtime_s);
		snap_put_u64(o, d->mtime_ns);
	}
	snap_end(o);
}

int vm_ram_write_pages(int fd, const struct bus *bus, const uint8_t *data, uint64_t *written)
{
	const uint64_t page = 1u << BUS_PAGE_SHIFT, n = bus->ram_size / page;
	*written = 0;
	int rc = 0;
	for (uint64_t i = 0; i < n && !rc;) {
		if (!data[i]) {
			i++;
			continue;
		}
		/* At most 2 MiB a write: one huge page of a tmpfs (vm_fork_tmpfs.c). */
		uint64_t j = i + 1;
		while (j < n && j - i < 512 && data[j])
			j++;
		rc = io_pwrite_all(fd, bus->ram + i * page, (j - i) * page, (off_t)(i * page));
		*written += (j - i) * page;
		i = j;
	}
	return rc;
}

/* Writes RAM to fd, leaving zero pages as holes.  Untouched RAM reads as
 * the zero page without being allocated, so the scan costs no memory.
 * Sandboxed, the page map is the one opened before the jail (vm_create,
 * bus_keep_pagemap); without one every page is read. */
int vm_ram_write_sparse(int fd, const struct bus *bus, bool sandboxed, uint64_t *written)
{
	const uint64_t page = 1u << BUS_PAGE_SHIFT;
	uint64_t n = bus->ram_size / page;
	*written = 0;
	/* Emptied only if it holds something (a passed file): truncating a
	 * file to 0 makes ext4 write it all back at close (auto_da_alloc),
	 * which a new file need not wait for. */
	if ((lseek(fd, 0, SEEK_END) > 0 && ftruncate(fd, 0) < 0) ||
	    ftruncate(fd, (off_t)bus->ram_size) < 0)
		return -errno;
	uint8_t *data = malloc(n);
	if (!data)
		return -ENOMEM;
	if (sandboxed && !bus->pagemap_kept)
		memset(data, 1, n);
	else
		bus_ram_touched(bus, 0, n, data);
	for (uint64_t i = 0; i < n; i++)
		data[i] = data[i] && !bytes_are_zero(bus->ram + i * page, page);
	int rc = vm_ram_write_pages(fd, bus, data, written);
	free(data);
	return rc;
}

/* durable: synced before it is renamed into place. */
static int write_file(const char *dir, const char *name, const void *buf, size_t len,
		      bool durable, struct err *err)
{
	char tmp[4200], path[4200];
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(err, -errno, "snapshot: %s: %s", tmp, strerror(errno));
	int rc = io_pwrite_all(fd, buf, len, 0);
	if (!rc && durable && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return err_set(err, rc, "snapshot: %s: %s", path, strerror(-rc));
	}
	return 0;
}

uint64_t vm_snapshot_new_id(void)
{
	uint64_t id = 0;
	if (getrandom(&id, sizeof id, 0) != sizeof id)
		id = (uint64_t)vclock_host_ns() * 0x9e3779b97f4a7c15ull;
	return id;
}

int vm_state_build(struct vm *vm, uint64_t id, const char *base, uint64_t base_id,
		   bool with_disks, const struct vm_fork_disks *frozen, struct snap_out *o,
		   struct err *err)
{
	struct vm_parts p;
	vm_parts(vm, &p);
	struct disk_id *disks = calloc(VM_MAX_DISKS, sizeof *disks);
	if (!disks)
		return err_set(err, -ENOMEM, "snapshot: out of memory");
	for (unsigned i = 0; i < p.cfg->ndisks; i++) {
		/* A frozen disk: the guest's disk at the pause is its base. */
		const char *fb = vm_fork_disks_base(frozen, i);
		int rc = fb ? disk_identify(fb, NULL, &disks[i])
			    : disk_identify(p.cfg->disks[i].path, i < p.ndisks ? p.disks[i] : NULL,
					    &disks[i]);
		if (rc) {
			free(disks);
			return err_set(err, rc, "snapshot: disk %s: %s", p.cfg->disks[i].path,
				       strerror(-rc));
		}
	}
	snap_out_init(o);
	save_vm_section(o, &p, vclock_at(p.clock, p.paused_at_ns), disks);
	free(disks);
	int src = save_slots(vm, o, err);
	if (src) {
		snap_out_free(o);
		return src;
	}
	save_nic_slots(vm, o);
	vm_net_macs_save(&p, o);
	vm_fork_disks_save(frozen, o);
	snap_begin(o, "memory", 1);
	snap_put_u64(o, id);
	snap_put_u8(o, base != NULL);
	if (base) {
		snap_put_str(o, base);
		snap_put_u64(o, base_id);
	}
	snap_end(o);
	if (with_disks) {
		snap_begin(o, "disks", 1);
		snap_put_u32(o, p.ndisks);
		for (unsigned i = 0; i < p.ndisks; i++) {
			char name[16];
			snprintf(name, sizeof name, "disk%u", i);
			snap_put_str(o, name);
			snap_put_u64(o, virtio_blk_size(p.disks[i]));
		}
		snap_end(o);
	}
	for (unsigned i = 0; i < p.ncpus; i++) {
		char name[16];
		snprintf(name, sizeof name, "hart%u", i);
		snap_begin(o, name, 1);
		hart_save(p.harts[i], o);
		snap_end(o);
	}
	for (unsigned i = 0; i < p.devs->n; i++) {
		const struct device *d = &p.devs->dev[i];
		snap_begin(o, d->name, 1);
		int rc = d->ops->save(d->obj, o);
		snap_end(o);
		if (rc) {
			snap_out_free(o);
			return err_set(err, rc, "snapshot: device %s cannot be saved: %s", d->name,
				       strerror(-rc));
		}
	}
	if (snap_out_finish(o)) {
		snap_out_free(o);
		return err_set(err, -ENOMEM, "snapshot: out of memory");
	}
	return 0;
}

/* DIR/memory.diff: the pages in `pages` (a bitmap), as (u64 pfn, 4 KiB) records. */
int vm_ram_write_diff(int fd, const struct bus *bus, const uint64_t *pages, uint64_t *written)
{
	const uint64_t page = 1u << BUS_PAGE_SHIFT;
	uint8_t hdr[DIFF_HEADER_BYTES] = DIFF_MAGIC;
	hdr[8] = 1;   /* version, u32 LE */
	for (unsigned i = 0; i < 8; i++)
		hdr[16 + i] = (uint8_t)(bus->ram_size >> (8 * i));
	int rc = io_pwrite_all(fd, hdr, sizeof hdr, 0);
	off_t off = sizeof hdr;
	*written = 0;
	uint64_t n = bus->ram_size / page;
	for (uint64_t pfn = 0; pfn < n && !rc; pfn++) {
		if (!(pages[pfn / 64] >> (pfn % 64) & 1))
			continue;
		uint8_t rec[8];
		for (unsigned i = 0; i < 8; i++)
			rec[i] = (uint8_t)(pfn >> (8 * i));
		if (!(rc = io_pwrite_all(fd, rec, 8, off)))
			rc = io_pwrite_all(fd, bus->ram + pfn * page, page, off + 8);
		off += 8 + (off_t)page;
		*written += page;
	}
	return rc;
}

/* What the guest sees of disk i into fd, raw, from its start; zero chunks
 * are holes.  The VM is paused and its devices quiesced: nothing writes
 * meanwhile.  0 or -errno; err names disk i. */
static int write_disk_to(int fd, unsigned i, struct virtio_device *dev, uint8_t *buf,
			 uint64_t *written, struct err *err)
{
	uint64_t size = virtio_blk_size(dev);
	/* Emptied first: a passed file may hold an older snapshot's disk. */
	int rc = ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	for (uint64_t off = 0; !rc && off < size; off += DISK_CHUNK) {
		size_t len = size - off < DISK_CHUNK ? (size_t)(size - off) : DISK_CHUNK;
		if (!virtio_blk_may_hold_data(dev, off, len))
			continue;
		if ((rc = virtio_blk_read_disk(dev, off, buf, len)))
			return err_set(err, rc, "snapshot: disk%u: cannot read at %llu: %s", i,
				       (unsigned long long)off, strerror(-rc));
		if (bytes_are_zero(buf, len))
			continue;
		rc = io_pwrite_all(fd, buf, len, (off_t)off);
		*written += len;
	}
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	return rc ? err_set(err, rc, "snapshot: disk%u: %s", i, strerror(-rc)) : 0;
}

/* DIR/diskI, through a temporary name. */
static int write_disk(const char *dir, unsigned i, struct virtio_device *dev, uint8_t *buf,
		      uint64_t *written, struct err *err)
{
	char tmp[4200], path[4200];
	snprintf(tmp, sizeof tmp, "%s/.disk%u.tmp", dir, i);
	snprintf(path, sizeof path, "%s/disk%u", dir, i);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(err, -errno, "snapshot: %s: %s", tmp, strerror(errno));
	int rc = write_disk_to(fd, i, dev, buf, written, err);
	close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = err_set(err, -errno, "snapshot: %s: %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

/* Every disk into DIR/diskI, or, fds given, into fds[i]. */
static int write_disks(const char *dir, const int *fds, const struct vm_parts *p,
		       uint64_t *written, struct err *err)
{
	uint8_t *buf = malloc(DISK_CHUNK);
	if (!buf)
		return err_set(err, -ENOMEM, "snapshot: out of memory");
	int rc = 0;
	*written = 0;
	for (unsigned i = 0; i < p->ndisks && !rc; i++)
		rc = fds ? write_disk_to(fds[i], i, p->disks[i], buf, written, err)
			 : write_disk(dir, i, p->disks[i], buf, written, err);
	free(buf);
	return rc;
}

/* Whether an incremental snapshot into absdir has a base: 0 or -errno with err. */
static int incremental_check(const struct vm_parts *p, const char *absdir, struct err *err)
{
	const struct vm_snap_chain *ch = p->chain;
	bool none = !ch->valid || (!ch->from_file && !atomic_load(&p->bus->logging));
	if (none && ch->forked[0])
		return err_set(err, -ENOENT, "snapshot: no earlier snapshot of this VM to build an "
			       "incremental one on (its fork into %s is not one: a fork does not "
			       "log what the VM writes after it; take a full snapshot first)",
			       ch->forked);
	if (none)
		return err_set(err, -ENOENT, "snapshot: no earlier snapshot of this VM to build an "
			       "incremental one on (take a full one first)");
	if (!strcmp(absdir, ch->dir))
		return err_set(err, -EINVAL, "snapshot: %s is the base of this incremental "
			       "snapshot: write it to another directory", absdir);
	return 0;
}

/* The chain's base directory, if it is the fork this VM is a child of
 * (under api_lock): the one base that may lack its memory for a while. */
struct base_dir {
	bool fork;
	char dir[4096];
};

static int base_dir_of(struct vm_parts *p, void *ctx)
{
	struct base_dir *b = ctx;
	b->fork = p->chain->valid && p->chain->from_file && p->cfg->fork_index;
	snprintf(b->dir, sizeof b->dir, "%s", p->chain->dir);
	return 0;
}

/* dir holds RAM, whole (memory) or as a diff on its own base (memory.diff). */
static bool holds_memory(const char *dir)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/memory", dir);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(path, sizeof path, "%s/memory.diff", dir);
	return access(path, F_OK) == 0;
}

int vm_snapshot_base_wait(struct vm *vm, struct err *err)
{
	struct base_dir *b = malloc(sizeof *b);
	if (!b)
		return err_set(err, -ENOMEM, "out of memory");
	vm_call_locked(vm, base_dir_of, b);
	/* A fork's child whose parent is still writing the fork's memory file
	 * (its children start first) waits for it: a diff on a base without
	 * memory could not be restored, nor ever be if the parent ended first.
	 * Any other base (or none: incremental_check says so, in the pause)
	 * was whole when it became one. */
	int rc = 0;
	const struct timespec step = { 0, 5000000 };
	for (unsigned waited = 0; b->fork && b->dir[0] && !holds_memory(b->dir); waited += 5) {
		if (waited >= VM_BASE_WAIT_MS) {
			rc = err_set(err, -ENOENT, "snapshot: %s/memory, the memory of this VM's "
				     "base, is not there after %u s (a fork's parent writes it after "
				     "its children start: did it end first?): take a full snapshot",
				     b->dir, VM_BASE_WAIT_MS / 1000);
			break;
		}
		nanosleep(&step, NULL);
	}
	free(b);
	return rc;
}

/*
 * Guest RAM into fd (from its start): every page with data, or, incremental,
 * the pages written since the chain's base (the VM is paused: the final
 * collect, devices' pages included).  Pages taken from the log and not
 * written break the chain.  0 or -errno.
 */
static int write_ram(int fd, struct vm_parts *p, bool incremental, uint64_t *written)
{
	if (!incremental)
		return vm_ram_write_sparse(fd, p->bus, p->cfg->sandboxed, written);
	uint64_t *pages = calloc((p->bus->ram_size >> BUS_PAGE_SHIFT) / 64 + 1, sizeof *pages);
	if (!pages)
		return -ENOMEM;
	int rc = 0;
	if (!p->chain->from_file)
		bus_dirty_collect(p->bus, pages, true);
	else
		rc = bus_ram_changed_from_file(p->bus, pages);
	if (!rc && ftruncate(fd, 0) < 0)
		rc = -errno;
	if (!rc)
		rc = vm_ram_write_diff(fd, p->bus, pages, written);
	if (rc)
		p->chain->valid = false;
	free(pages);
	return rc;
}

/* Into the files the client passed (a sandboxed VMM): no path is touched.
 * dir, absolute, is where the client puts them: an incremental snapshot's
 * base (the state records it), and the next one's. */
static int write_to_fds(struct vm *vm, const char *dir, const struct vm_snapshot_opts *opts,
			struct vm_snapshot_info *info, struct err *err)
{
	struct vm_parts p;
	vm_parts(vm, &p);
	struct vm_snap_chain *ch = p.chain;
	int rc;
	if (atomic_load(&ch->migrating))
		return err_set(err, -EBUSY, "snapshot: the VM is being migrated");
	if (opts->incremental && (rc = incremental_check(&p, dir, err)))
		return rc;
	if (opts->with_disks && opts->ndisk_fds < p.ndisks)
		return err_set(err, -EINVAL, "snapshot: the VM has %u disks, the client passed %u "
			       "disk files", p.ndisks, opts->ndisk_fds);
	uint64_t id = vm_snapshot_new_id();
	struct snap_out o;
	if ((rc = vm_state_build(vm, id, opts->incremental ? ch->dir : NULL, ch->id,
				 opts->with_disks, NULL, &o, err)))
		return rc;
	uint64_t written = 0, disk_written = 0;
	if ((rc = write_ram(opts->memory_fd, &p, opts->incremental, &written)) ||
	    fsync(opts->memory_fd) < 0) {
		rc = rc ? rc : -errno;
		err_set(err, rc, "snapshot: %s: memory (a passed file): %s", dir, strerror(-rc));
	} else if (opts->with_disks &&
		   (rc = write_disks(dir, opts->disk_fds, &p, &disk_written, err))) {
		;   /* err names the disk */
	} else if (ftruncate(opts->state_fd, 0) < 0 ||
		   (rc = io_pwrite_all(opts->state_fd, o.buf, o.len, 0)) || fsync(opts->state_fd) < 0) {
		rc = rc ? rc : -errno;
		err_set(err, rc, "snapshot: %s: state (a passed file): %s", dir, strerror(-rc));
	} else if (info) {
		info->state_bytes = o.len;
		info->mem_bytes_written = written;
		info->incremental = opts->incremental;
		info->disk_bytes_written = disk_written;
		info->disks = opts->with_disks ? p.ndisks : 0;
	}
	/* The next incremental snapshot builds on this one, once the client
	 * has put its files in place (a restore checks the base's id). */
	if (!rc)
		chain_start(&p, dir, id);
	else if (opts->incremental)
		ch->valid = false;
	snap_out_free(&o);
	return rc;
}

/*
 * A fork's snapshot: what its children map (vm_fork_image.c) into *image,
 * and dir/state, not synced: its children read it at once, from the page cache,
 * and a crash ends them with the parent's memory anyway (the sync was most
 * of the parent's pause).  dir/memory is written from the image later.  It
 * is not a snapshot of this VM's history: an incremental one builds on the
 * last real one still, and arming every page for dirty logging would cost
 * the pause (and the parent's first stores).
 */
static int write_fork(struct vm *vm, const char *dir, const struct vm_fork_disks *frozen,
		      struct vm_snapshot_info *info, struct vm_fork_image *image, struct err *err)
{
	struct vm_parts p;
	vm_parts(vm, &p);
	if (atomic_load(&p.chain->migrating))
		return err_set(err, -EBUSY, "fork: the VM is being migrated");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(err, -errno, "fork: %s: %s", dir, strerror(errno));
	struct snap_out o;
	int rc = vm_state_build(vm, vm_snapshot_new_id(), NULL, 0, false, frozen, &o, err);
	if (rc)
		return rc;
	uint64_t copied = 0;
	if ((rc = vm_fork_image_take(&p, image, &copied, err)))
		goto out;
	tmark("snapshot: memory image taken");
	/* A memory file left by an earlier snapshot there would not be this
	 * state's until the new one is written: gone now. */
	char path[4200];
	snprintf(path, sizeof path, "%s/memory", dir);
	if (unlink(path) < 0 && errno != ENOENT) {
		rc = err_set(err, -errno, "fork: %s: %s", path, strerror(errno));
	} else if (!(rc = write_file(dir, "state", o.buf, o.len, false, err))) {
		char abs[PATH_MAX];
		snprintf(p.chain->forked, sizeof p.chain->forked, "%s", realpath(dir, abs) ? abs : dir);
		if (info) {
			info->state_bytes = o.len;
			info->mem_bytes_written = copied;
			info->incremental = false;
		}
	}
	if (rc) {
		vm_fork_image_close(image);
		image->image = image->diff = image->ram_file = -1;
	}
out:
	snap_out_free(&o);
	return rc;
}

int vm_snapshot_write(struct vm *vm, const char *dir, const struct vm_snapshot_opts *opts,
		      const struct vm_fork_disks *frozen, struct vm_snapshot_info *info,
		      struct vm_fork_image *fork_image, struct err *err)
{
	bool incremental = opts->incremental, with_disks = opts->with_disks;
	if (opts->to_fds)
		return write_to_fds(vm, dir, opts, info, err);
	if (opts->fork_children)
		return write_fork(vm, dir, frozen, info, fork_image, err);
	struct vm_parts p;
	vm_parts(vm, &p);
	struct vm_snap_chain *ch = p.chain;
	if (atomic_load(&ch->migrating))
		return err_set(err, -EBUSY, "snapshot: the VM is being migrated");
	int rc = incremental ? incremental_check(&p, "", err) : 0;
	if (rc)
		return rc;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(err, -errno, "snapshot: %s: %s", dir, strerror(errno));
	char absdir[PATH_MAX];
	if (!realpath(dir, absdir))
		return err_set(err, -errno, "snapshot: %s: %s", dir, strerror(errno));
	if (incremental && (rc = incremental_check(&p, absdir, err)))
		return rc;
	uint64_t id = vm_snapshot_new_id();
	struct snap_out o;
	int brc = vm_state_build(vm, id, incremental ? ch->dir : NULL, ch->id, with_disks, frozen,
				 &o, err);
	if (brc)
		return brc;

	const char *memname = incremental ? "memory.diff" : "memory";
	char tmp[4200], path[4200];
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, memname);
	snprintf(path, sizeof path, "%s/%s", dir, memname);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = err_set(err, -errno, "snapshot: %s: %s", tmp, strerror(errno));
		goto out;
	}
	uint64_t written = 0;
	rc = write_ram(fd, &p, incremental, &written);
	tmark("snapshot: memory written");
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		err_set(err, rc, "snapshot: %s: %s", path, strerror(-rc));
		goto out;
	}
	uint64_t disk_written = 0;
	if (with_disks && (rc = write_disks(dir, NULL, &p, &disk_written, err)))
		goto out;
	if ((rc = write_file(dir, "state", o.buf, o.len, true, err)))
		goto out;
	if (info) {
		info->disk_bytes_written = disk_written;
		info->disks = with_disks ? p.ndisks : 0;
		info->state_bytes = o.len;
		info->mem_bytes_written = written;
		info->incremental = incremental;
	}
	/* The next incremental snapshot builds on this one: log from here. */
	chain_start(&p, absdir, id);
out:
	if (rc && incremental)   /* pages taken from the log went nowhere: the chain is broken */
		ch->valid = false;
	snap_out_free(&o);
	return rc;
}

/* ---- restore ----------------------------------------------------------- */

/* disks_carried: the disks' contents came with the VM (a migration with
 * --copy-storage, a snapshot with --disks): this VM's disks are other files,
 * and only their number is checked here. */
static int check_vm_section(struct snap_in *in, const struct vm_parts *p, const char *dir,
			    bool disks_carried, uint64_t *ticks, struct err *err)
{
	int rc = snap_in_section(in, "vm", 1, err);
	if (rc)
		return prefix(err, rc, dir);
	uint32_t ver = snap_get_u32(in);
	uint32_t ncpus = snap_get_u32(in);
	uint64_t base = snap_get_u64(in), size = snap_get_u64(in), hz = snap_get_u64(in);
	*ticks = snap_get_u64(in);
	if (in->overrun || ver != VM_SNAP_VERSION)
		return err_set(err, -EINVAL, "%s: bad vm section", dir);
	if (ncpus != p->ncpus)
		return err_set(err, -EINVAL, "%s: taken with %u vCPUs, this VM has %u (--cpus)",
			       dir, ncpus, p->ncpus);
	if (base != p->bus->ram_base || size != p->bus->ram_size)
		return err_set(err, -EINVAL, "%s: taken with %llu MiB of RAM, this VM has %llu "
			       "(--mem)", dir, (unsigned long long)(size >> 20),
			       (unsigned long long)(p->bus->ram_size >> 20));
	if (hz != p->clock->hz)
		return err_set(err, -EINVAL, "%s: timebase %llu Hz, this VM's is %llu", dir,
			       (unsigned long long)hz, (unsigned long long)p->clock->hz);
	uint32_t ndev = snap_get_u32(in);
	char name[64];
	for (uint32_t i = 0; i < ndev && !in->overrun; i++) {
		snap_get_str(in, name, sizeof name);
		if (in->overrun)
			break;
		if (i >= p->devs->n || strcmp(name, p->devs->dev[i].name))
			return err_set(err, -EINVAL, "%s: device %u is %s in the snapshot, %s in this "
				       "VM (start it with the options the snapshot was taken with)",
				       dir, i, name, i < p->devs->n ? p->devs->dev[i].name : "none");
	}
	if (!in->overrun && ndev != p->devs->n)
		return err_set(err, -EINVAL, "%s: %u devices in the snapshot, %u in this VM (start "
			       "it with the options the snapshot was taken with)", dir, ndev,
			       p->devs->n);
	uint32_t ndisks = snap_get_u32(in);
	if (!in->overrun && ndisks != p->cfg->ndisks)
		return err_set(err, -EINVAL, "%s: %u disks in the snapshot, %u in this VM", dir,
			       ndisks, p->cfg->ndisks);
	struct disk_id *d = malloc(sizeof *d);
	if (!d)
		return err_set(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < ndisks && !in->overrun; i++) {
		snap_get_str(in, d->path, sizeof d->path);
		uint64_t dsize = snap_get_u64(in), dev = snap_get_u64(in), ino = snap_get_u64(in);
		uint64_t ms = snap_get_u64(in), mns = snap_get_u64(in);
		if (in->overrun || disks_carried)
			continue;
		struct disk_id now;
		const struct vm_disk *vd = &p->cfg->disks[i];
		const char *path = vd->frozen_base ? vd->frozen_base : vd->path;
		rc = disk_identify(path, NULL, &now);
		if (rc) {
			free(d);
			return err_set(err, rc, "%s: disk %s: %s", dir, path, strerror(-rc));
		}
		if (now.dev != dev || now.ino != ino) {
			rc = err_set(err, -EINVAL, "%s: disk %s is not the file the snapshot was taken "
				     "with (%s)", dir, path, d->path);
		} else if (now.size != dsize || now.mtime_s != ms || now.mtime_ns != mns) {
			rc = err_set(err, -EINVAL, "%s: disk %s changed since the snapshot (size or "
				     "modification time differ); restoring would corrupt it", dir,
				     path);
		}
		if (rc) {
			free(d);
			return rc;
		}
	}
	free(d);
	if ((rc = snap_in_end(in, err)))
		return prefix(err, rc, dir);
	return 0;
}

static int read_state(const char *path, uint8_t **buf, size_t *len, struct err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(err, -errno, "%s: %s", path, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0) {
		rc = err_set(err, -errno, "%s: %s", path, strerror(errno));
	} else if (st.st_size < 0 || (uint64_t)st.st_size > STATE_MAX_BYTES) {
		rc = err_set(err, -EINVAL, "%s: %lld bytes: too large for a state file", path,
			     (long long)st.st_size);
	} else if (!(*buf = malloc((size_t)st.st_size + 1))) {
		rc = err_set(err, -ENOMEM, "out of memory");
	} else {
		*len = (size_t)st.st_size;
		if (read_full(fd, *buf, *len)) {
			free(*buf);
			*buf = NULL;
			rc = err_set(err, -EIO, "%s: cannot read", path);
		}
	}
	close(fd);
	return rc;
}

/* Maps dir/memory over guest RAM, or the image passed (image > 0: a fork's
 * child gets its parent's memory image, dir/memory may not be written yet). */
static int map_full(struct vm_parts *p, const char *dir, int image, struct err *err)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/memory", dir);
	if (image > 0)
		snprintf(path, sizeof path, "%s: the fork's memory image (descriptor %d)", dir,
			 image);
	int fd = image > 0 ? fcntl(image, F_DUPFD_CLOEXEC, 0)
			   : open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0)
		return err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != p->bus->ram_size) {
		close(fd);
		return err_set(err, -EINVAL, "%s: %lld bytes, expected %llu (truncated?)", path,
			       (long long)st.st_size, (unsigned long long)p->bus->ram_size);
	}
	int rc = bus_map_ram_file(p->bus, fd);
	close(fd);   /* the mapping holds the file */
	if (rc)
		return err_set(err, rc, "%s: cannot map: %s", path, strerror(-rc));
	return 0;
}

/* Copies the pages of a memory diff open on fd (from its start; what names
 * it in messages) into guest RAM; closes fd. */
static int apply_diff_fd(struct vm_parts *p, int fd, const char *path, struct err *err)
{
	/* By offset, never the descriptor's position: a fork's children share
	 * one open diff (dup2 in each), so their positions are one. */
	const uint64_t page = 1u << BUS_PAGE_SHIFT;
	uint8_t hdr[DIFF_HEADER_BYTES];
	int rc = io_pread_all(fd, hdr, sizeof hdr, 0);
	uint64_t size = 0;
	for (unsigned i = 0; i < 8 && !rc; i++)
		size |= (uint64_t)hdr[16 + i] << (8 * i);
	if (rc || memcmp(hdr, DIFF_MAGIC, 8) || hdr[8] != 1 || size != p->bus->ram_size) {
		close(fd);
		return err_set(err, -EINVAL, "%s: not a memory diff of this VM's RAM size", path);
	}
	for (off_t at = sizeof hdr;; at += 8 + (off_t)page) {
		uint8_t rec[8];
		ssize_t n = pread(fd, rec, 8, at);
		if (n == 0)
			break;
		uint64_t pfn = 0;
		for (unsigned i = 0; i < 8; i++)
			pfn |= (uint64_t)rec[i] << (8 * i);
		if (n != 8 || pfn >= p->bus->ram_size / page ||
		    io_pread_all(fd, p->bus->ram + pfn * page, page, at + 8)) {
			close(fd);
			return err_set(err, -EINVAL, "%s: truncated or corrupt", path);
		}
	}
	close(fd);
	return 0;
}

/* Copies the pages of dir/memory.diff into guest RAM. */
static int apply_diff(struct vm_parts *p, const char *dir, struct err *err)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/memory.diff", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(err, -errno, "%s: %s", path, strerror(errno));
	return apply_diff_fd(p, fd, path, err);
}

/*
 * Guest RAM from the snapshot in dir, whose state is open in `in`: its
 * memory file, or its base's RAM (recursively) with its diff on top.
 */
static int restore_memory(struct vm_parts *p, const char *dir, struct snap_in *in,
			  unsigned depth, uint64_t *id, struct err *err)
{
	int rc = snap_in_section(in, "memory", 1, err);
	if (rc)
		return prefix(err, rc, dir);
	*id = snap_get_u64(in);
	bool incremental = snap_get_u8(in) != 0;
	char base[4096] = "";
	uint64_t base_id = 0;
	if (incremental) {
		snap_get_str(in, base, sizeof base);
		base_id = snap_get_u64(in);
	}
	if ((rc = snap_in_end(in, err)))
		return prefix(err, rc, dir);
	if (!incremental && (depth || p->cfg->restore_memory_diff_fd <= 0))
		return map_full(p, dir, depth == 0 ? p->cfg->restore_memory_fd : 0, err);
	if (!incremental) {
		/* A fork's image with the parent's pages written since it on top
		 * (vm_fork_image.c), both passed. */
		char what[4200];
		snprintf(what, sizeof what, "%s: the fork's memory diff (descriptor %d)", dir,
			 p->cfg->restore_memory_diff_fd);
		int fd = fcntl(p->cfg->restore_memory_diff_fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			rc = err_set(err, -errno, "%s: %s", what, strerror(errno));
			if (fd >= 0)
				close(fd);
			return rc;
		}
		if ((rc = map_full(p, dir, p->cfg->restore_memory_fd, err)))
			return rc;
		return apply_diff_fd(p, fd, what, err);
	}
	if (depth >= MAX_CHAIN)
		return err_set(err, -ELOOP, "%s: more than %d incremental snapshots in a row", dir,
			       MAX_CHAIN);

	char path[4200];
	snprintf(path, sizeof path, "%s/state", base);
	uint8_t *buf = NULL;
	size_t len = 0;
	struct snap_in *bin = malloc(sizeof *bin);
	if (!bin)
		return err_set(err, -ENOMEM, "out of memory");
	uint64_t got = 0;
	if ((rc = read_state(path, &buf, &len, err)) ||
	    (rc = snap_in_open(bin, buf, len, path, err)) ||
	    (rc = restore_memory(p, base, bin, depth + 1, &got, err)))
		goto out;
	if (got != base_id) {
		rc = err_set(err, -EINVAL, "%s: its base %s is not the snapshot it was taken on "
			     "(overwritten since?)", dir, base);
		goto out;
	}
	rc = apply_diff(p, dir, err);
out:
	free(bin);
	free(buf);
	return rc;
}

/*
 * Loads state file bytes buf into a VM just created.  dir: the snapshot
 * directory whose memory to map, or NULL when RAM is already in place
 * (migration).  what names the source in messages.
 */
static int load_state(struct vm *vm, const char *dir, const char *what, const uint8_t *buf,
		      size_t len, bool disks_carried, struct err *err)
{
	struct vm_parts p;
	vm_parts(vm, &p);
	char path[4200];
	snprintf(path, sizeof path, "%s/state", dir ? dir : what);
	if (!dir)
		snprintf(path, sizeof path, "%s", what);
	struct snap_in *in = malloc(sizeof *in);
	if (!in)
		return err_set(err, -ENOMEM, "out of memory");
	uint64_t ticks = 0;
	int rc;
	if ((rc = snap_in_open(in, buf, len, path, err)) ||
	    (rc = check_vm_section(in, &p, dir ? dir : what,
				   disks_carried || snap_in_has(in, "disks"), &ticks, err)) ||
	    (rc = check_slots(in, vm, dir ? dir : what, disks_carried || snap_in_has(in, "disks"),
			      err)) ||
	    (rc = check_nic_slots(in, vm, dir ? dir : what, err)))
		goto out;
	if (p.cfg->fork_index) {
		uint8_t was[VM_MAX_NETS][6];
		unsigned n;
		if ((rc = vm_fork_nics_was(in, p.cfg, was, &n, err))) {
			prefix(err, rc, dir ? dir : what);
			goto out;
		}
		vm_set_fork_macs(vm, was, n);
	}

	uint64_t id = 0;
	if (dir && (rc = restore_memory(&p, dir, in, 0, &id, err)))
		goto out;
	dir = dir ? dir : what;

	for (unsigned i = 0; i < p.devs->n; i++) {
		const struct device *d = &p.devs->dev[i];
		if ((rc = snap_in_section(in, d->name, 1, err)))
			goto fail;
		rc = d->ops->load(d->obj, in);
		if (rc == 0)
			rc = snap_in_end(in, err);
		else
			err_set(err, rc, "device %s: state not accepted", d->name);
		if (rc)
			goto fail;
	}
	for (unsigned i = 0; i < p.ncpus; i++) {
		char name[16];
		snprintf(name, sizeof name, "hart%u", i);
		if ((rc = snap_in_section(in, name, 1, err)))
			goto fail;
		rc = hart_load(p.harts[i], in);
		if (rc == 0)
			rc = snap_in_end(in, err);
		else
			err_set(err, rc, "%s: invalid values", name);
		if (rc)
			goto fail;
	}
	/* The guest's time continues from the saved reading. */
	p.clock->offset_ticks = ticks;
	p.clock->base_ns = vclock_host_ns();
	/* Work the guest queued before the snapshot (a kick a paused device
	 * held) runs now: quiesce and resume pass over every ready queue. */
	device_list_quiesce(p.devs);
	device_list_resume(p.devs);
	char absdir[PATH_MAX];
	if (id && realpath(dir, absdir))
		chain_from_restore(&p, absdir, id);
	goto out;
fail:
	prefix(err, rc, dir);
out:
	free(in);
	return rc;
}

int vm_restore_state(struct vm *vm, const char *dir, struct err *err)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/state", dir);
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_state(path, &buf, &len, err);
	if (rc)
		return rc;
	rc = load_state(vm, dir, path, buf, len, false, err);
	free(buf);
	return rc;
}

int vm_restore_incoming(struct vm *vm, struct vm_incoming *inc, struct err *err)
{
	struct vm_parts p;
	vm_parts(vm, &p);
	if (inc->ram_size != p.bus->ram_size)
		return err_set(err, -EINVAL, "%s: %llu MiB of RAM, this VM has %llu (--mem)",
			       inc->what, (unsigned long long)(inc->ram_size >> 20),
			       (unsigned long long)(p.bus->ram_size >> 20));
	/* Move the received pages under the guest-physical map, no copy
	 * (unless they went there already). */
	if (!inc->ram_is_vms &&
	    mremap(inc->ram, inc->ram_size, inc->ram_size, MREMAP_MAYMOVE | MREMAP_FIXED,
		   p.bus->ram) == MAP_FAILED)
		return err_set(err, -errno, "%s: cannot place guest RAM: %s", inc->what,
			       strerror(errno));
	inc->ram = NULL;   /* the VM's now */
	return load_state(vm, NULL, inc->what, inc->state, inc->state_len, inc->storage_copied,
			  err);
}

/* ---- restore: disks in the snapshot -------------------------------------- */

/* Copies the regular file src_fd into dst_fd, size bytes, keeping its holes:
 * only its data extents are copied (copy_file_range: a reflink where the
 * filesystem can). */
static int copy_sparse(int src, int dst, uint64_t size)
{
	if (ftruncate(dst, (off_t)size) < 0)
		return -errno;
	off_t off = 0;
	while ((uint64_t)off < size) {
		off_t data = lseek(src, off, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -errno;   /* only a hole is left */
		off_t hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		for (off_t at = data; at < hole;) {
			loff_t in = at, out = at;
			ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)(hole - at), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP ||
				      errno == EINVAL)) {
				/* No in-kernel copy here: through a buffer. */
				static const size_t B = 1 << 20;
				uint8_t *buf = malloc(B);
				if (!buf)
					return -ENOMEM;
				size_t want = (size_t)(hole - at) < B ? (size_t)(hole - at) : B;
				n = pread(src, buf, want, at);
				int rc = n > 0 ? io_pwrite_all(dst, buf, (size_t)n, at) : n < 0 ? -errno : -EIO;
				free(buf);
				if (rc)
					return rc;
			} else if (n <= 0) {
				return n < 0 ? -errno : -EIO;
			}
			at += n;
		}
		off = hole;
	}
	return 0;
}

int vm_restore_disks(struct vm_config *cfg, const char *dir, char *paths[VM_MAX_DISKS],
		     struct err *err)
{
	if (!cfg->ndisks)
		return 0;   /* no disk to take from anywhere: nothing to read here */
	char path[4200];
	snprintf(path, sizeof path, "%s/state", dir);
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_state(path, &buf, &len, err);
	if (rc)
		return rc;
	struct snap_in *in = malloc(sizeof *in);
	if (!in) {
		free(buf);
		return err_set(err, -ENOMEM, "out of memory");
	}
	if ((rc = snap_in_open(in, buf, len, path, err)))
		goto out;
	if (!snap_in_has(in, "disks")) {
		/* A fork's snapshot: a child's disks are new overlays. */
		if (snap_in_has(in, "fork-disks"))
			rc = vm_fork_disks_restore(in, cfg, dir, paths, err);
		goto out;
	}
	if ((rc = snap_in_section(in, "disks", 1, err))) {
		prefix(err, rc, dir);
		goto out;
	}
	uint32_t n = snap_get_u32(in);
	if (!in->overrun && n != cfg->ndisks) {
		rc = err_set(err, -EINVAL, "%s: %u disks in the snapshot, %u in this VM (--disk)", dir,
			     n, cfg->ndisks);
		goto out;
	}
	for (uint32_t i = 0; i < n && !in->overrun && !rc; i++) {
		char name[16], want[16], file[4200];
		snap_get_str(in, name, sizeof name);
		uint64_t size = snap_get_u64(in);
		snprintf(want, sizeof want, "disk%u", i);
		if (in->overrun || strcmp(name, want)) {
			snap_in_bad(in);
			break;
		}
		/* Named by this code, never by the file: it stays inside dir. */
		snprintf(file, sizeof file, "%s/%s", dir, want);
		struct vm_disk *d = &cfg->disks[i];
		int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			rc = err_set(err, -errno, "%s: %s", file, strerror(errno));
		} else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
			rc = err_set(err, -EINVAL, "%s: not the %llu-byte disk the snapshot recorded "
				     "(truncated or replaced?)", file, (unsigned long long)size);
		} else if (d->readonly || d->ephemeral) {
			/* The snapshot's own copy, never written: restorable again. */
			if (!(paths[i] = strdup(file)))
				rc = err_set(err, -ENOMEM, "out of memory");
			d->path = paths[i];
		} else {
			/* Writable: into a new file of the user's naming, never over one. */
			int out = open(d->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (out < 0 && errno == EEXIST) {
				rc = err_set(err, -EEXIST, "--disk %s: exists; a snapshot with its disks "
					     "restores disk%u into a new file: name one that does not "
					     "exist yet, or add ,ro or --ephemeral to run on the "
					     "snapshot's copy", d->path, i);
			} else if (out < 0) {
				rc = err_set(err, -errno, "--disk %s: %s", d->path, strerror(errno));
			} else {
				int c = copy_sparse(fd, out, size);
				if (!c && fsync(out) < 0)
					c = -errno;
				close(out);
				if (c) {
					unlink(d->path);
					rc = err_set(err, c, "--disk %s: copying %s: %s", d->path, file,
						     strerror(-c));
				}
			}
		}
		d->format = "raw";
		if (fd >= 0)
			close(fd);
	}
	if (!rc && (rc = snap_in_end(in, err)))
		prefix(err, rc, dir);
out:
	free(in);
	free(buf);
	return rc;
}
