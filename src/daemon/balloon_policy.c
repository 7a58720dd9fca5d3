/* See balloon_policy.h. */
#include "daemon/balloon_policy.h"

#define MIB (1LL << 20)

static long long down_to_mib(long long v)
{
	return v > 0 ? v / MIB * MIB : 0;
}

static long long up_to_mib(long long v)
{
	return v > 0 ? (v + MIB - 1) / MIB * MIB : 0;
}

static long long min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

long long balloon_effective_avail(const struct balloon_limits *l, long long host_avail,
				  double stall_pct, double stall_limit)
{
	if (stall_limit > 0 && stall_pct >= stall_limit && l->low > 0 && host_avail >= l->low)
		return l->low - 1;
	return host_avail;
}

long long balloon_max_target(const struct balloon_limits *l, long long ram)
{
	long long keep = ram / 4 > l->floor ? ram / 4 : l->floor;
	return down_to_mib(ram - keep);
}

const char *balloon_verdict_str(enum balloon_verdict v)
{
	switch (v) {
	case BALLOON_INFLATE: return "inflate";
	case BALLOON_DEFLATE: return "deflate";
	default: return "hold";
	}
}

/* What an idle guest can still give: its MemAvailable less what it was
 * already asked for and has not handed over, less what it keeps; and no
 * more than its balloon's ceiling allows. */
static long long room(const struct balloon_limits *l, const struct balloon_vm *v)
{
	if (!v->idle || v->guest_avail < 0)
		return 0;
	long long pending = v->target > v->actual ? v->target - v->actual : 0;
	long long spare = v->guest_avail - pending - l->keep;
	long long ceiling = balloon_max_target(l, v->ram) - v->target;
	return down_to_mib(min_ll(spare, ceiling));
}

enum balloon_verdict balloon_plan(const struct balloon_limits *l, long long host_avail,
				  const struct balloon_vm *vm, size_t n, long long *next,
				  long long *unmet)
{
	long long pending = 0;
	for (size_t i = 0; i < n; i++) {
		next[i] = vm[i].target;
		if (vm[i].target > vm[i].actual)
			pending += vm[i].target - vm[i].actual;
	}
	if (unmet)
		*unmet = 0;
	if (l->low <= 0 || l->high <= l->low)
		return BALLOON_HOLD;

	if (host_avail < l->low) {
		long long want = up_to_mib(l->high - host_avail - pending);
		if (want <= 0)
			return BALLOON_HOLD;
		/* From the guest with the most to spare first: fewer guests are
		 * disturbed, and none is squeezed while another sits on plenty.
		 * A VM already given a new target is done (next != target). */
		bool changed = false;
		while (want > 0) {
			size_t best = n;
			long long best_room = 0;
			for (size_t i = 0; i < n; i++) {
				long long r = next[i] == vm[i].target ? room(l, &vm[i]) : 0;
				if (r > best_room) {
					best_room = r;
					best = i;
				}
			}
			if (best == n)
				break;
			long long take = min_ll(best_room, want);
			next[best] += take;
			want -= take;
			changed = true;
		}
		if (unmet)
			*unmet = want;
		return changed ? BALLOON_INFLATE : BALLOON_HOLD;
	}

	if (host_avail > l->high) {
		/* Giving back g bytes lowers MemAvailable by about g: stop at high.
		 * Busy guests first (they are the ones that want it), then the
		 * largest balloons. */
		long long give = down_to_mib(host_avail - l->high);
		bool changed = false;
		while (give > 0) {
			size_t best = n;
			for (size_t i = 0; i < n; i++) {
				if (vm[i].target <= 0 || next[i] != vm[i].target)
					continue;
				if (best == n || (!vm[i].idle && vm[best].idle) ||
				    (vm[i].idle == vm[best].idle && vm[i].target > vm[best].target))
					best = i;
			}
			if (best == n)
				break;
			long long back = min_ll(vm[best].target, give);
			next[best] -= back;
			give -= back;
			changed = true;
		}
		return changed ? BALLOON_DEFLATE : BALLOON_HOLD;
	}
	return BALLOON_HOLD;
}
