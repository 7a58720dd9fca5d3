/* Unit tests of virtio-balloon through the mmio transport: target and
 * config, inflate returning guest RAM to the host (resident pages counted
 * with mincore), deflate, stats round trips (inline and threaded), free
 * page reporting, broken chains. */
#include "vmm/virtio/balloon.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/testing.h"
#include "vmm/virtio/testdrv.h"

#define FEAT (VIRTIO_F_VERSION_1 | VIRTIO_BALLOON_F_STATS_VQ | VIRTIO_BALLOON_F_REPORTING)
#define INF 0
#define DEF 1
#define STQ 2
#define REP 3
#define AREA (TD_RAM_BASE + 0x200000)     /* pages the tests inflate/report */
#define PFN(gpa) ((uint32_t)((gpa) >> 12))

static int start(struct td *d, unsigned flags, unsigned bflags, uint64_t feat, unsigned nq)
{
	struct virtio_device *dev;
	struct err e;
	if (virtio_balloon_create(bflags, &dev, &e) < 0)
		return -1;
	return td_start(d, dev, flags, feat, nq, 16);
}

static struct virtio_device *dev_of(struct td *d) { return virtio_mmio_device(d->t); }

/* Resident host pages backing guest [gpa, gpa + len). */
static unsigned resident(struct td *d, uint64_t gpa, uint64_t len)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char vec[1024];
	uint64_t n = len / (uint64_t)ps;
	if (n > sizeof vec || mincore(td_host(d, gpa), len, vec) < 0)
		return ~0u;
	unsigned r = 0;
	for (uint64_t i = 0; i < n; i++)
		r += vec[i] & 1;
	return r;
}

static void touch(struct td *d, uint64_t gpa, uint64_t len)
{
	memset(td_host(d, gpa), 0xab, len);
}

/* Writes count PFNs starting at the page of gpa0 into a buffer at buf. */
static void pfns(struct td *d, uint64_t buf, uint64_t gpa0, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		uint32_t p = PFN(gpa0) + i;
		memcpy(td_host(d, buf + 4 * i), &p, 4);
	}
}

static uint64_t cfg32(struct td *d, unsigned off)
{
	uint64_t v = 0;
	bus_load(&d->bus, TD_MMIO + VIRTIO_MMIO_CONFIG + off, 4, &v);
	return v;
}

TEST(balloon_config_and_target)
{
	struct td d;
	EXPECT_EQ(start(&d, VIRTIO_MMIO_SYNC, VIRTIO_BALLOON_DEFLATE_ON_OOM, FEAT, 3), 0);
	EXPECT_EQ(td_rd(&d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
	uint64_t f = td_device_features(&d);
	EXPECT(f & VIRTIO_BALLOON_F_STATS_VQ);
	EXPECT(f & VIRTIO_BALLOON_F_REPORTING);
	EXPECT(f & VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	EXPECT(!(f & (VIRTIO_BALLOON_F_MUST_TELL_HOST | VIRTIO_BALLOON_F_FREE_PAGE_HINT |
		      VIRTIO_BALLOON_F_PAGE_POISON)));
	EXPECT_EQ(cfg32(&d, 0), 0);
	EXPECT_EQ(balloon_set_target(dev_of(&d), TD_RAM_SIZE + 4096), -ERANGE);
	EXPECT_EQ(balloon_set_target(dev_of(&d), (1u << 20) + 100), 0);
	EXPECT_EQ(cfg32(&d, 0), 256);
	EXPECT(td_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_CONFIG);
	/* The driver reports what it holds, also byte by byte. */
	bus_store(&d.bus, TD_MMIO + VIRTIO_MMIO_CONFIG + 4, 4, 100);
	EXPECT_EQ(cfg32(&d, 4), 100);
	bus_store(&d.bus, TD_MMIO + VIRTIO_MMIO_CONFIG + 5, 1, 1);
	EXPECT_EQ(cfg32(&d, 4), 356);
	bus_store(&d.bus, TD_MMIO + VIRTIO_MMIO_CONFIG + 0, 4, 7);   /* num_pages is the host's */
	EXPECT_EQ(cfg32(&d, 0), 256);
	struct balloon_stats s;
	EXPECT_EQ(balloon_get_stats(dev_of(&d), &s, 0), 0);
	EXPECT_EQ(s.target_bytes, 1u << 20);
	EXPECT_EQ(s.actual_bytes, 356 * 4096);
	EXPECT_EQ(s.ram_bytes, TD_RAM_SIZE);
	td_close(&d);

	EXPECT_EQ(start(&d, VIRTIO_MMIO_SYNC, VIRTIO_BALLOON_NO_STATS | VIRTIO_BALLOON_NO_REPORTING,
			VIRTIO_F_VERSION_1, 2), 0);
	f = td_device_features(&d);
	EXPECT(!(f & (VIRTIO_BALLOON_F_STATS_VQ | VIRTIO_BALLOON_F_REPORTING |
		      VIRTIO_BALLOON_F_DEFLATE_ON_OOM)));
	td_close(&d);
}

TEST(balloon_inflate_returns_pages_and_deflate)
{
	struct td d;
	EXPECT_EQ(start(&d, VIRTIO_MMIO_SYNC, 0, FEAT, 4), 0);
	touch(&d, AREA, 64 * 4096);
	EXPECT_EQ(resident(&d, AREA, 64 * 4096), 64 * 4096 / sysconf(_SC_PAGESIZE));
	/* 64 PFNs in two descriptors, plus one outside RAM (ignored) and a
	 * stray odd byte at the end (ignored). */
	pfns(&d, TD_DATA, AREA, 40);
	pfns(&d, TD_DATA + 0x1000, AREA + 40 * 4096, 24);
	uint32_t bad = 0x10;   /* below RAM */
	memcpy(td_host(&d, TD_DATA + 0x1000 + 96), &bad, 4);
	td_desc(&d, INF, 0, TD_DATA, 160, VIRTQ_DESC_F_NEXT, 1);
	td_desc(&d, INF, 1, TD_DATA + 0x1000, 101, 0, 0);
	td_post(&d, INF, 0);
	td_kick(&d, INF);
	EXPECT_EQ(td_used_idx(&d, INF), 1);
	uint32_t id, len;
	td_used_elem(&d, INF, 0, &id, &len);
	EXPECT_EQ(len, 0);
	EXPECT_EQ(resident(&d, AREA, 64 * 4096), 0);
	uint8_t *p = td_host(&d, AREA + 5 * 4096);
	EXPECT_EQ(p[0], 0);              /* a discarded page reads as zeroes */
	EXPECT_EQ(resident(&d, AREA + 64 * 4096, 4096), 0);   /* untouched neighbour stays so */
	struct balloon_stats s;
	balloon_get_stats(dev_of(&d), &s, 0);
	EXPECT_EQ(s.inflated_bytes, 64 * 4096);
	/* Inflating the same pages again counts nothing twice. */
	td_desc(&d, INF, 2, TD_DATA, 16, 0, 0);
	td_post(&d, INF, 2);
	td_kick(&d, INF);
	balloon_get_stats(dev_of(&d), &s, 0);
	EXPECT_EQ(s.inflated_bytes, 64 * 4096);
	/* Deflate half. */
	pfns(&d, TD_DATA + 0x2000, AREA, 32);
	td_desc(&d, DEF, 0, TD_DATA + 0x2000, 128, 0, 0);
	td_post(&d, DEF, 0);
	td_kick(&d, DEF);
	EXPECT_EQ(td_used_idx(&d, DEF), 1);
	balloon_get_stats(dev_of(&d), &s, 0);
	EXPECT_EQ(s.inflated_bytes, 32 * 4096);
	EXPECT(!(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	/* A reset empties the balloon. */
	td_wr(&d, VIRTIO_MMIO_STATUS, 0);
	balloon_get_stats(dev_of(&d), &s, 0);
	EXPECT_EQ(s.inflated_bytes, 0);
	td_close(&d);
}

static void put_stat(struct td *d, uint64_t gpa, uint16_t tag, uint64_t val)
{
	uint8_t *p = td_host(d, gpa);
	memcpy(p, &tag, 2);
	memcpy(p + 2, &val, 8);
}

TEST(balloon_stats_round_trip)
{
	struct td d;
	EXPECT_EQ(start(&d, VIRTIO_MMIO_SYNC, 0, FEAT, 3), 0);
	struct balloon_stats s;
	EXPECT_EQ(balloon_get_stats(dev_of(&d), &s, 10), -ENODEV);   /* no buffer yet */
	EXPECT_EQ(balloon_request_stats(dev_of(&d)), -ENODEV);
	put_stat(&d, TD_DATA, VIRTIO_BALLOON_S_MEMFREE, 1000000);
	put_stat(&d, TD_DATA + 10, VIRTIO_BALLOON_S_MEMTOT, 4000000);
	put_stat(&d, TD_DATA + 20, 77, 5);                           /* unknown: ignored */
	td_desc(&d, STQ, 0, TD_DATA, 35, 0, 0);                      /* 3 entries + 5 stray bytes */
	td_post(&d, STQ, 0);
	td_kick(&d, STQ);
	EXPECT_EQ(td_used_idx(&d, STQ), 0);                          /* the device keeps it */
	EXPECT_EQ(balloon_get_stats(dev_of(&d), &s, 0), 0);
	EXPECT_EQ(s.updates, 1);
	EXPECT_EQ(s.have, (1u << VIRTIO_BALLOON_S_MEMFREE) | (1u << VIRTIO_BALLOON_S_MEMTOT));
	EXPECT_EQ(s.val[VIRTIO_BALLOON_S_MEMFREE], 1000000);
	EXPECT_EQ(s.val[VIRTIO_BALLOON_S_MEMTOT], 4000000);
	/* The host asks again: the buffer comes back, the driver refills it. */
	EXPECT_EQ(balloon_request_stats(dev_of(&d)), 0);
	EXPECT_EQ(td_used_idx(&d, STQ), 1);
	EXPECT_EQ(balloon_request_stats(dev_of(&d)), 0);             /* already asked: no-op */
	EXPECT_EQ(td_used_idx(&d, STQ), 1);
	put_stat(&d, TD_DATA, VIRTIO_BALLOON_S_MEMFREE, 2000000);
	put_stat(&d, TD_DATA + 10, VIRTIO_BALLOON_S_AVAIL, 3000000);
	td_desc(&d, STQ, 0, TD_DATA, 20, 0, 0);
	td_post(&d, STQ, 0);
	td_kick(&d, STQ);
	EXPECT_EQ(balloon_get_stats(dev_of(&d), &s, 0), 0);
	EXPECT_EQ(s.updates, 2);
	EXPECT_EQ(s.val[VIRTIO_BALLOON_S_MEMFREE], 2000000);
	EXPECT_EQ(s.val[VIRTIO_BALLOON_S_AVAIL], 3000000);
	EXPECT_EQ(s.val[VIRTIO_BALLOON_S_MEMTOT], 4000000);          /* last known value stays */
	td_close(&d);
}

struct guest {
	struct td *d;
	_Atomic int stop;
};

/* A driver thread answering stats requests: each time the device returns
 * the buffer, report MEMFREE = 1000 * request number. */
static void *guest_stats(void *arg)
{
	struct guest *g = arg;
	uint16_t seen = 0;
	while (!atomic_load(&g->stop)) {
		uint16_t u = td_used_idx(g->d, STQ);
		if (u != seen) {
			seen = u;
			put_stat(g->d, TD_DATA, VIRTIO_BALLOON_S_MEMFREE, 1000ull * u);
			td_post(g->d, STQ, 0);
			td_kick(g->d, STQ);
		}
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

TEST(balloon_stats_wait_threaded)
{
	struct td d;
	EXPECT_EQ(start(&d, 0, 0, FEAT, 3), 0);
	put_stat(&d, TD_DATA, VIRTIO_BALLOON_S_MEMFREE, 1);
	td_desc(&d, STQ, 0, TD_DATA, 10, 0, 0);
	td_post(&d, STQ, 0);
	td_kick(&d, STQ);
	struct balloon_stats s = {0};
	for (int i = 0; i < 500 && s.updates == 0; i++) {
		balloon_get_stats(dev_of(&d), &s, 0);
		usleep(1000);
	}
	EXPECT_EQ(s.updates, 1);
	struct guest g = { &d, 0 };
	pthread_t th;
	pthread_create(&th, NULL, guest_stats, &g);
	int rc1 = balloon_get_stats(dev_of(&d), &s, 5000);
	uint64_t v1 = s.val[VIRTIO_BALLOON_S_MEMFREE];
	int rc2 = balloon_get_stats(dev_of(&d), &s, 5000);
	uint64_t v2 = s.val[VIRTIO_BALLOON_S_MEMFREE];
	atomic_store(&g.stop, 1);
	pthread_join(th, NULL);
	EXPECT_EQ(rc1, 0);
	EXPECT_EQ(v1, 1000);
	EXPECT_EQ(rc2, 0);
	EXPECT_EQ(v2, 2000);
	EXPECT_EQ(s.updates, 3);
	/* No driver answering: times out with the last values. */
	EXPECT_EQ(balloon_get_stats(dev_of(&d), &s, 50), -ETIMEDOUT);
	EXPECT_EQ(s.val[VIRTIO_BALLOON_S_MEMFREE], 2000);
	td_close(&d);
}

static void report_case(uint64_t feat, unsigned q, unsigned nq)
{
	struct td d;
	EXPECT_EQ(start(&d, VIRTIO_MMIO_SYNC, 0, feat, nq), 0);
	touch(&d, AREA, 1u << 20);
	long ps = sysconf(_SC_PAGESIZE);
	EXPECT_EQ(resident(&d, AREA, 1u << 20), (1u << 20) / ps);
	/* 512 KiB aligned, then a range starting 100 bytes into a page: its
	 * partial first and last pages are kept. */
	td_desc(&d, q, 0, AREA, 512 << 10, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	td_desc(&d, q, 1, AREA + (512 << 10) + 100, 8 * 4096, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, q, 0);
	td_kick(&d, q);
	EXPECT_EQ(td_used_idx(&d, q), 1);
	uint32_t id, len;
	td_used_elem(&d, q, 0, &id, &len);
	EXPECT_EQ(len, 0);
	EXPECT_EQ(resident(&d, AREA, 512 << 10), 0);
	if (ps == 4096) {
		EXPECT_EQ(resident(&d, AREA + (512 << 10), 9 * 4096), 2);
		EXPECT_EQ(resident(&d, AREA + (512 << 10) + 9 * 4096, (512 << 10) - 9 * 4096),
			  (512 << 10) / 4096 - 9);
		struct balloon_stats s;
		balloon_get_stats(dev_of(&d), &s, 0);
		EXPECT_EQ(s.reported_bytes, (512 << 10) + 7 * 4096);
		EXPECT_EQ(s.inflated_bytes, 0);
	}
	uint8_t *keep = td_host(&d, AREA + (512 << 10) + 99);
	EXPECT_EQ(*keep, 0xab);
	td_close(&d);
}

TEST(balloon_free_page_reporting)
{
	report_case(FEAT, REP, 4);   /* with stats: reporting_vq is queue 3 */
	if (test_failed_now())
		return;
	report_case(VIRTIO_F_VERSION_1 | VIRTIO_BALLOON_F_REPORTING, 2, 3);   /* without: queue 2 */
}

TEST(balloon_bad_chain_needs_reset)
{
	struct td d;
	EXPECT_EQ(start(&d, VIRTIO_MMIO_SYNC, 0, FEAT, 3), 0);
	pfns(&d, TD_DATA, AREA, 4);
	td_desc(&d, INF, 0, TD_DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, INF, 0);
	td_kick(&d, INF);
	EXPECT(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	EXPECT_EQ(td_used_idx(&d, INF), 0);
	td_close(&d);
	/* Stats chain with a writable buffer, and a ring-level fault. */
	EXPECT_EQ(start(&d, VIRTIO_MMIO_SYNC, 0, FEAT, 3), 0);
	td_desc(&d, STQ, 0, TD_DATA, 10, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, STQ, 0);
	td_kick(&d, STQ);
	EXPECT(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	td_close(&d);
	EXPECT_EQ(start(&d, VIRTIO_MMIO_SYNC, 0, FEAT, 3), 0);
	td_desc(&d, DEF, 0, TD_DATA, 16, VIRTQ_DESC_F_NEXT, 0);   /* loops onto itself */
	td_post(&d, DEF, 0);
	td_kick(&d, DEF);
	EXPECT(td_rd(&d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	td_close(&d);
}
