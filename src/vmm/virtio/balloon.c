/*
 * virtio-balloon (virtio 1.2, 5.5): the host asks the guest to give back
 * RAM (num_pages), the guest hands over 4 KiB pages by PFN, and the device
 * returns them to the host with bus_ram_discard() (madvise(MADV_DONTNEED)
 * on the guest RAM mapping, or MADV_REMOVE when RAM is a shared memfd),
 * reached only through bus_guest_ptr_w().  The next guest access to such a
 * page reads zero, or, when RAM is a snapshot's or fork's image mapped
 * copy-on-write, what the image holds there (the guest's own earlier data;
 * Linux relies on neither: without PAGE_POISON it turns free page reporting
 * off when it poisons or zeroes freed pages), so a guest that cheats only
 * hurts itself; every discarded range is reported with bus_note_write()
 * because its contents changed behind the CPU's back.
 *
 * Queues: inflateq (0) and deflateq (1) carry arrays of le32 PFNs in the
 * device-readable part.  Then, numbered compactly as Linux and QEMU do
 * (a queue whose feature was not negotiated takes no number): statsq if
 * STATS_VQ was negotiated, reporting_vq if REPORTING was.  FREE_PAGE_HINT,
 * PAGE_POISON and MUST_TELL_HOST are not offered; DEFLATE_ON_OOM is on
 * request (it only changes the guest's behaviour).
 *
 * Inflate: each PFN inside RAM is marked in a bitmap (one bit per 4 KiB
 * page) and discarded; a host page larger than 4 KiB is discarded once all
 * of its 4 KiB pieces are inflated.  PFNs outside RAM are ignored (counted
 * nowhere: the guest only loses its own accounting).  Deflate clears the
 * bits; the pages come back on first touch.  A device reset empties the
 * balloon (the driver re-inflates from scratch).
 *
 * Stats (5.5.6.3): the driver posts one buffer of {le16 tag; le64 val}
 * entries; the device keeps it and reads it, and asks for a new report by
 * returning it on the used ring (balloon_request_stats).  Unknown tags are
 * ignored.
 *
 * Free page reporting (5.5.6.7): each chain describes free guest memory in
 * its buffers (Linux posts them device-writable; readable ones are taken
 * too); the host-page-aligned interior of each buffer is discarded and the
 * chain returned with length 0.
 *
 * Malformed requests: an inflate/deflate/stats chain with device-writable
 * buffers breaks the device (NEEDS_RESET); a length that is not a whole
 * number of entries has its tail ignored.
 *
 * Config space (5.5.4): le32 num_pages (host), le32 actual (driver), le32
 * free_page_hint_cmd_id and le32 poison_val (features not offered: 0).
 */
#include "vmm/virtio/balloon.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/bus.h"

#define QUEUE_SIZE 128u
#define CONFIG_SIZE 16u
#define PAGE 4096u
#define PFN_BATCH 256u
#define STAT_BYTES 10u

enum role { R_NONE, R_INFLATE, R_DEFLATE, R_STATS, R_REPORT };
enum stats_state { ST_NONE, ST_HELD, ST_REQUESTED };

struct vballoon {
	struct virtio_device vdev;
	size_t host_page;
	pthread_cond_t stats_cond;    /* with vdev.lock: a stats report arrived */
	/* Under vdev.lock: */
	uint32_t num_pages, actual;
	uint64_t *bitmap;             /* inflated 4 KiB pages; allocated on first use */
	uint64_t npages, inflated;
	uint64_t reported_bytes;
	enum stats_state st_state;
	uint16_t st_head;
	uint64_t st_updates;
	uint32_t st_have;
	uint64_t st_val[VIRTIO_BALLOON_S_NR];
	struct vq_chain chain;
};

struct balloon_state {             /* save/load */
	uint32_t num_pages, actual;
	uint32_t st_state;
	uint16_t st_head;
};

static struct vballoon *to_b(struct virtio_device *d) { return (struct vballoon *)d; }

static enum role role_of(const struct virtio_device *d, unsigned q)
{
	if (q == 0)
		return R_INFLATE;
	if (q == 1)
		return R_DEFLATE;
	bool stats = virtio_has_feature(d, VIRTIO_BALLOON_F_STATS_VQ);
	bool report = virtio_has_feature(d, VIRTIO_BALLOON_F_REPORTING);
	if (q == 2)
		return stats ? R_STATS : report ? R_REPORT : R_NONE;
	if (q == 3 && stats && report)
		return R_REPORT;
	return R_NONE;
}

static void b_config_read(struct virtio_device *d, uint32_t off, void *buf, unsigned len)
{
	struct vballoon *b = to_b(d);
	uint8_t c[CONFIG_SIZE] = {0};
	uint32_t np = htole32(b->num_pages), ac = htole32(b->actual);
	memcpy(c, &np, 4);
	memcpy(c + 4, &ac, 4);
	memcpy(buf, c + off, len);
}

static void b_config_write(struct virtio_device *d, uint32_t off, const void *buf, unsigned len)
{
	/* Only `actual` (bytes 4..7) is the driver's; merge partial writes. */
	struct vballoon *b = to_b(d);
	uint8_t a[4];
	uint32_t v = htole32(b->actual);
	memcpy(a, &v, 4);
	for (unsigned i = 0; i < len; i++)
		if (off + i >= 4 && off + i < 8)
			a[off + i - 4] = ((const uint8_t *)buf)[i];
	memcpy(&v, a, 4);
	b->actual = le32toh(v);
}

static bool ensure_bitmap(struct vballoon *b)
{
	if (b->bitmap)
		return true;
	b->npages = b->vdev.bus->ram_size / PAGE;
	b->bitmap = calloc((b->npages + 63) / 64, 8);
	return b->bitmap != NULL;
}

static bool test_bit(const struct vballoon *b, uint64_t i) { return b->bitmap[i / 64] >> (i % 64) & 1; }

/* Returns guest RAM [off, off+len) (offsets from ram_base) to the host. */
static void discard(struct vballoon *b, uint64_t off, uint64_t len)
{
	struct bus *bus = b->vdev.bus;
	uint64_t gpa = bus->ram_base + off;
	/* The write door (the pages change: dirty logging must see them), though
	 * the bus discards them: shared RAM needs its memfd punched, not only
	 * its mapping dropped. */
	if (!len || !bus_guest_ptr_w(bus, gpa, len))
		return;
	bus_ram_discard(bus, gpa, len);   /* best effort: on failure the host just keeps it */
	bus_note_write(bus, gpa, len);
}

/* Host pages [first, end) whose 4 KiB pieces are all inflated are discarded,
 * in runs. */
static void discard_full_host_pages(struct vballoon *b, uint64_t first, uint64_t end)
{
	uint64_t per = b->host_page / PAGE, run = 0, run_len = 0;
	for (uint64_t hp = first; hp < end; hp++) {
		bool full = (hp + 1) * per <= b->npages;
		for (uint64_t i = 0; full && i < per; i++)
			full = test_bit(b, hp * per + i);
		if (full && run_len && run + run_len == hp) {
			run_len++;
			continue;
		}
		if (run_len)
			discard(b, run * b->host_page, run_len * b->host_page);
		run = hp;
		run_len = full;
	}
	if (run_len)
		discard(b, run * b->host_page, run_len * b->host_page);
}

static void do_pfns(struct vballoon *b, const struct vq_chain *c, bool inflate)
{
	struct bus *bus = b->vdev.bus;
	if (!ensure_bitmap(b))
		return;   /* no memory for the bookkeeping: the pages stay with the guest */
	uint64_t per = b->host_page / PAGE;
	uint64_t n = c->rlen / 4;
	uint32_t pfn[PFN_BATCH];
	for (uint64_t i = 0; i < n; i += PFN_BATCH) {
		unsigned k = n - i < PFN_BATCH ? (unsigned)(n - i) : PFN_BATCH;
		vq_chain_read(c, i * 4, pfn, k * 4ull);
		uint64_t lo = UINT64_MAX, hi = 0;   /* host pages touched by this batch */
		for (unsigned j = 0; j < k; j++) {
			uint64_t gpa = (uint64_t)le32toh(pfn[j]) << VIRTIO_BALLOON_PFN_SHIFT;
			if (!bus_guest_ptr(bus, gpa, PAGE))
				continue;
			uint64_t pg = (gpa - bus->ram_base) / PAGE;
			uint64_t bit = 1ull << (pg % 64);
			if (inflate && !(b->bitmap[pg / 64] & bit)) {
				b->bitmap[pg / 64] |= bit;
				b->inflated++;
			} else if (!inflate && (b->bitmap[pg / 64] & bit)) {
				b->bitmap[pg / 64] &= ~bit;
				b->inflated--;
			}
			if (inflate) {
				lo = pg / per < lo ? pg / per : lo;
				hi = pg / per + 1 > hi ? pg / per + 1 : hi;
			}
		}
		if (inflate && lo < hi) {
			if (hi - lo <= 2 * k)
				discard_full_host_pages(b, lo, hi);
			else   /* scattered PFNs: look only at each one's host page */
				for (unsigned j = 0; j < k; j++) {
					uint64_t gpa = (uint64_t)le32toh(pfn[j]) << VIRTIO_BALLOON_PFN_SHIFT;
					if (bus_guest_ptr(bus, gpa, PAGE)) {
						uint64_t hp = (gpa - bus->ram_base) / PAGE / per;
						discard_full_host_pages(b, hp, hp + 1);
					}
				}
		}
	}
}

static void do_report(struct vballoon *b, const struct vq_chain *c)
{
	struct bus *bus = b->vdev.bus;
	uint64_t hps = b->host_page;
	for (unsigned i = 0; i < c->nr + c->nw; i++) {
		const struct vq_seg *s = &c->seg[i];
		uint64_t off = s->gpa - bus->ram_base;     /* segments are inside RAM */
		uint64_t start = (off + hps - 1) / hps * hps, end = (off + s->len) / hps * hps;
		if (end > start) {
			discard(b, start, end - start);
			b->reported_bytes += end - start;
		}
	}
}

static void do_stats(struct vballoon *b, const struct vq_chain *c)
{
	uint8_t e[STAT_BYTES];
	for (uint64_t off = 0; off + STAT_BYTES <= c->rlen; off += STAT_BYTES) {
		vq_chain_read(c, off, e, STAT_BYTES);
		uint16_t tag;
		uint64_t val;
		memcpy(&tag, e, 2);
		memcpy(&val, e + 2, 8);
		tag = le16toh(tag);
		if (tag < VIRTIO_BALLOON_S_NR) {
			b->st_val[tag] = le64toh(val);
			b->st_have |= 1u << tag;
		}
	}
	b->st_updates++;
	pthread_cond_broadcast(&b->stats_cond);
}

static void b_notify(struct virtio_device *d, unsigned q)
{
	struct vballoon *b = to_b(d);
	enum role r = role_of(d, q);
	if (r == R_NONE)
		return;
	struct virtq *vq = &d->vq[q];
	for (unsigned done = 0;; done++) {
		if (done == QUEUE_SIZE) {
			virtio_device_requeue(d, q);
			break;
		}
		if (vq_pop(vq, &b->chain) != 1)
			break;
		struct vq_chain *c = &b->chain;
		if (r != R_REPORT && c->nw) {
			virtio_device_fail(d, "%s chain has device-writable buffers",
					   r == R_INFLATE ? "inflate" : r == R_DEFLATE ? "deflate" : "stats");
			return;
		}
		if (r == R_STATS) {
			if (b->st_state == ST_HELD)   /* a second buffer: give the old one back */
				vq_push(vq, b->st_head, 0);
			do_stats(b, c);
			b->st_state = ST_HELD;
			b->st_head = c->head;
			continue;   /* kept until the host wants the next report */
		}
		if (r == R_REPORT)
			do_report(b, c);
		else
			do_pfns(b, c, r == R_INFLATE);
		vq_push(vq, c->head, 0);
	}
	virtio_device_signal(d, q);
}

static void b_reset(struct virtio_device *d)
{
	struct vballoon *b = to_b(d);
	b->actual = 0;
	b->inflated = 0;
	if (b->bitmap)
		memset(b->bitmap, 0, (b->npages + 63) / 64 * 8);
	b->st_state = ST_NONE;
	pthread_cond_broadcast(&b->stats_cond);
}

static void b_destroy(struct virtio_device *d)
{
	struct vballoon *b = to_b(d);
	pthread_cond_destroy(&b->stats_cond);
	free(b->bitmap);
	virtio_device_fini(d);
	free(b);
}

static void b_save(struct virtio_device *d, void *state)
{
	struct vballoon *b = to_b(d);
	struct balloon_state s = { b->num_pages, b->actual, b->st_state, b->st_head };
	memcpy(state, &s, sizeof s);
}

static int b_load(struct virtio_device *d, const void *state)
{
	struct vballoon *b = to_b(d);
	struct balloon_state s;
	memcpy(&s, state, sizeof s);
	if (s.st_state > ST_REQUESTED)
		return -EINVAL;
	b->num_pages = s.num_pages;
	b->actual = s.actual;
	b->st_state = s.st_state;
	b->st_head = s.st_head;
	return 0;
}

static const struct virtio_device_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.num_queues = 4,
	.queue_max = QUEUE_SIZE,
	.config_size = CONFIG_SIZE,
	.config_read = b_config_read,
	.config_write = b_config_write,
	.notify = b_notify,
	.reset = b_reset,
	.destroy = b_destroy,
	.state_size = sizeof(struct balloon_state),
	.save = b_save,
	.load = b_load,
};

int virtio_balloon_create(unsigned flags, struct virtio_device **out, struct err *err)
{
	*out = NULL;
	struct vballoon *b = calloc(1, sizeof *b);
	if (!b)
		return err_set(err, -ENOMEM, "virtio-balloon: out of memory");
	long hps = sysconf(_SC_PAGESIZE);
	b->host_page = hps >= (long)PAGE && (hps & (hps - 1)) == 0 ? (size_t)hps : PAGE;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(&b->stats_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc) {
		free(b);
		return err_set(err, -rc, "virtio-balloon: %s", strerror(rc));
	}
	uint64_t f = 0;
	if (flags & VIRTIO_BALLOON_DEFLATE_ON_OOM)
		f |= VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (!(flags & VIRTIO_BALLOON_NO_STATS))
		f |= VIRTIO_BALLOON_F_STATS_VQ;
	if (!(flags & VIRTIO_BALLOON_NO_REPORTING))
		f |= VIRTIO_BALLOON_F_REPORTING;
	virtio_device_init(&b->vdev, &balloon_ops, f);
	*out = &b->vdev;
	return 0;
}

int balloon_set_target(struct virtio_device *dev, uint64_t bytes)
{
	struct vballoon *b = to_b(dev);
	pthread_mutex_lock(&dev->lock);
	int rc = 0;
	if (dev->bus && bytes > dev->bus->ram_size) {
		rc = -ERANGE;
	} else if (b->num_pages != (uint32_t)(bytes / PAGE)) {
		b->num_pages = (uint32_t)(bytes / PAGE);
		if (dev->status & VIRTIO_STATUS_DRIVER_OK)
			virtio_device_config_changed(dev);
	}
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

/* dev->lock held. */
static int request_locked(struct vballoon *b)
{
	struct virtio_device *d = &b->vdev;
	int q = virtio_has_feature(d, VIRTIO_BALLOON_F_STATS_VQ) ? 2 : -1;
	if (q < 0 || !virtio_device_live(d) || b->st_state == ST_NONE)
		return -ENODEV;
	if (b->st_state == ST_HELD) {
		vq_push(&d->vq[q], b->st_head, 0);
		b->st_state = ST_REQUESTED;
		virtio_device_signal(d, (unsigned)q);
	}
	return 0;
}

int balloon_request_stats(struct virtio_device *dev)
{
	pthread_mutex_lock(&dev->lock);
	int rc = request_locked(to_b(dev));
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

int balloon_get_stats(struct virtio_device *dev, struct balloon_stats *out, int wait_ms)
{
	struct vballoon *b = to_b(dev);
	int rc = 0;
	pthread_mutex_lock(&dev->lock);
	if (wait_ms > 0) {
		uint64_t seen = b->st_updates;
		rc = request_locked(b);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (rc == 0 && b->st_updates == seen) {
			if (pthread_cond_timedwait(&b->stats_cond, &dev->lock, &until) == ETIMEDOUT)
				rc = -ETIMEDOUT;
			else if (b->st_state == ST_NONE)
				rc = -ENODEV;   /* reset while waiting */
		}
	}
	memset(out, 0, sizeof *out);
	out->ram_bytes = dev->bus ? dev->bus->ram_size : 0;
	out->target_bytes = (uint64_t)b->num_pages * PAGE;
	out->actual_bytes = (uint64_t)b->actual * PAGE;
	out->inflated_bytes = b->inflated * PAGE;
	out->reported_bytes = b->reported_bytes;
	out->updates = b->st_updates;
	out->have = b->st_have;
	memcpy(out->val, b->st_val, sizeof out->val);
	pthread_mutex_unlock(&dev->lock);
	return rc;
}
