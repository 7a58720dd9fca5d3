/*
 * Balloon-backed memory overcommit: the policy, as a pure function of what
 * the daemon measured (no I/O, no clock), so every case can be unit-tested.
 *
 * Placement admits VM memory up to the host's RAM times the RAM overcommit
 * ratio (placement.h).  That is safe only while guests do not all use what
 * they reserved; when the host runs short the memory must come back from
 * somewhere before anything is refused or killed.  The balloon
 * (virtio-balloon, docs/virtio-net.md) asks a guest to hand pages back, and
 * the guest does so from what it has free, so it is asked of the VMs that
 * are idle and have memory to spare.
 *
 * Two watermarks on the host's MemAvailable give hysteresis: below `low`
 * the host is short and idle VMs' balloons are inflated until the host is
 * expected back at `high`; above `high` the host has room again and
 * balloons are let down until it is at `high` (busy VMs' first: they are
 * the ones that want memory); in between nothing changes, so the daemon
 * does not inflate and deflate the same guest at every round.  Memory a
 * guest was asked for but has not handed over yet (target above actual)
 * counts as already on its way, or every round would ask again for what
 * the last one asked.  A guest always keeps `keep` bytes of MemAvailable
 * and at least a quarter of its RAM (and never less than `floor`).
 * Targets are whole MiB.
 */
#ifndef NIMBUS_DAEMON_BALLOON_POLICY_H
#define NIMBUS_DAEMON_BALLOON_POLICY_H

#include <stdbool.h>
#include <stddef.h>

struct balloon_vm {
	long long ram;          /* guest RAM, bytes */
	long long target;       /* the balloon's target now: what the guest is asked to give back */
	long long actual;       /* what the guest has handed over so far */
	long long guest_avail;  /* the guest's own MemAvailable, or -1: no fresh figure */
	bool idle;              /* quiet over the last interval (not paused: paused guests cannot inflate) */
};

struct balloon_limits {
	long long low;          /* host MemAvailable below this: short; 0 turns the policy off */
	long long high;         /* above this: room again; more than low */
	long long keep;         /* MemAvailable a guest keeps after inflating */
	long long floor;        /* the least RAM a guest keeps (a quarter of its RAM if more) */
};

enum balloon_verdict {
	BALLOON_HOLD,           /* between the watermarks, or nothing to do */
	BALLOON_INFLATE,        /* short: idle VMs' balloons grow */
	BALLOON_DEFLATE,        /* room again: balloons shrink */
};

/* Fills next[i] with vm[i]'s new target (unchanged unless the verdict says
 * otherwise) and, when inflating, *unmet with what the idle VMs could not
 * give (0 when the shortage is covered).  host_avail is the host's
 * MemAvailable now. */
enum balloon_verdict balloon_plan(const struct balloon_limits *l, long long host_avail,
				  const struct balloon_vm *vm, size_t n, long long *next,
				  long long *unmet);

/* What the policy takes for the host's MemAvailable: host_avail, unless
 * tasks stalled on memory at least stall_limit percent of the last ten
 * seconds (PSI memory "some avg10", stall_pct; stall_limit 0 is off): the
 * host is short then whatever MemAvailable says (page cache and reclaim
 * make it look roomy while tasks wait), so just below the low watermark,
 * and idle guests are asked for memory before anything is refused. */
long long balloon_effective_avail(const struct balloon_limits *l, long long host_avail,
				  double stall_pct, double stall_limit);

/* The most a balloon may take from a guest of ram bytes. */
long long balloon_max_target(const struct balloon_limits *l, long long ram);

const char *balloon_verdict_str(enum balloon_verdict v);

#endif
