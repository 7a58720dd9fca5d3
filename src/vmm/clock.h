/*
 * The VM's timebase: the value of the RISC-V `time` CSR and of the CLINT's
 * mtime, derived from the host monotonic clock at a fixed frequency (10 MHz,
 * as QEMU's virt board advertises in the FDT's timebase-frequency).
 *
 * Every hart and device thread reads it without locks, so it changes only
 * while no vCPU runs: vm_resume moves base_ns forward by the pause length
 * (the guest's time does not jump), with every vCPU parked.  `offset_ticks`
 * lets a restored snapshot continue where it stopped.
 */
#ifndef NIMBUS_VMM_CLOCK_H
#define NIMBUS_VMM_CLOCK_H

#include <stdint.h>
#include <time.h>

#define VCLOCK_DEFAULT_HZ 10000000u

struct vclock {
	uint64_t hz;            /* ticks per second */
	int64_t base_ns;        /* host CLOCK_MONOTONIC at tick offset_ticks */
	uint64_t offset_ticks;
};

static inline int64_t vclock_host_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void vclock_init(struct vclock *c, uint64_t hz)
{
	c->hz = hz;
	c->base_ns = vclock_host_ns();
	c->offset_ticks = 0;
}

static inline uint64_t vclock_ns_to_ticks(const struct vclock *c, int64_t ns)
{
	return (uint64_t)((unsigned __int128)(uint64_t)ns * c->hz / 1000000000u);
}

/* Host nanoseconds from now until the clock reads `ticks` (<= 0 if already past). */
static inline int64_t vclock_ns_until(const struct vclock *c, uint64_t ticks)
{
	int64_t now = vclock_host_ns() - c->base_ns;
	if (ticks <= c->offset_ticks)
		return -1;
	uint64_t rel = ticks - c->offset_ticks;
	unsigned __int128 at = (unsigned __int128)rel * 1000000000u / c->hz;
	if (at > (unsigned __int128)INT64_MAX)
		return INT64_MAX;
	return (int64_t)at - now;
}

/* The clock's reading at host monotonic time host_ns (>= base_ns). */
static inline uint64_t vclock_at(const struct vclock *c, int64_t host_ns)
{
	int64_t d = host_ns - c->base_ns;
	return c->offset_ticks + vclock_ns_to_ticks(c, d > 0 ? d : 0);
}

static inline uint64_t vclock_now(const struct vclock *c)
{
	return c->offset_ticks + vclock_ns_to_ticks(c, vclock_host_ns() - c->base_ns);
}

#endif
