/*
 * Unit tests of the PLIC: priority masking, enables, thresholds, claim
 * order, level-gateway semantics around claim/complete, context outputs.
 */
#include "vmm/board/plic.h"

#include "lib/testing.h"

struct outs {
	int level[PLIC_MAX_CONTEXTS];
	int changes;
};

static void out_set(void *ctx, unsigned line, int level)
{
	struct outs *o = ctx;
	o->level[line] = level;
	o->changes++;
}

static void setup(struct plic *p, struct outs *o, unsigned nctx)
{
	struct irq_line l[PLIC_MAX_CONTEXTS];
	for (unsigned i = 0; i < nctx; i++)
		l[i] = (struct irq_line){ out_set, o, i };
	plic_init(p, nctx, l);
	plic_reset(p);
}

#define W(off, v) plic_ops.write(&p, (off), 4, (v))
#define R(off) plic_ops.read(&p, (off), 4)
#define PRIO(id) (PLIC_PRIORITY_BASE + 4 * (id))
#define ENABLE(ctx) (PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * (ctx))
#define THRESH(ctx) (PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * (ctx))
#define CLAIM(ctx) (THRESH(ctx) + 4)

TEST(plic_priority_is_3_bits_and_source0_fixed)
{
	struct outs o = {0};
	struct plic p;
	setup(&p, &o, 2);
	W(PRIO(10), 0xffffffff);
	EXPECT_EQ(R(PRIO(10)), 7);
	W(PRIO(0), 5);
	EXPECT_EQ(R(PRIO(0)), 0);
	W(PRIO(96), 3);
	EXPECT_EQ(R(PRIO(96)), 3);
	W(ENABLE(0), 0xffffffff);
	EXPECT_EQ(R(ENABLE(0)), 0xfffffffe);
	W(ENABLE(0) + 12, 0xffffffff);
	EXPECT_EQ(R(ENABLE(0) + 12), 1);   /* only source 96 in the last word */
	W(THRESH(1), 0xff);
	EXPECT_EQ(R(THRESH(1)), 7);
	plic_destroy(&p);
}

TEST(plic_claim_complete_level_gateway)
{
	struct outs o = {0};
	struct plic p;
	setup(&p, &o, 2);
	W(PRIO(10), 1);
	W(ENABLE(1), 1u << 10);            /* S context of hart 0 */
	plic_set_source(&p, 10, 1);
	EXPECT_EQ(o.level[1], 1);
	EXPECT_EQ(o.level[0], 0);          /* M context has nothing enabled */
	EXPECT_EQ(R(PLIC_PENDING_BASE), 1u << 10);
	EXPECT_EQ(R(CLAIM(1)), 10);
	EXPECT_EQ(o.level[1], 0);          /* claimed: output drops */
	EXPECT_EQ(R(PLIC_PENDING_BASE), 0);
	EXPECT_EQ(R(CLAIM(1)), 0);         /* nothing else to claim */
	/* Still high while in service: no new request until completion. */
	plic_set_source(&p, 10, 0);
	plic_set_source(&p, 10, 1);
	EXPECT_EQ(o.level[1], 0);
	W(CLAIM(1), 10);                   /* complete with the line high */
	EXPECT_EQ(o.level[1], 1);
	EXPECT_EQ(R(CLAIM(1)), 10);
	plic_set_source(&p, 10, 0);        /* handler quiets the device */
	W(CLAIM(1), 10);
	EXPECT_EQ(o.level[1], 0);
	EXPECT_EQ(R(PLIC_PENDING_BASE), 0);
	plic_destroy(&p);
}

TEST(plic_dropped_line_withdraws_request)
{
	struct outs o = {0};
	struct plic p;
	setup(&p, &o, 2);
	W(PRIO(3), 1);
	W(ENABLE(0), 1u << 3);
	plic_set_source(&p, 3, 1);
	EXPECT_EQ(o.level[0], 1);
	plic_set_source(&p, 3, 0);
	EXPECT_EQ(o.level[0], 0);
	EXPECT_EQ(R(CLAIM(0)), 0);
	plic_destroy(&p);
}

TEST(plic_threshold_and_priority_order)
{
	struct outs o = {0};
	struct plic p;
	setup(&p, &o, 4);
	W(PRIO(1), 2);
	W(PRIO(5), 6);
	W(PRIO(7), 6);
	W(ENABLE(2), (1u << 1) | (1u << 5) | (1u << 7));
	W(THRESH(2), 6);
	plic_set_source(&p, 1, 1);
	plic_set_source(&p, 5, 1);
	plic_set_source(&p, 7, 1);
	EXPECT_EQ(o.level[2], 0);          /* all priorities <= threshold */
	EXPECT_EQ(R(CLAIM(2)), 0);
	W(THRESH(2), 1);
	EXPECT_EQ(o.level[2], 1);
	EXPECT_EQ(R(CLAIM(2)), 5);         /* highest priority, lowest id on a tie */
	EXPECT_EQ(R(CLAIM(2)), 7);
	EXPECT_EQ(R(CLAIM(2)), 1);
	EXPECT_EQ(o.level[2], 0);
	W(PRIO(1), 0);                     /* priority 0 never interrupts */
	W(CLAIM(2), 1);
	EXPECT_EQ(o.level[2], 0);
	EXPECT_EQ(R(PLIC_PENDING_BASE), 1u << 1);
	plic_destroy(&p);
}

TEST(plic_complete_needs_enable_and_contexts_are_separate)
{
	struct outs o = {0};
	struct plic p;
	setup(&p, &o, 4);
	W(PRIO(9), 1);
	W(ENABLE(0), 1u << 9);
	W(ENABLE(3), 1u << 9);
	plic_set_source(&p, 9, 1);
	EXPECT_EQ(o.level[0], 1);
	EXPECT_EQ(o.level[3], 1);
	EXPECT_EQ(R(CLAIM(3)), 9);         /* hart 1 S-mode wins the race */
	EXPECT_EQ(o.level[0], 0);
	EXPECT_EQ(R(CLAIM(0)), 0);
	W(CLAIM(1), 9);                    /* not enabled for context 1: ignored */
	EXPECT_EQ(o.level[0], 0);
	W(CLAIM(3), 9);
	EXPECT_EQ(o.level[0], 1);
	plic_reset(&p);
	EXPECT_EQ(o.level[0], 0);
	EXPECT_EQ(R(PRIO(9)), 0);
	plic_destroy(&p);
}

TEST(plic_8byte_access_and_outputs_only_on_change)
{
	struct outs o = {0};
	struct plic p;
	setup(&p, &o, 2);
	plic_ops.write(&p, PRIO(2), 8, (5ull << 32) | 4);
	EXPECT_EQ(R(PRIO(2)), 4);
	EXPECT_EQ(R(PRIO(3)), 5);
	EXPECT_EQ(plic_ops.read(&p, PRIO(2), 8), (5ull << 32) | 4);
	int before = o.changes;
	W(ENABLE(0), 1u << 2);
	struct irq_line l = plic_source_line(&p, 2);
	irq_set(&l, 1);
	irq_set(&l, 1);
	W(PRIO(2), 3);
	EXPECT_EQ(o.changes, before + 1);
	plic_destroy(&p);
}

/* The woken hart claims at once: its output must not be driven with the
 * PLIC's lock still held. */
struct locked_probe {
	struct plic *p;
	int drives, unlocked;
};

static void probe_set(void *ctx, unsigned line, int level)
{
	struct locked_probe *o = ctx;
	(void)line;
	(void)level;
	o->drives++;
	if (pthread_mutex_trylock(&o->p->lock) == 0) {
		o->unlocked++;
		pthread_mutex_unlock(&o->p->lock);
	}
}

TEST(plic_outputs_are_driven_with_the_lock_released)
{
	struct plic p;
	struct locked_probe o = { &p, 0, 0 };
	struct irq_line l[2] = { { probe_set, &o, 0 }, { probe_set, &o, 1 } };
	plic_init(&p, 2, l);
	plic_reset(&p);
	W(PRIO(5), 1);
	W(ENABLE(1), 1u << 5);
	plic_set_source(&p, 5, 1);         /* raise */
	EXPECT_EQ(R(CLAIM(1)), 5);         /* claim: output drops */
	plic_set_source(&p, 5, 0);
	W(CLAIM(1), 5);
	EXPECT(o.drives >= 4);             /* the reset's two, the raise, the claim */
	EXPECT_EQ(o.unlocked, o.drives);
	plic_destroy(&p);
}
