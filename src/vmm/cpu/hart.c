/*
 * Hart lifecycle, the run loop, WFI sleep, timers, and the thread-safe
 * inputs (hart_set_irq, hart_set_mtimecmp, hart_request_exit).
 *
 * Cross-thread protocol: inputs change the atomic mip word or mtimecmp, set
 * an `attn` bit if the run loop must act, then bump wake_seq and futex-wake
 * the hart if it sleeps.  The sleeper publishes `sleeping`, reads wake_seq,
 * re-checks its wake condition and only then waits on wake_seq, so a change
 * made after its check makes the wait return at once (no lost wake-up).
 * WFI sleeps while no interrupt is pending in mip & mie (global enables
 * ignored, as the spec says), bounded by the earliest enabled timer
 * deadline: an idle guest costs no host CPU.  Timer comparators are polled
 * with vclock_now() only every POLL_BLOCKS blocks, and whenever mtimecmp or
 * stimecmp is written.  Spec: privileged ISA 1.12 sections 3.1.9, 3.3.3;
 * Sstc 1.0.
 */
#include "vmm/cpu/fp_host.h"
#include "vmm/cpu/hart_internal.h"
#include "vmm/cpu/jit/jit.h"

#include <limits.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define POLL_BLOCKS 512

static void set_mip_bit(struct hart *h, unsigned bit, bool on)
{
	uint64_t m = 1ull << bit;
	bool cur = (atomic_load_explicit(&h->mip, memory_order_relaxed) & m) != 0;
	if (cur == on)
		return;
	if (on)
		atomic_fetch_or(&h->mip, m);
	else
		atomic_fetch_and(&h->mip, ~m);
}

void hart_update_stip(struct hart *h, uint64_t now)
{
	if (h->menvcfg & MENVCFG_STCE)
		set_mip_bit(h, HART_IRQ_STIP, now >= h->stimecmp);
}

void hart_poll_timers(struct hart *h)
{
	uint64_t now = vclock_now(h->clock);
	set_mip_bit(h, HART_IRQ_MTIP, now >= atomic_load(&h->mtimecmp));
	hart_update_stip(h, now);
	h->poll_countdown = POLL_BLOCKS;
}

void hart_pause(struct hart *h)
{
	(void)h;
	atomic_thread_fence(memory_order_seq_cst);
	sched_yield();
}

static void wake(struct hart *h)
{
	atomic_fetch_add(&h->wake_seq, 1);
	if (atomic_load(&h->sleeping))
		syscall(SYS_futex, (uint32_t *)&h->wake_seq, FUTEX_WAKE_PRIVATE, INT_MAX,
			NULL, NULL, 0);
}

/*
 * The hart and its tables come from fresh anonymous mappings, never memset:
 * the kernel's zero pages cost nothing until touched, so a table is paid for
 * page by page as the guest uses it (a TLB space when its address space is
 * first switched to, decoded blocks as they are decoded) and an idle or
 * short-lived VM stays small.  MAP_NORESERVE: the pool and the block table
 * are sized for the worst case, not reserved against the host's commit limit.
 */
void *hart_zeroed_map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void hart_zeroed_unmap(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

#define BTAB_BYTES (BTAB_SIZE * sizeof(struct block))
#define POOL_BYTES (POOL_INSNS * sizeof(struct insn))

static void hart_release(struct hart *h)
{
	hart_zeroed_unmap(h->btab, BTAB_BYTES);
	hart_zeroed_unmap(h->pool, POOL_BYTES);
	hart_zeroed_unmap(h, sizeof(*h));
}

/* An all-zero block is empty: its epoch 0 is never the hart's (which starts
 * at 1 and, should it wrap, passes through block_cache_flush, which marks
 * every block UINT64_MAX), and block_lookup_slow does not revalidate a block
 * of no bytes. */
void block_table_clear(struct hart *h)
{
	madvise(h->btab, BTAB_BYTES, MADV_DONTNEED);   /* private anonymous: zero again */
	h->pool_used = 0;
	h->epoch = 1;
}

struct hart *hart_new(const struct hart_config *cfg)
{
	struct hart *h = hart_zeroed_map(sizeof(*h));   /* page-aligned: cache-line aligned too */
	if (!h)
		return NULL;
	h->btab = hart_zeroed_map(BTAB_BYTES);
	h->pool = hart_zeroed_map(POOL_BYTES);
	if (!h->btab || !h->pool) {
		hart_release(h);
		return NULL;
	}
	h->epoch = 1;
	h->mslot_epoch = MSLOT_EPOCH_STEP;   /* never 0: empty slots are 0 */
	h->mslot_next = MSLOT_EPOCH_STEP;
	h->bus = cfg->bus;
	h->ram = cfg->bus->ram;
	h->fp_owner = fp_host_new_owner();
	if (cfg->jit_cache_bytes && (!(h->jit = jit_new(h, cfg->jit_cache_bytes)) ||
				     (cfg->jit_verify && jit_set_verify(h->jit) != 0))) {
		jit_free(h->jit);
		hart_release(h);
		return NULL;
	}
	h->clock = cfg->clock;
	h->hartid = cfg->hartid;
	h->reset_pc = cfg->reset_pc;
	h->pc = cfg->reset_pc;
	h->priv = PRV_M;
	h->stimecmp = UINT64_MAX;
	atomic_init(&h->mtimecmp, UINT64_MAX);
	h->poll_countdown = POLL_BLOCKS;
	h->space_key[0] = h->satp;   /* zeroed: Bare */
	tables_defer(h);   /* (take_mask stays 0: mie is) */
	pmp_recompute(h);
	trigger_reset(h);
	return h;
}

void hart_free(struct hart *h)
{
	if (!h)
		return;
	jit_free(h->jit);
	hart_release(h);
}

/*
 * Idle trim: a guest that has gone idle keeps running only a little of the
 * code it once ran (a booted Linux never again runs its boot path), yet its
 * translations, decoded blocks and their tables stay resident: about 15 MiB
 * after the default guest's boot, most of a VMM's own memory (docs/density.md).
 * So when a hart has slept in WFI for at least TRIM_IDLE_PERMILLE of a
 * TRIM_WINDOW_NS window, and has translated or decoded at least
 * TRIM_MIN_GROWTH bytes since its last trim, it drops them all and gives the
 * pages back; what the idle guest still runs is translated again (a few
 * hundred KiB).  The growth condition keeps a steadily idle guest from
 * trimming over and over.  A hart continued from a snapshot or a migration
 * trims at its first idle window whatever it grew: everything it holds was
 * translated since the load, for the code that ran around it (the restore
 * itself, the command that woke it) rather than the idle loop, and it is
 * less than TRIM_MIN_GROWTH (an idle guest is saved trimmed), so without
 * this it would keep it for ever: about 1.5 MiB of tables and
 * translations per idle restored guest.  Checked only on the way into
 * WFI: the hot paths do not change.
 */
#define TRIM_WINDOW_NS (5ull * 1000000000ull)
#define TRIM_IDLE_PERMILLE 950
#define TRIM_MIN_GROWTH (1ull << 20)

static uint64_t host_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The whole pages inside [p, p + len) back to the kernel (zero when next
 * read): for tables used from their start, whose tail past a new end is
 * garbage anyway (hart_internal.h). */
void hart_give_back(void *p, size_t len)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)p + pg - 1) & ~(pg - 1);
	uintptr_t hi = ((uintptr_t)p + len) & ~(pg - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void hart_trim_caches(struct hart *h)
{
	struct jit_stats js = { 0 };
	if (h->jit) {
		jit_trim(h->jit);   /* its slots' jit pointers are written: cleared next */
		jit_get_stats(h->jit, &js);
	}
	block_table_clear(h);
	madvise(h->pool, POOL_BYTES, MADV_DONTNEED);
	/* No translation is left to use the memory slots: zero pages again
	 * (an empty slot's tag, 0, matches no epoch). */
	hart_give_back(h->mslot, sizeof h->mslot);
	jcache_flush(h);
	jkernel_give_back(h);
	/* The other address spaces' TLBs (832 KiB each): retired, so the next
	 * switch to one refills it with TLB_INVALID before use; zero pages until. */
	for (unsigned s = 0; s < TLB_SPACES; s++) {
		if (s == h->space)
			continue;
		h->space_key[s] = TLB_NO_SPACE;
		hart_give_back(h->tlb[s], sizeof h->tlb[s]);
		/* Zero pages are not TLB_INVALID: no piece counts as clean. */
		for (unsigned c = 0; c < NCTX; c++)
			h->tlb_clean[s][c] = 0;
		/* jcache_flush above marked it stale: emptied before next use. */
		hart_give_back(h->jcache[s], sizeof h->jcache[s]);
	}
	h->trim_code_bytes = js.code_bytes;
}

static void maybe_trim(struct hart *h, uint64_t now)
{
	uint64_t span = now - h->trim_window_start;
	if (!h->trim_window_start || span < TRIM_WINDOW_NS) {
		if (!h->trim_window_start)
			h->trim_window_start = now;
		return;
	}
	bool idle = h->trim_asleep_ns >= span / 1000 * TRIM_IDLE_PERMILLE;
	h->trim_window_start = now;
	h->trim_asleep_ns = 0;
	if (!idle)
		return;
	struct jit_stats js = { 0 };
	if (h->jit)
		jit_get_stats(h->jit, &js);
	uint64_t grown = js.code_bytes - h->trim_code_bytes +
			 (uint64_t)h->pool_used * sizeof(struct insn);
	if (grown >= TRIM_MIN_GROWTH || (h->trim_after_load && grown)) {
		hart_trim_caches(h);
		h->trim_after_load = false;
	}
}

static uint64_t next_deadline(const struct hart *h)
{
	uint64_t dl = UINT64_MAX;
	uint64_t mip = atomic_load(&h->mip);
	if ((h->mie & (1ull << HART_IRQ_MTIP)) && !(mip & (1ull << HART_IRQ_MTIP)))
		dl = atomic_load(&h->mtimecmp);
	if ((h->menvcfg & MENVCFG_STCE) && (h->mie & (1ull << HART_IRQ_STIP)) &&
	    !(mip & (1ull << HART_IRQ_STIP)) && h->stimecmp < dl)
		dl = h->stimecmp;
	return dl;
}

/* Sleeps until an interrupt is pending in mip & mie or an exit is requested. */
static void wfi_wait(struct hart *h)
{
	maybe_trim(h, host_ns());
	for (;;) {
		hart_poll_timers(h);
		if (hart_pending_irqs(h) || (atomic_load(&h->attn) & ATTN_EXIT))
			break;
		atomic_store(&h->sleeping, 1);
		uint32_t seq = atomic_load(&h->wake_seq);
		if (hart_pending_irqs(h) || (atomic_load(&h->attn) & ATTN_EXIT)) {
			atomic_store(&h->sleeping, 0);
			break;
		}
		uint64_t dl = next_deadline(h);
		struct timespec ts, *tsp = NULL;
		if (dl != UINT64_MAX) {
			int64_t ns = vclock_ns_until(h->clock, dl);
			if (ns <= 0) {
				atomic_store(&h->sleeping, 0);
				continue;
			}
			ts.tv_sec = ns / 1000000000;
			ts.tv_nsec = ns % 1000000000;
			tsp = &ts;
		}
		uint64_t t0 = host_ns();
		syscall(SYS_futex, (uint32_t *)&h->wake_seq, FUTEX_WAIT_PRIVATE, seq, tsp,
			NULL, 0);
		h->trim_asleep_ns += host_ns() - t0;
		atomic_store(&h->sleeping, 0);
	}
	h->wfi = false;
	h->local_stop = 0;
}

enum hart_exit hart_run(struct hart *h)
{
	for (;;) {
		if (h->fatal)
			return HART_EXIT_FATAL;
		if (atomic_load(&h->attn) & ATTN_EXIT) {
			atomic_fetch_and(&h->attn, ~(uint32_t)ATTN_EXIT);
			return HART_EXIT_REQUESTED;
		}
		if (h->wfi) {
			wfi_wait(h);
			continue;
		}
		hart_exec(h, UINT64_MAX);
	}
}

uint64_t hart_step(struct hart *h, uint64_t n)
{
	uint64_t done = 0;
	while (done < n && !h->fatal) {
		if (h->wfi) {
			hart_poll_timers(h);
			if (!hart_pending_irqs(h))
				break;
			h->wfi = false;
			h->local_stop = 0;
		}
		uint64_t d = hart_exec(h, n - done);
		done += d;
		if (d == 0 && !h->wfi)
			break;
	}
	return done;
}

void hart_request_exit(struct hart *h)
{
	atomic_fetch_or(&h->attn, ATTN_EXIT);
	wake(h);
}

void hart_set_irq(struct hart *h, unsigned bit, int level)
{
	if (bit > HART_IRQ_MEIP || !((0xaaau >> bit) & 1))
		return;
	if (level) {
		atomic_fetch_or(&h->mip, 1ull << bit);
		atomic_fetch_or(&h->attn, ATTN_IRQ);   /* after mip: see hart_internal.h */
	} else {
		atomic_fetch_and(&h->mip, ~(1ull << bit));
	}
	wake(h);
}

void hart_set_mtimecmp(struct hart *h, uint64_t ticks)
{
	atomic_store(&h->mtimecmp, ticks);
	atomic_fetch_or(&h->attn, ATTN_TIMER);
	wake(h);
}

const char *hart_error(const struct hart *h) { return h->err; }
uint64_t hart_pc(const struct hart *h) { return h->pc; }
unsigned hart_id(const struct hart *h) { return h->hartid; }
uint64_t hart_instret(const struct hart *h) { return h->instret; }

bool hart_jit_stats(const struct hart *h, struct jit_stats *out)
{
	if (!h->jit)
		return false;
	jit_get_stats(h->jit, out);
	return true;
}

uint64_t hart_get_x(const struct hart *h, unsigned r) { return r < 32 ? h->x[r] : 0; }
void hart_set_x(struct hart *h, unsigned r, uint64_t v)
{
	if (r > 0 && r < 32)
		h->x[r] = v;
}
uint64_t hart_get_f(const struct hart *h, unsigned r) { return h->f[r & 31]; }
void hart_set_f(struct hart *h, unsigned r, uint64_t v) { h->f[r & 31] = v; }
void hart_set_pc(struct hart *h, uint64_t pc) { h->pc = pc; }
unsigned hart_priv(const struct hart *h) { return h->priv; }
bool hart_in_wfi(const struct hart *h) { return h->wfi; }
bool hart_is_fatal(const struct hart *h) { return h->fatal; }
