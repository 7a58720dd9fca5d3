/*
 * The CLINT: msip bits and mtimecmp registers, forwarded to the harts, and
 * mtime from the vclock.  See clint.h for the layout and the reset choice;
 * register map as SiFive's CLINT documentation and QEMU's virt board.
 */
#include "vmm/board/clint.h"

#include <errno.h>
#include <string.h>

#include "vmm/clock.h"
#include "vmm/snap_stream.h"

/* Merges a 4- or 8-byte write at byte `shift` into a 64-bit register. */
static uint64_t merge64(uint64_t old, unsigned shift, unsigned size, uint64_t value)
{
	if (size >= 8)
		return value;
	uint64_t mask = (size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1) << (8 * shift);
	return (old & ~mask) | ((value << (8 * shift)) & mask);
}

static uint64_t extract(uint64_t reg, unsigned shift, unsigned size)
{
	uint64_t v = reg >> (8 * shift);
	return size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
}

static uint64_t clint_read(void *dev, uint64_t off, unsigned size)
{
	struct clint *c = dev;
	uint64_t v = 0;
	if (off >= CLINT_MTIME && off < CLINT_MTIME + 8)
		return extract(vclock_now(c->clock), off - CLINT_MTIME, size);
	pthread_mutex_lock(&c->lock);
	if (off < CLINT_MSIP_BASE + 4ull * c->nharts) {
		if ((off & 3) == 0)
			v = c->s.msip[off / 4];
	} else if (off >= CLINT_MTIMECMP_BASE && off < CLINT_MTIMECMP_BASE + 8ull * c->nharts) {
		uint64_t rel = off - CLINT_MTIMECMP_BASE;
		v = extract(c->s.mtimecmp[rel / 8], rel % 8, size);
	}
	pthread_mutex_unlock(&c->lock);
	return v;
}

static void clint_write(void *dev, uint64_t off, unsigned size, uint64_t value)
{
	struct clint *c = dev;
	pthread_mutex_lock(&c->lock);
	if (off < CLINT_MSIP_BASE + 4ull * c->nharts) {
		if ((off & 3) == 0) {
			unsigned h = (unsigned)(off / 4);
			c->s.msip[h] = value & 1;
			irq_set(&c->msip_out[h], (int)(value & 1));
		}
	} else if (off >= CLINT_MTIMECMP_BASE && off < CLINT_MTIMECMP_BASE + 8ull * c->nharts) {
		uint64_t rel = off - CLINT_MTIMECMP_BASE;
		unsigned h = (unsigned)(rel / 8);
		c->s.mtimecmp[h] = merge64(c->s.mtimecmp[h], rel % 8, size, value);
		timer_line_set(&c->mtimecmp_out[h], c->s.mtimecmp[h]);
	}
	/* mtime writes are ignored: see clint.h. */
	pthread_mutex_unlock(&c->lock);
}

const struct mmio_ops clint_ops = {
	.read = clint_read,
	.write = clint_write,
};

int clint_init(struct clint *c, unsigned nharts, const struct vclock *clock,
	       const struct irq_line *msip, const struct timer_line *mtimecmp)
{
	memset(c, 0, sizeof(*c));
	if (nharts == 0 || nharts > VM_MAX_CPUS)
		return -EINVAL;
	int rc = pthread_mutex_init(&c->lock, NULL);
	if (rc)
		return -rc;
	c->nharts = nharts;
	c->clock = clock;
	for (unsigned i = 0; i < nharts; i++) {
		c->msip_out[i] = msip[i];
		c->mtimecmp_out[i] = mtimecmp[i];
	}
	return 0;
}

void clint_destroy(struct clint *c)
{
	pthread_mutex_destroy(&c->lock);
}

void clint_reset(struct clint *c)
{
	pthread_mutex_lock(&c->lock);
	memset(&c->s, 0, sizeof(c->s));
	for (unsigned i = 0; i < c->nharts; i++) {
		irq_set(&c->msip_out[i], 0);
		timer_line_set(&c->mtimecmp_out[i], UINT64_MAX);
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---- the device type (device.h) ---- */

/* Snapshot: msip and mtimecmp per hart; the outputs are driven again. */
static int dev_save(void *obj, struct snap_out *o)
{
	struct clint *c = obj;
	pthread_mutex_lock(&c->lock);
	snap_put_u32(o, 1);
	snap_put_u32(o, c->nharts);
	for (unsigned i = 0; i < c->nharts; i++) {
		snap_put_u32(o, c->s.msip[i]);
		snap_put_u64(o, c->s.mtimecmp[i]);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int dev_load(void *obj, struct snap_in *in)
{
	struct clint *c = obj;
	if (snap_get_u32(in) != 1 || snap_get_u32(in) != c->nharts)
		return -EINVAL;
	struct clint_state s = {0};
	for (unsigned i = 0; i < c->nharts; i++) {
		s.msip[i] = snap_get_u32(in) & 1;
		s.mtimecmp[i] = snap_get_u64(in);
	}
	if (in->overrun)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	c->s = s;
	for (unsigned i = 0; i < c->nharts; i++) {
		irq_set(&c->msip_out[i], (int)s.msip[i]);
		timer_line_set(&c->mtimecmp_out[i], s.mtimecmp[i]);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}


static void dev_reset(void *obj)
{
	clint_reset(obj);
}

static void dev_destroy(void *obj)
{
	clint_destroy(obj);
}

const struct device_ops clint_device = {
	.name = "clint",
	.reset = dev_reset,
	.save = dev_save,
	.load = dev_load,
	.destroy = dev_destroy,
};
