/*
 * Unit tests of irq_level.h: a level decided under a lock and driven after
 * it, by racing threads, still leaves the line at the last decision.
 */
#include "vmm/irq_level.h"

#include <pthread.h>
#include <sched.h>

#include "lib/testing.h"

struct wire {
	atomic_int level, drives;
};

static void wire_set(void *ctx, unsigned line, int level)
{
	struct wire *w = ctx;
	(void)line;
	sched_yield();   /* widen the window in which another driver may overtake */
	atomic_store(&w->level, level);
	atomic_fetch_add(&w->drives, 1);
}

TEST(irq_level_decide_reports_only_changes)
{
	struct wire w = {0};
	struct irq_level l;
	irq_level_init(&l, (struct irq_line){ wire_set, &w, 0 });
	EXPECT(!irq_level_decide(&l, 0));
	EXPECT(irq_level_decide(&l, 1));
	EXPECT(!irq_level_decide(&l, 5));     /* any non-zero level is high */
	EXPECT_EQ(atomic_load(&w.drives), 0); /* deciding drives nothing */
	irq_level_drive(&l);
	EXPECT_EQ(atomic_load(&w.level), 1);
	EXPECT_EQ(atomic_load(&w.drives), 1);
	EXPECT(irq_level_decide(&l, 0));
	irq_level_drive(&l);
	EXPECT_EQ(atomic_load(&w.level), 0);
}

struct racer {
	pthread_mutex_t *lock;
	struct irq_level *l;
	unsigned seed;
};

static void *race(void *opaque)
{
	struct racer *r = opaque;
	for (int i = 0; i < 20000; i++) {
		r->seed = r->seed * 1103515245u + 12345u;
		pthread_mutex_lock(r->lock);
		bool changed = irq_level_decide(r->l, (r->seed >> 16) & 1);
		pthread_mutex_unlock(r->lock);
		if (changed)
			irq_level_drive(r->l);
	}
	return NULL;
}

TEST(irq_level_racing_drivers_settle_on_the_last_decision)
{
	for (int round = 0; round < 20; round++) {
		struct wire w = {0};
		struct irq_level l;
		pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
		irq_level_init(&l, (struct irq_line){ wire_set, &w, 0 });
		struct racer a = { &lock, &l, 1u + (unsigned)round }, b = { &lock, &l, 77u * (unsigned)round };
		pthread_t ta, tb;
		EXPECT_EQ(pthread_create(&ta, NULL, race, &a), 0);
		EXPECT_EQ(pthread_create(&tb, NULL, race, &b), 0);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		EXPECT_EQ(atomic_load(&w.level), atomic_load(&l.want));
	}
}
