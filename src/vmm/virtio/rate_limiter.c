/*
 * Token buckets; see rate_limiter.h.  Refill keeps fractions: last_ns moves
 * on by exactly the time the whole tokens added took, so a slow rate (one
 * op a second, checked every millisecond) still refills.
 */
#include "vmm/virtio/rate_limiter.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/size.h"

#define NS 1000000000ll

static void bucket_set(struct token_bucket *b, const struct rate_bucket_cfg *c, int64_t now)
{
	b->rate = c->rate;
	b->burst = c->burst ? c->burst : c->rate / 10 ? c->rate / 10 : 1;
	if (b->burst > INT64_MAX / 2)
		b->burst = INT64_MAX / 2;
	b->tokens = (int64_t)b->burst;
	b->last_ns = now;
}

static void refill(struct token_bucket *b, int64_t now)
{
	if (!b->rate || now <= b->last_ns)
		return;
	if (b->tokens >= (int64_t)b->burst) {
		b->last_ns = now;
		return;
	}
	__int128 add = (__int128)(now - b->last_ns) * b->rate / NS;
	if (add <= 0)
		return;
	__int128 t = (__int128)b->tokens + add;
	if (t >= (__int128)b->burst) {
		b->tokens = (int64_t)b->burst;
		b->last_ns = now;
	} else {
		b->tokens = (int64_t)t;
		b->last_ns += (int64_t)(add * NS / b->rate);
	}
}

static int64_t bucket_wait(struct token_bucket *b, int64_t now)
{
	if (!b->rate)
		return 0;
	refill(b, now);
	if (b->tokens >= 0)
		return 0;
	/* Time for -tokens to come in, less what has accrued since last_ns. */
	__int128 need = (__int128)(-b->tokens) * NS;
	int64_t ns = (int64_t)((need + b->rate - 1) / b->rate) - (now - b->last_ns);
	return ns > 0 ? ns : 1;
}

static void bucket_charge(struct token_bucket *b, uint64_t n)
{
	if (!b->rate)
		return;
	/* Debt is bounded by one request; clamp anyway against absurd charges. */
	int64_t c = n > (uint64_t)(INT64_MAX / 4) ? INT64_MAX / 4 : (int64_t)n;
	b->tokens = b->tokens - c < -(INT64_MAX / 4) ? -(INT64_MAX / 4) : b->tokens - c;
}

void rate_limiter_set(struct rate_limiter *rl, const struct rate_limit *cfg, int64_t now)
{
	bucket_set(&rl->bytes, &cfg->bytes, now);
	bucket_set(&rl->ops, &cfg->ops, now);
	rl->active = rate_limit_set(cfg);
}

int64_t rate_limiter_wait(struct rate_limiter *rl, int64_t now)
{
	if (!rl->active)
		return 0;
	int64_t a = bucket_wait(&rl->bytes, now), b = bucket_wait(&rl->ops, now);
	return a > b ? a : b;
}

void rate_limiter_charge(struct rate_limiter *rl, uint64_t bytes, uint64_t ops)
{
	if (!rl->active)
		return;
	bucket_charge(&rl->bytes, bytes);
	bucket_charge(&rl->ops, ops);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

bool rate_limiter_hold(struct rate_limiter *rl)
{
	if (!rl->active)
		return false;
	int64_t wait = rate_limiter_wait(rl, now_ns());
	if (wait <= 0)
		return false;
	if (wait > RATE_LIMITER_MAX_SLEEP_NS)
		wait = RATE_LIMITER_MAX_SLEEP_NS;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = wait };
	nanosleep(&ts, NULL);
	rl->throttled_ns += (uint64_t)wait;
	return true;
}

bool rate_limiter_blocked(struct rate_limiter *rl)
{
	return rl->active && rate_limiter_wait(rl, now_ns()) > 0;
}

void rate_limiter_get(const struct rate_limiter *rl, struct rate_limit *out)
{
	memset(out, 0, sizeof *out);
	if (!rl->active)
		return;
	out->bytes = (struct rate_bucket_cfg){ rl->bytes.rate, rl->bytes.rate ? rl->bytes.burst : 0 };
	out->ops = (struct rate_bucket_cfg){ rl->ops.rate, rl->ops.rate ? rl->ops.burst : 0 };
}

/* "RATE[:BURST]"; sizes for bytes, plain counts for ops. */
static int parse_bucket(const char *flag, const char *elem, const char *v, bool bytes,
			struct rate_bucket_cfg *out, struct err *err)
{
	char rate[64], burst[64] = "";
	const char *colon = strchr(v, ':');
	size_t rl = colon ? (size_t)(colon - v) : strlen(v);
	if (rl == 0 || rl >= sizeof rate || (colon && strlen(colon + 1) >= sizeof burst))
		goto bad;
	memcpy(rate, v, rl);
	rate[rl] = 0;
	if (colon)
		strcpy(burst, colon + 1);
	uint64_t r, b = 0;
	for (int k = 0; k < 2; k++) {
		const char *s = k ? burst : rate;
		uint64_t *dst = k ? &b : &r;
		if (k && !*s)
			break;
		if (bytes) {
			if (parse_size(s, 1, dst) < 0)
				goto bad;
		} else {
			char *end;
			errno = 0;
			*dst = strtoull(s, &end, 10);
			if (errno || end == s || *end || s[0] == '-')
				goto bad;
		}
	}
	if (r == 0)
		return err_set(err, -EINVAL, "%s: %s: the rate must be above 0 (leave it out for "
			       "no limit)", flag, elem);
	if (r > (1ull << 50) || b > (1ull << 50))
		return err_set(err, -EINVAL, "%s: %s: too large", flag, elem);
	out->rate = r;
	out->burst = b;
	return 0;
bad:
	return err_set(err, -EINVAL, "%s: %s: expected %s=RATE[:BURST]%s", flag, elem,
		       bytes ? "bw" : "ops",
		       bytes ? " in bytes per second (e.g. bw=10M or bw=10M:20M)"
			     : " in operations per second (e.g. ops=500:100)");
}

int rate_limit_parse_one(const char *flag, const char *elem, struct rate_limit *out,
			 struct err *err)
{
	if (!strncmp(elem, "bw=", 3))
		return parse_bucket(flag, elem, elem + 3, true, &out->bytes, err);
	if (!strncmp(elem, "ops=", 4))
		return parse_bucket(flag, elem, elem + 4, false, &out->ops, err);
	return -ENOENT;
}

int rate_limit_take(const char *flag, char *spec, struct rate_limit *out, struct err *err)
{
	char *w = spec;
	const char *r = spec;
	while (*r) {
		const char *end = strchr(r, ',');
		size_t len = end ? (size_t)(end - r) : strlen(r);
		char elem[160];
		snprintf(elem, sizeof elem, "%.*s", (int)(len < sizeof elem ? len : sizeof elem - 1), r);
		int rc = rate_limit_parse_one(flag, elem, out, err);
		if (rc == -ENOENT) {
			if (w != spec)
				*w++ = ',';
			memmove(w, r, len);
			w += len;
		} else if (rc < 0) {
			return rc;
		}
		r = end ? end + 1 : r + len;
	}
	*w = 0;
	return 0;
}

int rate_limit_parse(const char *flag, const char *spec, struct rate_limit *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	if (!strcmp(spec, "none"))
		return 0;
	char buf[256];
	if (strlen(spec) >= sizeof buf)
		return err_set(err, -EINVAL, "%s: too long", flag);
	strcpy(buf, spec);
	int rc = rate_limit_take(flag, buf, out, err);
	if (rc < 0)
		return rc;
	if (buf[0])
		return err_set(err, -EINVAL, "%s: %s: expected bw=RATE[:BURST], ops=RATE[:BURST] "
			       "or none", flag, buf);
	if (!rate_limit_set(out))
		return err_set(err, -EINVAL, "%s: empty limit (use none)", flag);
	return 0;
}

void rate_limit_format(const struct rate_limit *l, char *buf, size_t n)
{
	if (!rate_limit_set(l)) {
		snprintf(buf, n, "none");
		return;
	}
	int k = 0;
	buf[0] = 0;
	if (l->bytes.rate)
		k = snprintf(buf, n, "bw=%" PRIu64 ":%" PRIu64, l->bytes.rate, l->bytes.burst);
	if (l->ops.rate && k >= 0 && (size_t)k < n)
		snprintf(buf + k, n - (size_t)k, "%sops=%" PRIu64 ":%" PRIu64, k ? "," : "",
			 l->ops.rate, l->ops.burst);
}
