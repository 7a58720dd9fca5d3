/*
 * Token-bucket rate limiters for virtio-blk and virtio-net (Firecracker's
 * model: one bucket for bytes, one for operations, each with a rate per
 * second and a burst; docs/rate-limit.md).
 *
 * Debt model: a request may start whenever neither bucket is in debt, and is
 * charged in full when done, so a request larger than the burst still goes
 * (and pushes the bucket into debt, delaying the next one by exactly its
 * cost).  Over any long interval the device moves at most burst + rate * t.
 * A bucket starts full.
 *
 * Plain data, no locks: the device keeps its limiter under its own lock.  The
 * hot path with no limit set is one branch (rate_limiter_hold on !active).
 */
#ifndef NIMBUS_VMM_VIRTIO_RATE_LIMITER_H
#define NIMBUS_VMM_VIRTIO_RATE_LIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct rate_bucket_cfg {
	uint64_t rate;             /* tokens per second; 0 = unlimited */
	uint64_t burst;            /* bucket size; 0 = default (a tenth of a second of rate) */
};

/* What the user sets: "bw=RATE[:BURST],ops=RATE[:BURST]". */
struct rate_limit {
	struct rate_bucket_cfg bytes, ops;
};

struct token_bucket {
	uint64_t rate, burst;
	int64_t tokens;            /* may be negative: debt */
	int64_t last_ns;           /* time the tokens were last brought up to date */
};

struct rate_limiter {
	bool active;               /* some bucket limits */
	struct token_bucket bytes, ops;
	uint64_t throttled_ns;     /* time requests waited, for status */
};

/* The longest a device thread sleeps at once before looking again (it holds
 * its device's lock meanwhile, so a pause or reset waits at most this). */
#define RATE_LIMITER_MAX_SLEEP_NS 5000000

/* (Re)configures; buckets start full.  now: CLOCK_MONOTONIC ns. */
void rate_limiter_set(struct rate_limiter *rl, const struct rate_limit *cfg, int64_t now);
/* Nanoseconds until a request may start (0: now). */
int64_t rate_limiter_wait(struct rate_limiter *rl, int64_t now);
/* Charges a finished (or started) request. */
void rate_limiter_charge(struct rate_limiter *rl, uint64_t bytes, uint64_t ops);

/*
 * For a device's queue loop: false when a request may start now (always,
 * without a limit); else sleeps up to RATE_LIMITER_MAX_SLEEP_NS and returns
 * true, and the device requeues itself and returns.
 */
bool rate_limiter_hold(struct rate_limiter *rl);

/* True when a request must wait now (no sleep: for callers that can refuse,
   as a receive path returning its frame to the backend). */
bool rate_limiter_blocked(struct rate_limiter *rl);

/* The current settings, as parsed. */
void rate_limiter_get(const struct rate_limiter *rl, struct rate_limit *out);

/*
 * Parses one option element "bw=RATE[:BURST]" (bytes/s: 10M, 512K, 1G) or
 * "ops=RATE[:BURST]" (operations/s) into out.  0, -ENOENT (not such an
 * element; err untouched), or -EINVAL naming flag.
 */
int rate_limit_parse_one(const char *flag, const char *elem, struct rate_limit *out,
			 struct err *err);
/* Removes every bw=/ops= element of a comma-separated option string in place
 * (for --net, whose own parser knows nothing of them).  0 or -EINVAL. */
int rate_limit_take(const char *flag, char *spec, struct rate_limit *out, struct err *err);
/* A whole "bw=...,ops=..." or "none" (the control verb). */
int rate_limit_parse(const char *flag, const char *spec, struct rate_limit *out, struct err *err);
/* "bw=10485760:1048576,ops=500:50" or "none". */
void rate_limit_format(const struct rate_limit *l, char *buf, size_t n);

static inline bool rate_limit_set(const struct rate_limit *l)
{
	return l->bytes.rate || l->ops.rate;
}

#endif
