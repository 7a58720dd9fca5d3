/*
 * Unit tests of the split virtqueue: chain walking (direct, indirect,
 * zero-length buffers), every validation rule with a malformed chain (the
 * device goes NEEDS_RESET with a config interrupt, the used ring is left
 * alone, and a reset brings it back), and notification suppression with and
 * without EVENT_IDX.  A recording device stands in for a real model.
 */
#include "vmm/virtio/queue.h"

#include <stdlib.h>

#include "lib/testing.h"
#include "vmm/virtio/testdrv.h"

/* A device that records each chain and returns it with wlen "written". */
struct rec {
	struct virtio_device vdev;
	struct vq_chain chain, last;
	int chains;
};

static void rec_notify(struct virtio_device *d, unsigned q)
{
	struct rec *r = (struct rec *)d;
	while (vq_pop(&d->vq[q], &r->chain) == 1) {
		r->last = r->chain;
		r->chains++;
		vq_push(&d->vq[q], r->chain.head, (uint32_t)r->chain.wlen);
	}
	virtio_device_signal(d, q);
}

static void rec_destroy(struct virtio_device *d)
{
	virtio_device_fini(d);
	free(d);
}

static const struct virtio_device_ops rec_ops = {
	.name = "virtio-test",
	.device_id = 0x7e,
	.num_queues = 2,
	.queue_max = 256,
	.notify = rec_notify,
	.destroy = rec_destroy,
};

static struct rec *rec_new(void)
{
	struct rec *r = calloc(1, sizeof *r);
	virtio_device_init(&r->vdev, &rec_ops, 0);
	return r;
}

#define FEAT (VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC)
#define BUF(n) (TD_DATA + 0x1000ull * (n))

static int start(struct td *d, struct rec **r, uint64_t features)
{
	*r = rec_new();
	return td_start(d, &(*r)->vdev, VIRTIO_MMIO_SYNC, features, 1, 16);
}

/* The device refused the chain: NEEDS_RESET, config interrupt, nothing used. */
static int broke(struct td *d, struct rec *r)
{
	return (td_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET) &&
	       (td_rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG) &&
	       atomic_load(&d->level) == 1 && td_used_idx(d, 0) == 0 && r->chains == 0;
}

/* After a fault, a reset and a fresh bring-up must work again. */
static int recovers(struct td *d, struct rec *r)
{
	if (!(td_negotiate(d, FEAT) & VIRTIO_STATUS_FEATURES_OK) || atomic_load(&d->level) != 0)
		return 0;
	if (td_queue(d, 0, 16) != 1)
		return 0;
	td_driver_ok(d);
	td_desc(d, 0, 0, BUF(0), 64, VIRTQ_DESC_F_WRITE, 0);
	td_post(d, 0, 0);
	td_kick(d, 0);
	return td_used_idx(d, 0) == 1 && r->chains == 1 &&
	       !(td_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

TEST(queue_direct_chain_and_interrupt)
{
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	td_desc(&d, 0, 3, BUF(0), 16, VIRTQ_DESC_F_NEXT, 7);
	td_desc(&d, 0, 7, BUF(1), 100, VIRTQ_DESC_F_NEXT, 1);
	td_desc(&d, 0, 1, BUF(2), 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);  /* empty: skipped */
	td_desc(&d, 0, 2, BUF(3), 513, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 3);
	EXPECT_EQ(atomic_load(&d.level), 0);
	td_kick(&d, 0);
	EXPECT_EQ(r->chains, 1);
	EXPECT_EQ(r->last.head, 3);
	EXPECT_EQ(r->last.nr, 2);
	EXPECT_EQ(r->last.nw, 1);
	EXPECT_EQ(r->last.rlen, 116);
	EXPECT_EQ(r->last.wlen, 513);
	EXPECT_EQ(r->last.seg[1].gpa, BUF(1));
	EXPECT_EQ(td_used_idx(&d, 0), 1);
	uint32_t id, len;
	td_used_elem(&d, 0, 0, &id, &len);
	EXPECT_EQ(id, 3);
	EXPECT_EQ(len, 513);
	EXPECT_EQ(atomic_load(&d.level), 1);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_VRING);
	td_wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_VRING);
	EXPECT_EQ(atomic_load(&d.level), 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	td_close(&d);
}

TEST(queue_several_chains_wrap_ring)
{
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	/* 40 chains through a 16-entry ring: indices wrap. */
	for (int i = 0; i < 40; i++) {
		td_desc(&d, 0, i % 16, BUF(0), 8 + i, VIRTQ_DESC_F_WRITE, 0);
		td_post(&d, 0, i % 16);
		td_kick(&d, 0);
		uint32_t id, len;
		td_used_elem(&d, 0, (uint16_t)i, &id, &len);
		EXPECT_EQ(id, i % 16);
		EXPECT_EQ(len, 8 + i);
	}
	EXPECT_EQ(td_used_idx(&d, 0), 40);
	td_close(&d);
}

TEST(queue_indirect_chain)
{
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	uint64_t tbl = BUF(10);
	td_desc_at(&d, tbl, 0, BUF(0), 16, VIRTQ_DESC_F_NEXT, 2);
	td_desc_at(&d, tbl, 2, BUF(1), 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	td_desc_at(&d, tbl, 1, BUF(2), 1, VIRTQ_DESC_F_WRITE, 0);
	/* The WRITE flag on the pointing descriptor is ignored (2.7.5.3.2). */
	td_desc(&d, 0, 5, tbl, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 5);
	td_kick(&d, 0);
	EXPECT_EQ(r->chains, 1);
	EXPECT_EQ(r->last.nr, 1);
	EXPECT_EQ(r->last.nw, 2);
	EXPECT_EQ(r->last.wlen, 513);
	EXPECT_EQ(r->last.seg[2].gpa, BUF(2));
	/* An unaligned indirect table is fine too. */
	td_desc_at(&d, tbl + 0x101, 0, BUF(0), 7, 0, 0);
	td_desc(&d, 0, 6, tbl + 0x101, 16, VIRTQ_DESC_F_INDIRECT, 0);
	td_post(&d, 0, 6);
	td_kick(&d, 0);
	EXPECT_EQ(r->chains, 2);
	EXPECT_EQ(r->last.rlen, 7);
	EXPECT(!(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	td_close(&d);
}

TEST(queue_rejects_loop)
{
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	td_desc(&d, 0, 0, BUF(0), 8, VIRTQ_DESC_F_NEXT, 1);
	td_desc(&d, 0, 1, BUF(0), 8, VIRTQ_DESC_F_NEXT, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT(broke(&d, r));
	/* Further kicks do nothing until reset. */
	td_kick(&d, 0);
	EXPECT_EQ(td_used_idx(&d, 0), 0);
	EXPECT(recovers(&d, r));
	td_close(&d);
}

TEST(queue_rejects_loop_in_indirect_table)
{
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	uint64_t tbl = BUF(10);
	td_desc_at(&d, tbl, 0, BUF(0), 8, VIRTQ_DESC_F_NEXT, 1);
	td_desc_at(&d, tbl, 1, BUF(0), 8, VIRTQ_DESC_F_NEXT, 0);
	td_desc(&d, 0, 0, tbl, 32, VIRTQ_DESC_F_INDIRECT, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT(broke(&d, r));
	EXPECT(recovers(&d, r));
	td_close(&d);
}

TEST(queue_rejects_buffer_outside_ram)
{
	static const uint64_t bad[][2] = {
		{ 0x1000, 16 },                          /* below RAM */
		{ TD_RAM_BASE + TD_RAM_SIZE - 8, 16 },   /* straddles the end */
		{ TD_RAM_BASE + TD_RAM_SIZE, 1 },        /* just past */
		{ 0xfffffffffffffff0ull, 0x20 },         /* wraps around */
		{ TD_MMIO, 4 },                          /* device registers */
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct td d;
		struct rec *r;
		EXPECT_EQ(start(&d, &r, FEAT), 0);
		td_desc(&d, 0, 0, BUF(0), 16, VIRTQ_DESC_F_NEXT, 1);
		td_desc(&d, 0, 1, bad[i][0], (uint32_t)bad[i][1], VIRTQ_DESC_F_WRITE, 0);
		td_post(&d, 0, 0);
		td_kick(&d, 0);
		EXPECT(broke(&d, r));
		EXPECT(recovers(&d, r));
		td_close(&d);
	}
}

TEST(queue_rejects_indirect_table_outside_ram)
{
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	td_desc(&d, 0, 0, TD_RAM_BASE + TD_RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT(broke(&d, r));
	td_close(&d);
}

TEST(queue_rejects_overlong_chain)
{
	/* Buffers may overlap: 16 x 3 MiB of the same RAM is 48 MiB "long", but
	 * 100 of them pass the 256 MiB cap. */
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	uint64_t tbl = BUF(10);
	for (unsigned i = 0; i < 100; i++)
		td_desc_at(&d, tbl, i, TD_RAM_BASE, 3u << 20, i < 99 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	td_desc(&d, 0, 0, tbl, 100 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT(broke(&d, r));
	EXPECT(recovers(&d, r));
	td_close(&d);
}

TEST(queue_rejects_readable_after_writable)
{
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	td_desc(&d, 0, 0, BUF(0), 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	td_desc(&d, 0, 1, BUF(1), 16, 0, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT(broke(&d, r));
	EXPECT(recovers(&d, r));
	td_close(&d);
}

TEST(queue_rejects_nested_indirect)
{
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	uint64_t t1 = BUF(10), t2 = BUF(11);
	td_desc_at(&d, t2, 0, BUF(0), 8, 0, 0);
	td_desc_at(&d, t1, 0, t2, 16, VIRTQ_DESC_F_INDIRECT, 0);
	td_desc(&d, 0, 0, t1, 16, VIRTQ_DESC_F_INDIRECT, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT(broke(&d, r));
	EXPECT(recovers(&d, r));
	td_close(&d);
}

TEST(queue_rejects_bad_indirect_descriptors)
{
	for (int c = 0; c < 4; c++) {
		struct td d;
		struct rec *r;
		EXPECT_EQ(start(&d, &r, c == 3 ? VIRTIO_F_VERSION_1 : FEAT), 0);
		uint64_t tbl = BUF(10);
		td_desc_at(&d, tbl, 0, BUF(0), 8, 0, 0);
		if (c == 0)        /* length not a multiple of 16 */
			td_desc(&d, 0, 0, tbl, 24, VIRTQ_DESC_F_INDIRECT, 0);
		else if (c == 1)   /* INDIRECT together with NEXT */
			td_desc(&d, 0, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
		else if (c == 2)   /* table longer than VQ_MAX_SEGS entries */
			td_desc(&d, 0, 0, tbl, (VQ_MAX_SEGS + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
		else               /* INDIRECT_DESC not negotiated */
			td_desc(&d, 0, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
		td_desc(&d, 0, 1, BUF(0), 8, 0, 0);
		td_post(&d, 0, 0);
		td_kick(&d, 0);
		EXPECT(broke(&d, r));
		td_close(&d);
	}
}

TEST(queue_rejects_too_many_buffers)
{
	/* 10 direct buffers, then an indirect table of 1024: 1034 > VQ_MAX_SEGS. */
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	uint64_t tbl = BUF(100);
	for (unsigned i = 0; i < VQ_MAX_SEGS; i++)
		td_desc_at(&d, tbl, i, BUF(0), 1, i + 1 < VQ_MAX_SEGS ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	for (unsigned i = 0; i < 10; i++)
		td_desc(&d, 0, i, BUF(0), 1, VIRTQ_DESC_F_NEXT, i + 1);
	td_desc(&d, 0, 10, tbl, VQ_MAX_SEGS * 16, VIRTQ_DESC_F_INDIRECT, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT(broke(&d, r));
	EXPECT(recovers(&d, r));
	/* Exactly VQ_MAX_SEGS is fine. */
	td_desc(&d, 0, 1, tbl, VQ_MAX_SEGS * 16, VIRTQ_DESC_F_INDIRECT, 0);
	td_post(&d, 0, 1);
	td_kick(&d, 0);
	EXPECT_EQ(r->chains, 2);
	EXPECT_EQ(r->last.nr, VQ_MAX_SEGS);
	td_close(&d);
}

TEST(queue_rejects_bad_indices)
{
	for (int c = 0; c < 3; c++) {
		struct td d;
		struct rec *r;
		EXPECT_EQ(start(&d, &r, FEAT), 0);
		td_desc(&d, 0, 0, BUF(0), 8, VIRTQ_DESC_F_NEXT, 16);   /* next out of range */
		if (c == 0) {
			td_post(&d, 0, 0);
		} else if (c == 1) {
			td_post(&d, 0, 16);                          /* head out of range */
		} else {
			td_desc(&d, 0, 0, BUF(0), 8, 0, 0);
			td_put16(&d, d.q[0].avail + 2, 17);          /* idx 17 ahead of 0 */
		}
		td_kick(&d, 0);
		EXPECT(broke(&d, r));
		td_close(&d);
	}
}

TEST(queue_ready_validates_rings)
{
	struct td d;
	struct rec *r = rec_new();
	EXPECT_EQ(td_open(&d, &r->vdev, VIRTIO_MMIO_SYNC), 0);
	EXPECT(td_negotiate(&d, FEAT) & VIRTIO_STATUS_FEATURES_OK);
	uint64_t b = TD_RAM_BASE;
	/* size not a power of 2, too large, zero; misaligned; outside RAM */
	EXPECT_EQ(td_queue_at(&d, 0, 12, b, b + 0x8000, b + 0x10000), 0);
	EXPECT(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* NEEDS_RESET before DRIVER_OK: no config interrupt (2.1.2) */
	EXPECT_EQ(atomic_load(&d.level), 0);
	struct { uint16_t num; uint64_t desc, avail, used; } bad[] = {
		{ 512, b, b + 0x8000, b + 0x10000 },
		{ 0, b, b + 0x8000, b + 0x10000 },
		{ 16, b + 8, b + 0x8000, b + 0x10000 },
		{ 16, b, b + 0x8001, b + 0x10000 },
		{ 16, b, b + 0x8000, b + 0x10002 },
		{ 16, b + TD_RAM_SIZE - 16, b + 0x8000, b + 0x10000 },
		{ 16, b, 0x1000, b + 0x10000 },
		{ 16, b, b + 0x8000, b + TD_RAM_SIZE - 8 },
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		EXPECT(td_negotiate(&d, FEAT) & VIRTIO_STATUS_FEATURES_OK);
		EXPECT(!(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
		EXPECT_EQ(td_queue_at(&d, 0, bad[i].num, bad[i].desc, bad[i].avail, bad[i].used), 0);
		EXPECT(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	}
	EXPECT(recovers(&d, r));
	td_close(&d);
}

TEST(queue_no_interrupt_flag)
{
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	td_put16(&d, d.q[0].avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
	td_desc(&d, 0, 0, BUF(0), 8, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT_EQ(td_used_idx(&d, 0), 1);
	EXPECT_EQ(atomic_load(&d.raises), 0);
	td_put16(&d, d.q[0].avail, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT_EQ(atomic_load(&d.raises), 1);
	/* A kick with nothing new used raises nothing. */
	td_wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, 1);
	td_kick(&d, 0);
	EXPECT_EQ(atomic_load(&d.raises), 1);
	td_close(&d);
}

TEST(queue_event_idx_suppression)
{
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT | VIRTIO_F_EVENT_IDX), 0);
	td_desc(&d, 0, 0, BUF(0), 8, VIRTQ_DESC_F_WRITE, 0);
	/* used_event = 2: interrupt only when used idx passes 2 -> 3. */
	td_set_used_event(&d, 0, 2);
	for (int i = 1; i <= 4; i++) {
		td_post(&d, 0, 0);
		td_kick(&d, 0);
		EXPECT_EQ(td_used_idx(&d, 0), i);
		EXPECT_EQ(atomic_load(&d.raises), i >= 3 ? 1 : 0);
		/* The device asks to be kicked at the next new buffer. */
		EXPECT_EQ(td_avail_event(&d, 0), i);
	}
	/* Flag-based suppression is ignored with EVENT_IDX. */
	td_wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, 1);
	td_put16(&d, d.q[0].avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
	td_set_used_event(&d, 0, 4);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT_EQ(atomic_load(&d.raises), 2);
	/* Several completions at once cross used_event inside the batch. */
	td_wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, 1);
	td_set_used_event(&d, 0, 6);
	for (int i = 0; i < 3; i++)
		td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT_EQ(td_used_idx(&d, 0), 8);
	EXPECT_EQ(atomic_load(&d.raises), 3);
	td_close(&d);
}

TEST(queue_fill_then_flush_publishes_several_at_once)
{
	struct td d;
	struct rec *r;
	EXPECT_EQ(start(&d, &r, FEAT), 0);
	struct virtq *vq = &r->vdev.vq[0];
	/* Start near the 16-bit wrap of a 16-entry ring's used index. */
	vq->s.used_idx = 0xfffe;
	td_put16(&d, d.q[0].used + 2, 0xfffe);
	pthread_mutex_lock(&r->vdev.lock);
	vq_fill(vq, 0, 7, 100);
	vq_fill(vq, 1, 8, 200);
	vq_fill(vq, 2, 9, 300);
	pthread_mutex_unlock(&r->vdev.lock);
	EXPECT_EQ(td_used_idx(&d, 0), 0xfffe);   /* nothing visible before the flush */
	pthread_mutex_lock(&r->vdev.lock);
	vq_flush(vq, 3);
	pthread_mutex_unlock(&r->vdev.lock);
	EXPECT_EQ(td_used_idx(&d, 0), 1);
	uint32_t id, len;
	td_used_elem(&d, 0, 0xfffe, &id, &len);
	EXPECT_EQ(id, 7);
	EXPECT_EQ(len, 100);
	td_used_elem(&d, 0, 0xffff, &id, &len);
	EXPECT_EQ(id, 8);
	td_used_elem(&d, 0, 0, &id, &len);
	EXPECT_EQ(id, 9);
	EXPECT_EQ(len, 300);
	td_close(&d);
}
