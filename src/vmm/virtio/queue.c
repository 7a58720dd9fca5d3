/*
 * Split virtqueue, device side.  See queue.h for the validation rules.
 *
 * Ring layout (virtio 1.2, 2.7.6 and 2.7.8), little-endian:
 *   avail: le16 flags; le16 idx; le16 ring[num]; le16 used_event;
 *   used:  le16 flags; le16 idx; {le32 id; le32 len} ring[num]; le16 avail_event;
 *   desc:  {le64 addr; le32 len; le16 flags; le16 next} [num]
 *
 * Memory ordering (2.7.7, 2.7.13): the driver writes ring entries then
 * avail->idx, so after loading idx we need an acquire fence before reading
 * entries and descriptors.  We write the used element then used->idx with a
 * release fence between.  The suppression checks (used_event / avail_event)
 * need store->load ordering against the driver's mirror-image check, hence
 * full fences there.
 */
#include "vmm/virtio/queue.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/virtio/virtio.h"

#define DESC_SIZE 16u

/* Single loads/stores of aligned guest ring fields (never torn, never re-read). */
static inline uint16_t ld16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED));
}

static inline void st16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline void st32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, htole32(v), __ATOMIC_RELAXED);
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* One copy of a descriptor (indirect tables need not be aligned: memcpy). */
static inline void read_desc(const uint8_t *table, uint32_t i, struct desc *d)
{
	uint8_t raw[DESC_SIZE];
	memcpy(raw, table + (size_t)i * DESC_SIZE, DESC_SIZE);
	atomic_signal_fence(memory_order_seq_cst);   /* use only the copy below */
	uint64_t a;
	uint32_t l;
	uint16_t f, n;
	memcpy(&a, raw, 8);
	memcpy(&l, raw + 8, 4);
	memcpy(&f, raw + 12, 2);
	memcpy(&n, raw + 14, 2);
	d->addr = le64toh(a);
	d->len = le32toh(l);
	d->flags = le16toh(f);
	d->next = le16toh(n);
}

static uint64_t avail_size(uint16_t num) { return 6 + 2ull * num; }
static uint64_t used_size(uint16_t num) { return 6 + 8ull * num; }

void vq_reset(struct virtq *vq)
{
	struct virtio_device *dev = vq->dev;
	unsigned index = vq->index;
	memset(vq, 0, sizeof *vq);
	vq->dev = dev;
	vq->index = index;
}

int vq_setup(struct virtq *vq, struct bus *bus, uint16_t max, uint64_t features,
	     char *why, size_t whylen)
{
	struct virtq_state *s = &vq->s;
	s->ready = 0;
	if (s->num == 0 || s->num > max || (s->num & (s->num - 1))) {
		snprintf(why, whylen, "queue size %u is not a power of 2 in 1..%u", s->num, max);
		return -EINVAL;
	}
	if ((s->desc & 15) || (s->avail & 1) || (s->used & 3)) {
		snprintf(why, whylen, "misaligned rings (desc 0x%llx, driver 0x%llx, device 0x%llx)",
			 (unsigned long long)s->desc, (unsigned long long)s->avail,
			 (unsigned long long)s->used);
		return -EINVAL;
	}
	const uint8_t *d = bus_guest_ptr(bus, s->desc, (uint64_t)DESC_SIZE * s->num);
	const uint8_t *a = bus_guest_ptr(bus, s->avail, avail_size(s->num));
	/* Held for the queue's life: each write through it is noted (vq_fill,
	 * vq_flush, the event index) after it is made. */
	uint8_t *u = bus_guest_ptr_w(bus, s->used, used_size(s->num));
	if (!d || !a || !u) {
		snprintf(why, whylen, "%s ring at 0x%llx is not inside guest RAM",
			 !d ? "descriptor" : !a ? "driver" : "device",
			 (unsigned long long)(!d ? s->desc : !a ? s->avail : s->used));
		return -EINVAL;
	}
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	vq->event_idx = (features & VIRTIO_F_EVENT_IDX) != 0;
	vq->indirect = (features & VIRTIO_F_INDIRECT_DESC) != 0;
	s->ready = 1;
	s->broken = 0;
	return 0;
}

static int vq_fail(struct virtq *vq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int vq_fail(struct virtq *vq, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	vq->s.broken = 1;
	if (vq->dev)
		virtio_device_fail(vq->dev, "queue %u: %s", vq->index, msg);
	return -1;
}

/* Walks the chain starting at head, validating as it goes. */
static int walk(struct virtq *vq, struct bus *bus, uint16_t head, struct vq_chain *c)
{
	const uint8_t *table = vq->desc;
	uint32_t table_len = vq->s.num, limit = vq->s.num, count = 0;
	uint32_t i = head;
	bool indirect = false, seen_write = false;
	uint64_t total = 0;
	unsigned n = 0;

	c->bus = bus;
	c->head = head;
	c->nr = c->nw = 0;
	c->rlen = c->wlen = 0;
	for (;;) {
		if (i >= table_len)
			return vq_fail(vq, "descriptor index %u outside %s of %u entries (head %u)",
				       i, indirect ? "indirect table" : "ring", table_len, head);
		if (++count > limit)
			return vq_fail(vq, "chain at head %u has more than %u descriptors (a loop?)",
				       head, limit);
		struct desc d;
		read_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return vq_fail(vq, "indirect descriptor %u without VIRTIO_F_INDIRECT_DESC", i);
			if (indirect)
				return vq_fail(vq, "indirect descriptor inside an indirect table (head %u)", head);
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return vq_fail(vq, "indirect descriptor %u also has NEXT", i);
			if (d.len == 0 || d.len % DESC_SIZE || d.len / DESC_SIZE > VQ_MAX_SEGS)
				return vq_fail(vq, "indirect table length %u is not a multiple of 16 in 16..%u",
					       d.len, VQ_MAX_SEGS * DESC_SIZE);
			const uint8_t *t = bus_guest_ptr(bus, d.addr, d.len);
			if (!t)
				return vq_fail(vq, "indirect table 0x%llx+%u is not inside guest RAM",
					       (unsigned long long)d.addr, d.len);
			table = t;
			table_len = limit = d.len / DESC_SIZE;
			count = 0;
			i = 0;
			indirect = true;
			continue;
		}
		bool w = (d.flags & VIRTQ_DESC_F_WRITE) != 0;
		if (!w && seen_write)
			return vq_fail(vq, "device-readable descriptor %u after a device-writable one (head %u)",
				       i, head);
		seen_write |= w;
		if (d.len) {
			/* Device-writable buffers through the write door (their
			 * pages count as dirty); readable ones are only read
			 * (vq_chain_write writes the writable part only). */
			uint8_t *host = w ? bus_guest_ptr_w(bus, d.addr, d.len)
					  : (uint8_t *)(uintptr_t)bus_guest_ptr(bus, d.addr, d.len);
			if (!host)
				return vq_fail(vq, "buffer 0x%llx+%u of descriptor %u is not inside guest RAM",
					       (unsigned long long)d.addr, d.len, i);
			total += d.len;
			if (total > VQ_MAX_CHAIN_BYTES)
				return vq_fail(vq, "chain at head %u is longer than %u bytes",
					       head, VQ_MAX_CHAIN_BYTES);
			if (n == VQ_MAX_SEGS)
				return vq_fail(vq, "chain at head %u has more than %u buffers",
					       head, VQ_MAX_SEGS);
			c->seg[n++] = (struct vq_seg){ host, d.addr, d.len };
			if (w) {
				c->nw++;
				c->wlen += d.len;
			} else {
				c->nr++;
				c->rlen += d.len;
			}
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

bool vq_has_avail(const struct virtq *vq)
{
	const struct virtq_state *s = &vq->s;
	return s->ready && !s->broken && vq->dev && ld16(vq->avail + 2) != s->last_avail;
}

int vq_pop(struct virtq *vq, struct vq_chain *c)
{
	struct virtq_state *s = &vq->s;
	if (!s->ready || s->broken || !vq->dev)
		return -1;
	uint16_t avail_idx = ld16(vq->avail + 2);
	uint16_t pending = (uint16_t)(avail_idx - s->last_avail);
	if (pending == 0 && vq->event_idx) {
		/* Ask for a kick at the next buffer, then look again: the driver may
		 * have added one after our load but before seeing avail_event. */
		uint64_t off = 4 + 8ull * s->num;
		st16(vq->used + off, s->last_avail);
		bus_note_write(vq->dev->bus, s->used + off, 2);
		atomic_thread_fence(memory_order_seq_cst);
		avail_idx = ld16(vq->avail + 2);
		pending = (uint16_t)(avail_idx - s->last_avail);
	}
	if (pending == 0)
		return 0;
	if (pending > s->num)
		return vq_fail(vq, "available index %u is %u entries ahead of %u (queue size %u)",
			       avail_idx, pending, s->last_avail, s->num);
	atomic_thread_fence(memory_order_acquire);
	uint16_t head = ld16(vq->avail + 4 + 2u * (s->last_avail & (s->num - 1)));
	if (walk(vq, vq->dev->bus, head, c) < 0)
		return -1;
	s->last_avail++;
	return 1;
}

void vq_fill(struct virtq *vq, uint16_t i, uint16_t head, uint32_t written)
{
	struct virtq_state *s = &vq->s;
	if (!s->ready)
		return;
	uint64_t off = 4 + 8ull * ((uint16_t)(s->used_idx + i) & (s->num - 1));
	st32(vq->used + off, head);
	st32(vq->used + off + 4, written);
	bus_note_write(vq->dev->bus, s->used + off, 8);
}

void vq_flush(struct virtq *vq, uint16_t n)
{
	struct virtq_state *s = &vq->s;
	if (!s->ready)
		return;
	atomic_thread_fence(memory_order_release);
	s->used_idx = (uint16_t)(s->used_idx + n);
	st16(vq->used + 2, s->used_idx);
	bus_note_write(vq->dev->bus, s->used + 2, 2);
}

void vq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	vq_fill(vq, 0, head, written);
	vq_flush(vq, 1);
}

bool vq_should_signal(struct virtq *vq)
{
	struct virtq_state *s = &vq->s;
	if (!s->ready)
		return false;
	uint16_t old = s->signalled_used, now = s->used_idx;
	if (old == now)
		return false;
	/* Our used->idx store must be visible before we read the driver's
	 * suppression field, or we may miss its update and it ours. */
	atomic_thread_fence(memory_order_seq_cst);
	s->signalled_used = now;
	if (vq->event_idx) {
		uint16_t ev = ld16(vq->avail + 4 + 2u * s->num);
		return (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	}
	return !(ld16(vq->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Segment range of one part of the chain. */
static void part(const struct vq_chain *c, bool writable, unsigned *first, unsigned *end)
{
	*first = writable ? c->nr : 0;
	*end = writable ? c->nr + c->nw : c->nr;
}

size_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, size_t len)
{
	unsigned i, end;
	size_t done = 0;
	part(c, false, &i, &end);
	for (; i < end && done < len; i++) {
		const struct vq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		size_t n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)dst + done, s->host + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, size_t len)
{
	unsigned i, end;
	size_t done = 0;
	part(c, true, &i, &end);
	for (; i < end && done < len; i++) {
		const struct vq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		size_t n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy(s->host + off, (const uint8_t *)src + done, n);
		bus_note_write(c->bus, s->gpa + off, n);
		done += n;
		off = 0;
	}
	return done;
}

int vq_chain_iov(const struct vq_chain *c, bool writable, uint64_t off, uint64_t len,
		 struct iovec *iov, int max)
{
	unsigned i, end;
	int n = 0;
	part(c, writable, &i, &end);
	uint64_t total = writable ? c->wlen : c->rlen;
	if (off > total || len > total - off)
		return -1;
	for (; i < end && len; i++) {
		const struct vq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint64_t take = s->len - off;
		if (take > len)
			take = len;
		if (n == max)
			return -1;
		iov[n++] = (struct iovec){ s->host + off, take };
		len -= take;
		off = 0;
	}
	return n;
}

void vq_chain_note_written(const struct vq_chain *c, uint64_t off, uint64_t len)
{
	unsigned i, end;
	part(c, true, &i, &end);
	for (; i < end && len; i++) {
		const struct vq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint64_t n = s->len - off;
		if (n > len)
			n = len;
		bus_note_write(c->bus, s->gpa + off, n);
		len -= n;
		off = 0;
	}
}
