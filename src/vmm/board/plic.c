/*
 * The PLIC: priorities, pending/in-service bits with level gateways,
 * per-context enables, thresholds and claim/complete.  See plic.h for the
 * layout and semantics; the RISC-V PLIC specification 1.0.0 is the
 * reference, QEMU's virt board the source of the sizes.
 */
#include "vmm/board/plic.h"

#include <errno.h>
#include <string.h>
#include "vmm/snap_stream.h"

static int bit_get(const uint32_t *w, unsigned id)
{
	return (w[id / 32] >> (id % 32)) & 1;
}

static void bit_put(uint32_t *w, unsigned id, int v)
{
	if (v)
		w[id / 32] |= 1u << (id % 32);
	else
		w[id / 32] &= ~(1u << (id % 32));
}

/* The source a claim by ctx would return, or 0.  Ties go to the lowest id. */
static unsigned best_source(const struct plic *p, unsigned ctx)
{
	unsigned best = 0, best_prio = p->s.threshold[ctx];
	for (unsigned w = 0; w < PLIC_WORDS; w++) {
		uint32_t cand = p->s.pending[w] & p->s.enable[ctx][w];
		while (cand) {
			unsigned id = w * 32 + (unsigned)__builtin_ctz(cand);
			cand &= cand - 1;
			if (p->s.priority[id] > best_prio) {
				best = id;
				best_prio = p->s.priority[id];
			}
		}
	}
	return best;
}

_Static_assert(PLIC_MAX_CONTEXTS <= 32, "to_drive is a 32-bit mask");

/* Decides the outputs; unlock() drives the ones that changed. */
static void update_outputs(struct plic *p)
{
	for (unsigned ctx = 0; ctx < p->ncontexts; ctx++) {
		uint8_t level = best_source(p, ctx) != 0;
		p->s.output[ctx] = level;
		if (irq_level_decide(&p->out[ctx], level))
			p->to_drive |= 1u << ctx;
	}
}

/* Releases the lock, then drives the outputs decided under it, so that a
 * hart woken by its line does not find the PLIC still locked at its claim. */
static void unlock(struct plic *p)
{
	uint32_t mask = p->to_drive;
	p->to_drive = 0;
	pthread_mutex_unlock(&p->lock);
	while (mask) {
		unsigned ctx = (unsigned)__builtin_ctz(mask);
		mask &= mask - 1;
		irq_level_drive(&p->out[ctx]);
	}
}

/* The gateway: a high line not in service is a pending request. */
static void gateway(struct plic *p, unsigned id)
{
	bit_put(p->s.pending, id, bit_get(p->s.level, id) && !bit_get(p->s.in_service, id));
}

void plic_set_source(struct plic *p, unsigned id, int level)
{
	if (id == 0 || id >= PLIC_NSOURCES)
		return;
	pthread_mutex_lock(&p->lock);
	if (bit_get(p->s.level, id) != !!level) {
		bit_put(p->s.level, id, level);
		gateway(p, id);
		update_outputs(p);
	}
	unlock(p);
}

static void source_line_set(void *ctx, unsigned line, int level)
{
	plic_set_source(ctx, line, level);
}

struct irq_line plic_source_line(struct plic *p, unsigned id)
{
	return (struct irq_line){ .set = source_line_set, .ctx = p, .line = id };
}

static uint32_t claim(struct plic *p, unsigned ctx)
{
	unsigned id = best_source(p, ctx);
	if (id) {
		bit_put(p->s.pending, id, 0);
		bit_put(p->s.in_service, id, 1);
		update_outputs(p);
	}
	return id;
}

static void complete(struct plic *p, unsigned ctx, uint32_t id)
{
	if (id == 0 || id >= PLIC_NSOURCES || !bit_get(p->s.enable[ctx], id))
		return;
	bit_put(p->s.in_service, id, 0);
	gateway(p, id);
	update_outputs(p);
}

static uint32_t read32(struct plic *p, uint64_t off)
{
	if (off < PLIC_PENDING_BASE) {
		unsigned id = (unsigned)(off / 4);
		return id < PLIC_NSOURCES ? p->s.priority[id] : 0;
	}
	if (off < PLIC_ENABLE_BASE) {
		unsigned w = (unsigned)((off - PLIC_PENDING_BASE) / 4);
		return w < PLIC_WORDS ? p->s.pending[w] : 0;
	}
	if (off < PLIC_CONTEXT_BASE) {
		uint64_t rel = off - PLIC_ENABLE_BASE;
		unsigned ctx = (unsigned)(rel / PLIC_ENABLE_STRIDE);
		unsigned w = (unsigned)(rel % PLIC_ENABLE_STRIDE / 4);
		return ctx < p->ncontexts && w < PLIC_WORDS ? p->s.enable[ctx][w] : 0;
	}
	uint64_t rel = off - PLIC_CONTEXT_BASE;
	unsigned ctx = (unsigned)(rel / PLIC_CONTEXT_STRIDE);
	if (ctx >= p->ncontexts)
		return 0;
	switch (rel % PLIC_CONTEXT_STRIDE) {
	case 0:
		return p->s.threshold[ctx];
	case 4:
		return claim(p, ctx);
	default:
		return 0;
	}
}

static void write32(struct plic *p, uint64_t off, uint32_t v)
{
	if (off < PLIC_PENDING_BASE) {
		unsigned id = (unsigned)(off / 4);
		if (id > 0 && id < PLIC_NSOURCES) {
			p->s.priority[id] = v & PLIC_MAX_PRIORITY;
			update_outputs(p);
		}
		return;
	}
	if (off < PLIC_ENABLE_BASE)
		return;   /* pending bits are read-only */
	if (off < PLIC_CONTEXT_BASE) {
		uint64_t rel = off - PLIC_ENABLE_BASE;
		unsigned ctx = (unsigned)(rel / PLIC_ENABLE_STRIDE);
		unsigned w = (unsigned)(rel % PLIC_ENABLE_STRIDE / 4);
		if (ctx < p->ncontexts && w < PLIC_WORDS) {
			if (w == 0)
				v &= ~1u;   /* source 0 does not exist */
			if (w == PLIC_WORDS - 1 && PLIC_NSOURCES % 32)
				v &= (1u << (PLIC_NSOURCES % 32)) - 1;
			p->s.enable[ctx][w] = v;
			update_outputs(p);
		}
		return;
	}
	uint64_t rel = off - PLIC_CONTEXT_BASE;
	unsigned ctx = (unsigned)(rel / PLIC_CONTEXT_STRIDE);
	if (ctx >= p->ncontexts)
		return;
	switch (rel % PLIC_CONTEXT_STRIDE) {
	case 0:
		p->s.threshold[ctx] = v & PLIC_MAX_PRIORITY;
		update_outputs(p);
		break;
	case 4:
		complete(p, ctx, v);
		break;
	default:
		break;
	}
}

static uint64_t plic_read(void *dev, uint64_t off, unsigned size)
{
	struct plic *p = dev;
	uint64_t v = 0;
	if ((size != 4 && size != 8) || (off & 3))
		return 0;
	pthread_mutex_lock(&p->lock);
	v = read32(p, off);
	if (size == 8)
		v |= (uint64_t)read32(p, off + 4) << 32;
	unlock(p);   /* a claim lowers the output */
	return v;
}

static void plic_write(void *dev, uint64_t off, unsigned size, uint64_t value)
{
	struct plic *p = dev;
	if ((size != 4 && size != 8) || (off & 3))
		return;
	pthread_mutex_lock(&p->lock);
	write32(p, off, (uint32_t)value);
	if (size == 8)
		write32(p, off + 4, (uint32_t)(value >> 32));
	unlock(p);
}

const struct mmio_ops plic_ops = {
	.read = plic_read,
	.write = plic_write,
};

int plic_init(struct plic *p, unsigned ncontexts, const struct irq_line *out)
{
	memset(p, 0, sizeof(*p));
	if (ncontexts == 0 || ncontexts > PLIC_MAX_CONTEXTS)
		return -EINVAL;
	int rc = pthread_mutex_init(&p->lock, NULL);
	if (rc)
		return -rc;
	p->ncontexts = ncontexts;
	for (unsigned i = 0; i < ncontexts; i++)
		irq_level_init(&p->out[i], out[i]);
	return 0;
}

void plic_destroy(struct plic *p)
{
	pthread_mutex_destroy(&p->lock);
}

void plic_reset(struct plic *p)
{
	pthread_mutex_lock(&p->lock);
	/* Input levels belong to the devices, which reset separately. */
	uint32_t level[PLIC_WORDS];
	memcpy(level, p->s.level, sizeof(level));
	memset(&p->s, 0, sizeof(p->s));
	memcpy(p->s.level, level, sizeof(level));
	for (unsigned id = 1; id < PLIC_NSOURCES; id++)
		gateway(p, id);
	for (unsigned ctx = 0; ctx < p->ncontexts; ctx++)
		irq_level_decide(&p->out[ctx], 0);
	p->to_drive = (uint32_t)((1ull << p->ncontexts) - 1);   /* every output, changed or not */
	unlock(p);
}

/* ---- the device type (device.h) ---- */

/* Snapshot: every register and line level, field by field. */
static int dev_save(void *obj, struct snap_out *o)
{
	struct plic *p = obj;
	pthread_mutex_lock(&p->lock);
	snap_put_u32(o, 1);
	snap_put_u32(o, PLIC_NSOURCES);
	snap_put_u32(o, p->ncontexts);
	for (unsigned i = 0; i < PLIC_NSOURCES; i++)
		snap_put_u32(o, p->s.priority[i]);
	for (unsigned w = 0; w < PLIC_WORDS; w++) {
		snap_put_u32(o, p->s.level[w]);
		snap_put_u32(o, p->s.pending[w]);
		snap_put_u32(o, p->s.in_service[w]);
	}
	for (unsigned c = 0; c < p->ncontexts; c++) {
		for (unsigned w = 0; w < PLIC_WORDS; w++)
			snap_put_u32(o, p->s.enable[c][w]);
		snap_put_u32(o, p->s.threshold[c]);
		snap_put_u8(o, p->s.output[c]);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static int dev_load(void *obj, struct snap_in *in)
{
	struct plic *p = obj;
	if (snap_get_u32(in) != 1 || snap_get_u32(in) != PLIC_NSOURCES ||
	    snap_get_u32(in) != p->ncontexts)
		return -EINVAL;
	struct plic_state s = {0};
	for (unsigned i = 0; i < PLIC_NSOURCES; i++)
		if ((s.priority[i] = snap_get_u32(in)) > PLIC_MAX_PRIORITY)
			return -EINVAL;
	for (unsigned w = 0; w < PLIC_WORDS; w++) {
		s.level[w] = snap_get_u32(in);
		s.pending[w] = snap_get_u32(in);
		s.in_service[w] = snap_get_u32(in);
	}
	for (unsigned c = 0; c < p->ncontexts; c++) {
		for (unsigned w = 0; w < PLIC_WORDS; w++)
			s.enable[c][w] = snap_get_u32(in);
		s.threshold[c] = snap_get_u32(in);
		s.output[c] = snap_get_u8(in) != 0;
	}
	if (in->overrun)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	p->s = s;
	for (unsigned c = 0; c < p->ncontexts; c++)
		irq_level_decide(&p->out[c], s.output[c]);
	p->to_drive = (uint32_t)((1ull << p->ncontexts) - 1);   /* every output, changed or not */
	update_outputs(p);   /* a hand-made file may disagree with itself */
	unlock(p);
	return 0;
}


static void dev_reset(void *obj)
{
	plic_reset(obj);
}

static void dev_destroy(void *obj)
{
	plic_destroy(obj);
}

const struct device_ops plic_device = {
	.name = "plic",
	.reset = dev_reset,
	.save = dev_save,
	.load = dev_load,
	.destroy = dev_destroy,
};
