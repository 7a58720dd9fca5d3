/*
 * One virtual machine on the QEMU-virt-compatible board: guest RAM at
 * 0x80000000, the board's devices on the bus, one vCPU thread per hart, and
 * the images it boots (see board/virt.h for the map, board/virt_boot.h for
 * the placement).  Implements vm.h.
 *
 * Devices: board/virt.c creates them and puts each on `devs` (device.h),
 * which power_on resets and vm_destroy destroys.  Wiring: the CLINT's msip
 * and the PLIC's context outputs reach the harts' mip bits, and each
 * mtimecmp reaches its hart's timer, through the adapters below, which look the hart up under `harts_lock` (a reboot
 * replaces the harts while a host input thread may still raise a UART
 * interrupt).  Devices lock themselves; the lock order is device -> PLIC ->
 * harts_lock -> hart.
 *
 * vm_run: the calling thread is the monitor.  It sleeps in ppoll() on an
 * eventfd that exit events (finisher, pvpanic, fatal hart), RTC alarm changes and
 * vm_request_stop() write to (write(2) on an eventfd is async-signal-safe,
 * a condition variable is not), waking at the RTC alarm deadline and, when
 * a loaded ELF defines `tohost`, every millisecond to poll it.  The first
 * event wins.  Then every hart is asked to exit and joined; a reset event
 * resets the devices, replaces the harts, reloads the images and runs again
 * (unless no_reboot: then it ends the run as VM_EXIT_REBOOT).  vm_reboot,
 * vm_shutdown's deadline and vm_request_stop reach the monitor the same way.
 *
 * Pause (vm_pause/vm_resume, any thread): under run_lock, pause_wanted is
 * set and every hart asked to exit; hart_run returns at an instruction
 * boundary and the vCPU thread parks on run_cond instead of ending.  Once
 * every live vCPU is parked the devices are quiesced.  Resume moves the
 * clock's base by the pause length (unless catch_up) while every vCPU is
 * still parked, resumes the devices, and wakes the vCPUs.  A round that
 * ends (stop, reboot) wakes parked vCPUs to leave; a reboot while paused
 * starts the new harts parked.  Lock order: api_lock -> run_lock ->
 * harts_lock; listeners are called under listen_lock, never under run_lock.
 */
#include "vmm/vm.h"
#include "vmm/vm_internal.h"
#include "vmm/vm_fork_image.h"
#include "lib/tmark.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/board/finisher.h"
#include "vmm/board/loader.h"
#include "vmm/board/pvpanic.h"
#include "vmm/board/tohost.h"
#include "vmm/board/virt.h"
#include "vmm/board/virt_boot.h"
#include "vmm/board/virt_fdt.h"
#include "vmm/device.h"
#include "vmm/virtio/balloon.h"
#include "vmm/guest_agent.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/net.h"
#include "vmm/vm_args.h"
#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/irq.h"
#include "vmm/cpu/hart.h"
#include "vmm/cpu/jit/jit.h"

#define DEFAULT_BIOS "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
#define TOHOST_POLL_NS 1000000      /* 1 ms */
/* Nothing to poll: sleep until kicked.  Every request (stop, reboot,
   shutdown, an RTC alarm armed, an event posted) writes event_fd, so an
   idle VM costs the host no periodic wake-up (docs/density.md). */
#define IDLE_POLL_NS   INT64_MAX

/* irq_line numbering towards the harts: hart * HART_LINES + mip bit. */
#define HART_LINES 16
/* How long vm_shutdown waits for the guest agent to take a poweroff. */
#define AGENT_POWEROFF_WAIT_MS 1000

struct vcpu {
	struct vm *vm;
	unsigned idx;
	pthread_t thread;
};

struct vm {
	struct vm_config cfg;
	char *append;

	struct bus bus;
	bool bus_ok;
	struct vclock clock;

	pthread_rwlock_t harts_lock;
	struct hart *harts[VM_MAX_CPUS];
	struct vcpu vcpu[VM_MAX_CPUS];

	/* The board's devices (board/virt.c creates them; the list owns them). */
	struct virt_board *board;
	struct device_list devs;

	/* Boot images and where they go. */
	struct image bios, kernel, initrd;
	bool has_bios, has_kernel, has_initrd;
	/* A restored or migrated VM opens its boot images only when it first
	 * reboots: restoring needs none of them (copies of the paths here). */
	bool images_deferred;
	char *image_path[3];
	/* Disk paths this VM put in cfg: a restore's (disks from the snapshot, a
	 * fork child's overlays), a fork's (the parent's overlays). */
	char *restore_disk_path[VM_MAX_DISKS];
	struct virt_boot_plan plan;
	bool has_tohost;
	uint64_t tohost;

	/* Monitor. */
	int event_fd;
	bool barrier_prepared;     /* bus_barrier_prepare asked for (vm_run) */
	/* A fork child's NICs: the MACs the parent had (vm_fork_nics.c). */
	uint8_t fork_was_mac[VM_MAX_NETS][6];
	unsigned fork_nmacs;
	atomic_bool stop_requested;
	atomic_bool reboot_requested;
	_Atomic int64_t shutdown_deadline_ns;   /* host monotonic; 0 = no shutdown asked */
	atomic_bool shutdown_via_agent;         /* the last vm_shutdown reached the agent */
	pthread_mutex_t ev_lock;
	bool ev_pending;
	bool ev_reset;
	struct vm_exit ev;

	/*
	 * Run state, under run_lock; run_cond signals every change.  A vCPU
	 * thread parks (parked++) while pause_wanted, and leaves when
	 * vcpus_exit; `alive` counts the threads of the current round.  The
	 * clock and the devices change only while every live vCPU is parked.
	 */
	pthread_mutex_t run_lock;
	pthread_cond_t run_cond;
	enum vm_state state;
	bool vcpus_exit, pause_wanted, paused;
	unsigned alive, parked;
	int64_t run_start_ns, paused_at_ns, paused_total_ns;
	unsigned reboots;
	bool has_exit;
	struct vm_exit last_exit;
	pthread_mutex_t api_lock;   /* one pause or resume at a time */

	/* Listeners (vm_add_listener) and the devices' log sink. */
	pthread_mutex_t listen_lock;
	struct { vm_listener_fn *fn; void *ctx; } listeners[8];
	struct log_sink dev_log;

	/* Snapshots and migration (vm_snapshot.c, vm_migrate.c). */
	struct vm_snap_chain chain;
	/* Forks' background threads: rebases, memory files (vm_fork_image.c). */
	struct vm_fork_images *fork_images;
};

/* ---- wiring ------------------------------------------------------------ */

static void hart_irq_line(void *ctx, unsigned line, int level)
{
	struct vm *vm = ctx;
	pthread_rwlock_rdlock(&vm->harts_lock);
	struct hart *h = vm->harts[line / HART_LINES];
	if (h)
		hart_set_irq(h, line % HART_LINES, level);
	pthread_rwlock_unlock(&vm->harts_lock);
}

static void hart_timer_line(void *ctx, unsigned idx, uint64_t ticks)
{
	struct vm *vm = ctx;
	pthread_rwlock_rdlock(&vm->harts_lock);
	if (vm->harts[idx])
		hart_set_mtimecmp(vm->harts[idx], ticks);
	pthread_rwlock_unlock(&vm->harts_lock);
}

static struct irq_line hart_line(void *ctx, unsigned hart, unsigned bit)
{
	return (struct irq_line){ .set = hart_irq_line, .ctx = ctx, .line = hart * HART_LINES + bit };
}

/* ---- events ------------------------------------------------------------ */

static void kick(void *ctx)
{
	struct vm *vm = ctx;
	uint64_t one = 1;
	ssize_t n = write(vm->event_fd, &one, sizeof one);
	(void)n;   /* EAGAIN: the counter is already non-zero, the monitor wakes anyway */
}

static void emit(struct vm *vm, enum vm_event_kind kind, const char *source,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void vm_publish_event(struct vm *vm, struct vm_event *ev)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ev->time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	pthread_mutex_lock(&vm->listen_lock);
	for (unsigned i = 0; i < sizeof vm->listeners / sizeof vm->listeners[0]; i++)
		if (vm->listeners[i].fn)
			vm->listeners[i].fn(vm->listeners[i].ctx, ev);
	pthread_mutex_unlock(&vm->listen_lock);
}

static void emit(struct vm *vm, enum vm_event_kind kind, const char *source,
		 const char *fmt, ...)
{
	struct vm_event ev = { .kind = kind };
	snprintf(ev.source, sizeof ev.source, "%s", source ? source : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev.detail, sizeof ev.detail, fmt, ap);
	va_end(ap);
	vm_publish_event(vm, &ev);
}

/* The sink the devices log to: an event, then the configured sink (stderr). */
static void device_log(void *ctx, const char *source, const char *msg)
{
	struct vm *vm = ctx;
	emit(vm, VM_EVENT_DEVICE_ERROR, source, "%s", msg);
	log_emit(&vm->cfg.log, source, msg);
}

static void post_event(struct vm *vm, bool reset, enum vm_exit_kind kind, int code,
		       const char *fmt, ...)
{
	pthread_mutex_lock(&vm->ev_lock);
	if (!vm->ev_pending) {
		vm->ev_pending = true;
		vm->ev_reset = reset;
		vm->ev.kind = kind;
		vm->ev.code = code;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(vm->ev.message, sizeof vm->ev.message, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vm->ev_lock);
	kick(vm);
}

static void finisher_event(void *ctx, int ev, int code)
{
	struct vm *vm = ctx;
	switch ((enum finisher_event)ev) {
	case FINISHER_PASS:
		post_event(vm, false, VM_EXIT_POWEROFF, 0, "%s", "");
		break;
	case FINISHER_FAIL:
		post_event(vm, false, VM_EXIT_FAILURE, code, "SiFive test finisher");
		break;
	case FINISHER_RESET:
		if (vm->cfg.no_reboot)
			post_event(vm, false, VM_EXIT_REBOOT, 0, "%s", "");
		else
			post_event(vm, true, VM_EXIT_POWEROFF, 0, "%s", "");
		break;
	}
}

static void pvpanic_event(void *ctx, unsigned events)
{
	struct vm *vm = ctx;
	/* A crash kernel starting is not the end: only a panic is. */
	if (events & PVPANIC_PANICKED) {
		emit(vm, VM_EVENT_GUEST_PANIC, NULL, "guest panicked (pvpanic)");
		post_event(vm, false, VM_EXIT_PANIC, 0, "guest panicked (pvpanic)");
	}
}

void vm_request_stop(struct vm *vm)
{
	atomic_store(&vm->stop_requested, true);
	kick(vm);
}

void vm_request_stop_reason(struct vm *vm, const char *why)
{
	post_event(vm, false, VM_EXIT_STOPPED, 0, "%s", why);
}

/* ---- boot -------------------------------------------------------------- */

/* Copies the images, a fresh FDT and the reset ROM in: the state at power-on. */
static int load_images(struct vm *vm, struct err *err)
{
	int rc;
	if (vm->has_bios && (rc = image_load(&vm->bios, &vm->bus, err)))
		return rc;
	if (vm->has_kernel && (rc = image_load(&vm->kernel, &vm->bus, err)))
		return rc;
	if (vm->has_initrd && (rc = image_load(&vm->initrd, &vm->bus, err)))
		return rc;

	return virt_board_boot(vm->board, &vm->bus, &vm->plan, vm->append, vm->has_initrd, err);
}

static int open_images(struct vm *vm, struct err *err)
{
	const struct vm_config *c = &vm->cfg;
	int rc;
	bool bios_none = c->bios && strcmp(c->bios, "none") == 0;
	if (!bios_none) {
		if ((rc = image_open(&vm->bios, c->bios ? "--bios" : "default firmware",
				     c->bios ? c->bios : DEFAULT_BIOS, false, c->mem_size, err)))
			return rc;
		vm->has_bios = true;
	}
	if (c->kernel) {
		if ((rc = image_open(&vm->kernel, "--kernel", c->kernel, false, c->mem_size, err)))
			return rc;
		vm->has_kernel = true;
	}
	if (c->initrd) {
		if (!c->kernel)
			return err_set(err, -EINVAL, "--initrd %s: needs a kernel", c->initrd);
		if ((rc = image_open(&vm->initrd, "--initrd", c->initrd, true, c->mem_size, err)))
			return rc;
		vm->has_initrd = true;
	}
	if ((rc = virt_boot_plan(vm->has_bios ? &vm->bios : NULL,
				 vm->has_kernel ? &vm->kernel : NULL,
				 vm->has_initrd ? &vm->initrd : NULL,
				 VIRT_DRAM_BASE, c->mem_size, VIRT_FDT_TOTAL, &vm->plan, err)))
		return rc;
	/* riscv-tests style programs: firmware first, as it runs first. */
	if (vm->has_bios && vm->bios.has_tohost) {
		vm->has_tohost = true;
		vm->tohost = vm->bios.tohost;
	} else if (vm->has_kernel && vm->kernel.has_tohost) {
		vm->has_tohost = true;
		vm->tohost = vm->kernel.tohost;
	}
	return 0;
}

/* ---- devices ----------------------------------------------------------- */

static int create_devices(struct vm *vm, struct err *err)
{
	const struct virt_hooks hooks = {
		.ctx = vm,
		.hart_line = hart_line,
		.hart_timer = hart_timer_line,
		.finisher = finisher_event,
		.panic = pvpanic_event,
		.rtc_kick = kick,
		.log = &vm->dev_log,
	};
	return virt_board_create(&vm->cfg, &vm->bus, &vm->clock, &hooks, &vm->devs, &vm->board,
				 err);
}

/* Creates a fresh set of harts in reset state and retires the old ones. */
static int new_harts(struct vm *vm, struct err *err)
{
	struct hart *fresh[VM_MAX_CPUS] = {0};
	for (unsigned i = 0; i < vm->cfg.ncpus; i++) {
		uint64_t cache = vm->cfg.jit_cache ? vm->cfg.jit_cache
				: (uint64_t)JIT_DEFAULT_CACHE_MB << 20;
		struct hart_config hc = {
			.hartid = i, .bus = &vm->bus, .clock = &vm->clock, .reset_pc = VIRT_MROM_BASE,
			/* The VM's cache budget is shared by its harts. */
			.jit_cache_bytes = vm->cfg.jit_off ? 0 : (size_t)(cache / vm->cfg.ncpus),
			.jit_verify = vm->cfg.jit_verify,
		};
		fresh[i] = hart_new(&hc);
		if (!fresh[i]) {
			for (unsigned k = 0; k < i; k++)
				hart_free(fresh[k]);
			return err_set(err, -ENOMEM, "cannot create hart %u", i);
		}
	}
	struct hart *old[VM_MAX_CPUS];
	pthread_rwlock_wrlock(&vm->harts_lock);
	memcpy(old, vm->harts, sizeof old);
	memcpy(vm->harts, fresh, sizeof fresh);
	pthread_rwlock_unlock(&vm->harts_lock);
	for (unsigned i = 0; i < VM_MAX_CPUS; i++)
		if (old[i])
			hart_free(old[i]);
	return 0;
}

static int power_on(struct vm *vm, struct err *err)
{
	int rc;
	if (vm->images_deferred) {
		if ((rc = open_images(vm, err)))
			return rc;
		vm->images_deferred = false;
	}
	rc = new_harts(vm, err);
	if (rc)
		return rc;
	device_list_reset(&vm->devs);   /* the CLINT tells the (new) harts their timer and msip */
	return load_images(vm, err);
}

/* ---- lifecycle --------------------------------------------------------- */

int vm_create(const struct vm_config *cfg, struct vm **out, struct err *err)
{
	*out = NULL;
	if (cfg->ncpus < 1 || cfg->ncpus > VM_MAX_CPUS)
		return err_set(err, -EINVAL, "%u CPUs: must be between 1 and %d", cfg->ncpus,
			       VM_MAX_CPUS);
	if (cfg->mem_size == 0 || cfg->mem_size & ((1u << BUS_PAGE_SHIFT) - 1))
		return err_set(err, -EINVAL, "memory size %llu bytes: not a multiple of 4 KiB",
			       (unsigned long long)cfg->mem_size);
	if (cfg->mem_size > UINT64_MAX - VIRT_DRAM_BASE)
		return err_set(err, -EINVAL, "memory size %llu bytes: too large",
			       (unsigned long long)cfg->mem_size);

	int vrc = vm_append_check(cfg->append, err);
	if (vrc)
		return vrc;

	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return err_set(err, -ENOMEM, "out of memory");
	vm->cfg = *cfg;
	vm->event_fd = -1;
	pthread_rwlock_init(&vm->harts_lock, NULL);
	pthread_mutex_init(&vm->ev_lock, NULL);
	pthread_mutex_init(&vm->run_lock, NULL);
	pthread_cond_init(&vm->run_cond, NULL);
	pthread_mutex_init(&vm->api_lock, NULL);
	pthread_mutex_init(&vm->listen_lock, NULL);
	vm->dev_log = (struct log_sink){ .log = device_log, .ctx = vm };
	int rc = 0;
	if (cfg->append && !(vm->append = strdup(cfg->append))) {
		rc = err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	vm->cfg.append = vm->append;
	if (cfg->restore || cfg->incoming) {
		const char **p[3] = { &vm->cfg.bios, &vm->cfg.kernel, &vm->cfg.initrd };
		for (unsigned i = 0; i < 3; i++)
			if (*p[i] && !(*p[i] = vm->image_path[i] = strdup(*p[i]))) {
				rc = err_set(err, -ENOMEM, "out of memory");
				goto fail;
			}
		vm->images_deferred = true;
	} else {
		/* Paths are only used here; the images keep their own copies. */
		if ((rc = open_images(vm, err)))
			goto fail;
		vm->cfg.bios = vm->cfg.kernel = vm->cfg.initrd = NULL;
	}

	vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->event_fd < 0) {
		rc = err_set(err, -errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((rc = bus_init(&vm->bus, VIRT_DRAM_BASE, cfg->mem_size))) {
		err_set(err, rc, "cannot map %llu MiB of guest RAM: %s",
			(unsigned long long)(cfg->mem_size >> 20), strerror(-rc));
		goto fail;
	}
	vm->bus_ok = true;
	/* Jailed later: which pages hold data (migration, snapshots) is read
	 * from a page map opened now, as /proc will be out of reach. */
	if (cfg->sandboxed && (rc = bus_keep_pagemap(&vm->bus))) {
		err_set(err, rc, "/proc/self/pagemap: %s", strerror(-rc));
		goto fail;
	}
	/* A VM ready to fork keeps RAM in a file of its own (a memfd, or its
	 * private tmpfs's: vm_fork_tmpfs.c), which a fork hands to its
	 * children as it is (vm_fork_image.c) instead of copying it.  Not a
	 * restored or migrated one, whose RAM is about to be replaced (a fork
	 * of it copies), nor a jailed one (it cannot fork), nor one offered to
	 * KSM (which merges only anonymous pages). */
	if (cfg->fork_children && !(vm->fork_images = vm_fork_images_new())) {
		rc = err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (cfg->fork_children && cfg->fork_ready && !cfg->sandboxed && !cfg->mem_merge &&
	    !cfg->restore && !cfg->incoming && (rc = vm_fork_images_share_ram(vm->fork_images,
									&vm->bus))) {
		err_set(err, rc, "--fork-ready: cannot put guest RAM in a file of its own: %s",
			strerror(-rc));
		goto fail;
	}
	if (!cfg->mem_merge) {
		bus_ram_hugepages(&vm->bus);
	} else if ((rc = bus_ram_mergeable(&vm->bus))) {
		err_set(err, rc, "--mem-merge: guest RAM cannot be made mergeable: %s%s",
			strerror(-rc), rc == -EINVAL ? " (a kernel without KSM?)" : "");
		goto fail;
	}
	vclock_init(&vm->clock, VIRT_TIMEBASE_HZ);
	if (cfg->incoming && !cfg->incoming->state) {
		/* Built ahead of a migration: the harts now (they need only the
		 * bus and the clock), the devices with the state. */
		if ((rc = new_harts(vm, err)))
			goto fail;
		*out = vm;
		return 0;
	}
	if (cfg->restore && (rc = vm_restore_disks(&vm->cfg, cfg->restore, vm->restore_disk_path,
						   err)))
		goto fail;
	if (cfg->restore && cfg->fork_index && (rc = vm_fork_nics_renew(&vm->cfg, err)))
		goto fail;
	tmark("bus, disks");
	if ((rc = create_devices(vm, err)))
		goto fail;
	tmark("devices");
	/* A restore takes the place of the boot images (vm_snapshot.c). */
	if (cfg->restore || cfg->incoming) {
		if ((rc = new_harts(vm, err)))
			goto fail;
		tmark("harts");
		device_list_reset(&vm->devs);
		if ((rc = cfg->restore ? vm_restore_state(vm, cfg->restore, err)
				       : vm_restore_incoming(vm, cfg->incoming, err)))
			goto fail;
		vm->cfg.restore = NULL;
		vm->cfg.incoming = NULL;
	} else if ((rc = power_on(vm, err))) {
		goto fail;
	}
	for (unsigned i = 0; i < vm->cfg.ndisks; i++)
		vm->cfg.disks[i].frozen_base = NULL;   /* checked: the overlay is the disk */
	*out = vm;
	return 0;
fail:
	/* A fork child's overlays, made by this restore, go with it. */
	for (unsigned i = 0; i < vm->cfg.ndisks; i++)
		if (vm->cfg.disks[i].frozen_base)
			unlink(vm->cfg.disks[i].path);
	vm_destroy(vm);
	return rc;
}

int vm_incoming_finish(struct vm *vm, struct vm_incoming *in, struct err *err)
{
	/* The disks the stream filled in throwaway layers are taken as they are. */
	for (unsigned i = 0; i < vm->cfg.ndisks; i++) {
		vm->cfg.disks[i].backend = in->disk_layer[i];
		in->disk_layer[i] = NULL;
	}
	int rc = create_devices(vm, err);
	for (unsigned i = 0; i < vm->cfg.ndisks; i++)
		vm->cfg.disks[i].backend = NULL;   /* the devices own them now */
	if (rc)
		return rc;
	device_list_reset(&vm->devs);
	if ((rc = vm_restore_incoming(vm, in, err)))
		return rc;
	vm->cfg.incoming = NULL;
	return 0;
}

/* A thread of its own for bus_barrier_prepare: the kernel's wait is
 * nobody's (not the guest's, not the monitor's). */
static void *barrier_prepare_main(void *arg)
{
	(void)arg;
	bus_barrier_prepare();
	return NULL;
}

static void prepare_barrier_aside(void)
{
	pthread_attr_t a;
	pthread_t t;
	if (pthread_attr_init(&a))
		return;
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 << 10);
	/* Failing, the first snapshot registers, as it always could. */
	(void)pthread_create(&t, &a, barrier_prepare_main, NULL);
	pthread_attr_destroy(&a);
}

/*
 * A vCPU thread: runs its hart until the round ends (vcpus_exit), parking
 * whenever a pause is wanted.  hart_run returns only at an instruction
 * boundary, so a parked hart is exactly between two instructions.  A
 * return without a reason (the exit request of a pause that was already
 * withdrawn) just runs on.
 */
static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	struct hart *h = vm->harts[v->idx];   /* stable while vCPU threads run */
	if (vm->cfg.vcpu_thread_init)
		vm->cfg.vcpu_thread_init(vm->cfg.vcpu_thread_ctx);
	tmark("vcpu enters the guest");   /* its first instruction is next */
	pthread_mutex_lock(&vm->run_lock);
	for (;;) {
		if (vm->vcpus_exit)
			break;
		if (vm->pause_wanted) {
			vm->parked++;
			pthread_cond_broadcast(&vm->run_cond);
			while (vm->pause_wanted && !vm->vcpus_exit)
				pthread_cond_wait(&vm->run_cond, &vm->run_lock);
			vm->parked--;
			continue;
		}
		pthread_mutex_unlock(&vm->run_lock);
		enum hart_exit r = hart_run(h);
		pthread_mutex_lock(&vm->run_lock);
		if (r == HART_EXIT_FATAL) {
			pthread_mutex_unlock(&vm->run_lock);
			const char *why = hart_error(h);
			if (strncmp(why, "hart ", 5) == 0)   /* already names the hart */
				post_event(vm, false, VM_EXIT_FATAL, 0, "%s", why);
			else
				post_event(vm, false, VM_EXIT_FATAL, 0, "hart %u: %s", v->idx, why);
			pthread_mutex_lock(&vm->run_lock);
			break;
		}
	}
	vm->alive--;
	pthread_cond_broadcast(&vm->run_cond);
	pthread_mutex_unlock(&vm->run_lock);
	return NULL;
}

static void wait_for_event(struct vm *vm)
{
	struct pollfd pfd = { .fd = vm->event_fd, .events = POLLIN };
	for (;;) {
		int code;
		if (atomic_exchange(&vm->stop_requested, false))
			post_event(vm, false, VM_EXIT_STOPPED, 0, "%s", "");
		if (atomic_exchange(&vm->reboot_requested, false))
			post_event(vm, true, VM_EXIT_POWEROFF, 0, "%s", "");
		int64_t deadline = atomic_load(&vm->shutdown_deadline_ns);
		if (deadline && vclock_host_ns() >= deadline)
			post_event(vm, false, VM_EXIT_STOPPED, 0,
				   "shutdown: the guest did not power off in time");
		if (vm->has_tohost) {
			switch (tohost_poll(&vm->bus, vm->tohost, &code)) {
			case TOHOST_PASS:
				post_event(vm, false, VM_EXIT_POWEROFF, 0, "%s", "");
				break;
			case TOHOST_FAIL:
				post_event(vm, false, VM_EXIT_FAILURE, code, "tohost");
				break;
			case TOHOST_NONE:
				break;
			}
		}
		pthread_mutex_lock(&vm->ev_lock);
		bool done = vm->ev_pending;
		pthread_mutex_unlock(&vm->ev_lock);
		if (done)
			return;

		int64_t wait = vm->has_tohost ? TOHOST_POLL_NS : IDLE_POLL_NS;
		int64_t alarm = virt_board_rtc_poll(vm->board);
		if (alarm >= 0 && alarm < wait)
			wait = alarm;
		if (deadline) {
			int64_t left = deadline - vclock_host_ns();
			if (left < wait)
				wait = left > 0 ? left : 0;
		}
		struct timespec ts = { .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };
		if (ppoll(&pfd, 1, wait == IDLE_POLL_NS ? NULL : &ts, NULL) > 0) {
			uint64_t count;
			ssize_t n = read(vm->event_fd, &count, sizeof count);
			(void)n;
		}
	}
}

/* The event a run's end is to listeners. */
static void emit_exit(struct vm *vm, const struct vm_exit *ex)
{
	switch (ex->kind) {
	case VM_EXIT_POWEROFF:
		emit(vm, VM_EVENT_POWERED_OFF, NULL, "%s", "");
		break;
	case VM_EXIT_FAILURE:
		emit(vm, VM_EVENT_STOPPED, NULL, "failure %d: %s", ex->code, ex->message);
		break;
	default:
		emit(vm, VM_EVENT_STOPPED, NULL, "%s%s%s", vm_exit_kind_name(ex->kind),
		     ex->message[0] ? ": " : "", ex->message);
		break;
	}
}

void vm_run(struct vm *vm, struct vm_exit *exit)
{
	pthread_mutex_lock(&vm->run_lock);
	vm->run_start_ns = vclock_host_ns();
	if (vm->cfg.start_paused) {
		/* As if paused at once: vCPUs park, the clock holds, devices wait. */
		vm->cfg.start_paused = false;
		vm->pause_wanted = vm->paused = true;
		vm->paused_at_ns = vm->run_start_ns;
		device_list_quiesce(&vm->devs);
	}
	vm->state = vm->pause_wanted ? VM_STATE_PAUSED : VM_STATE_RUNNING;
	pthread_mutex_unlock(&vm->run_lock);
	for (;;) {
		unsigned started = 0;
		pthread_mutex_lock(&vm->run_lock);
		vm->vcpus_exit = false;
		vm->alive = vm->cfg.ncpus;
		for (unsigned i = 0; i < vm->cfg.ncpus; i++) {
			vm->vcpu[i] = (struct vcpu){ .vm = vm, .idx = i };
			if (pthread_create(&vm->vcpu[i].thread, NULL, vcpu_main, &vm->vcpu[i])) {
				vm->alive = started;
				post_event(vm, false, VM_EXIT_FATAL, 0, "cannot start the thread of hart %u", i);
				break;
			}
			started++;
		}
		pthread_mutex_unlock(&vm->run_lock);
		if (vm->cfg.on_running) {
			void (*on_running)(void *) = vm->cfg.on_running;
			vm->cfg.on_running = NULL;   /* once: not again after a reboot */
			on_running(vm->cfg.on_running_ctx);
		}
		if (!vm->barrier_prepared) {
			vm->barrier_prepared = true;
			prepare_barrier_aside();
		}
		wait_for_event(vm);
		pthread_mutex_lock(&vm->run_lock);
		vm->vcpus_exit = true;
		pthread_cond_broadcast(&vm->run_cond);
		pthread_mutex_unlock(&vm->run_lock);
		for (unsigned i = 0; i < started; i++)
			hart_request_exit(vm->harts[i]);
		for (unsigned i = 0; i < started; i++)
			pthread_join(vm->vcpu[i].thread, NULL);

		pthread_mutex_lock(&vm->ev_lock);
		bool reset = vm->ev_reset;
		*exit = vm->ev;
		vm->ev_pending = false;
		vm->ev_reset = false;
		memset(&vm->ev, 0, sizeof vm->ev);
		pthread_mutex_unlock(&vm->ev_lock);

		struct err e = {0};
		if (reset && power_on(vm, &e)) {
			*exit = (struct vm_exit){ .kind = VM_EXIT_FATAL };
			snprintf(exit->message, sizeof exit->message, "reboot: %.240s", e.msg);
			reset = false;
		}
		if (reset) {
			pthread_mutex_lock(&vm->run_lock);
			vm->reboots++;
			pthread_mutex_unlock(&vm->run_lock);
			emit(vm, VM_EVENT_RESET, NULL, "%s", "");
			continue;
		}
		atomic_store(&vm->shutdown_deadline_ns, 0);
		if (vm->cfg.agent)   /* a command waiting in the guest will not end now */
			guest_agent_close(vm->cfg.agent);
		pthread_mutex_lock(&vm->run_lock);
		vm->state = VM_STATE_STOPPED;
		vm->has_exit = true;
		vm->last_exit = *exit;
		pthread_cond_broadcast(&vm->run_cond);
		pthread_mutex_unlock(&vm->run_lock);
		emit_exit(vm, exit);
		return;
	}
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	vm_fork_images_free(vm->fork_images);   /* its fork directories complete */
	for (unsigned i = 0; i < VM_MAX_CPUS; i++)
		if (vm->harts[i])
			hart_free(vm->harts[i]);
	virt_board_stop_io(vm->board);   /* its thread reads the transports freed next */
	device_list_destroy(&vm->devs);
	virt_board_free(vm->board);
	if (vm->bus_ok)
		bus_destroy(&vm->bus);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	if (vm->has_bios)
		image_free(&vm->bios);
	if (vm->has_kernel)
		image_free(&vm->kernel);
	if (vm->has_initrd)
		image_free(&vm->initrd);
	free(vm->append);
	for (unsigned i = 0; i < 3; i++)
		free(vm->image_path[i]);
	for (unsigned i = 0; i < VM_MAX_DISKS; i++)
		free(vm->restore_disk_path[i]);
	pthread_mutex_destroy(&vm->ev_lock);
	pthread_mutex_destroy(&vm->run_lock);
	pthread_cond_destroy(&vm->run_cond);
	pthread_mutex_destroy(&vm->api_lock);
	pthread_mutex_destroy(&vm->listen_lock);
	pthread_rwlock_destroy(&vm->harts_lock);
	free(vm);
}

int vm_disk_set_image(struct vm *vm, unsigned i, const char *path, const char *format,
		      bool confine_backing)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	free(vm->restore_disk_path[i]);   /* path may not be that string: copied first */
	vm->restore_disk_path[i] = copy;
	vm->cfg.disks[i].path = copy;
	vm->cfg.disks[i].format = format;
	vm->cfg.disks[i].confine_backing = confine_backing;
	return 0;
}

void vm_parts(struct vm *vm, struct vm_parts *out)
{
	pthread_mutex_lock(&vm->run_lock);
	*out = (struct vm_parts){
		.bus = &vm->bus, .clock = &vm->clock, .harts = vm->harts, .ncpus = vm->cfg.ncpus,
		.devs = &vm->devs, .cfg = &vm->cfg, .paused_at_ns = vm->paused_at_ns,
		.chain = &vm->chain,
	};
	for (unsigned i = 0; vm->board && i < VM_MAX_DISKS; i++)
		if ((out->disks[i] = virt_board_disk(vm->board, i)))
			out->ndisks = i + 1;
	for (unsigned i = 0; vm->board && i < VM_MAX_NETS; i++)
		if ((out->nets[i] = virt_board_net(vm->board, i)))
			out->nnets = i + 1;
	pthread_mutex_unlock(&vm->run_lock);
}

struct virtio_device *vm_balloon(struct vm *vm)
{
	return virt_board_balloon(vm->board);
}

struct virtio_device *vm_nic_slot(struct vm *vm, unsigned i)
{
	return vm->board ? virt_board_nic_slot(vm->board, i) : NULL;
}

struct virtio_device *vm_disk_slot(struct vm *vm, unsigned i)
{
	return vm->board ? virt_board_disk_slot(vm->board, i) : NULL;
}

/* ---- the VM API -------------------------------------------------------- */

const char *vm_state_name(enum vm_state st)
{
	switch (st) {
	case VM_STATE_CREATED: return "created";
	case VM_STATE_RUNNING: return "running";
	case VM_STATE_PAUSED: return "paused";
	case VM_STATE_STOPPED: return "stopped";
	}
	return "unknown";
}

const char *vm_exit_kind_name(enum vm_exit_kind k)
{
	switch (k) {
	case VM_EXIT_POWEROFF: return "poweroff";
	case VM_EXIT_FAILURE: return "failure";
	case VM_EXIT_STOPPED: return "stopped";
	case VM_EXIT_FATAL: return "fatal";
	case VM_EXIT_PANIC: return "panic";
	case VM_EXIT_REBOOT: return "reboot";
	}
	return "unknown";
}

const char *vm_event_name(enum vm_event_kind k)
{
	switch (k) {
	case VM_EVENT_PAUSED: return "paused";
	case VM_EVENT_RESUMED: return "resumed";
	case VM_EVENT_RESET: return "reset";
	case VM_EVENT_SHUTDOWN_REQUESTED: return "shutdown-requested";
	case VM_EVENT_GUEST_PANIC: return "guest-panic";
	case VM_EVENT_POWERED_OFF: return "powered-off";
	case VM_EVENT_STOPPED: return "stopped";
	case VM_EVENT_DEVICE_ERROR: return "device-error";
	case VM_EVENT_MIGRATION: return "migration";
	}
	return "unknown";
}

void vm_query(struct vm *vm, struct vm_status *out)
{
	memset(out, 0, sizeof *out);
	out->ncpus = vm->cfg.ncpus;
	out->mem_bytes = vm->cfg.mem_size;
	out->timebase_hz = vm->clock.hz;
	pthread_mutex_lock(&vm->run_lock);
	int64_t now = vclock_host_ns();
	out->state = vm->state;
	if (vm->state != VM_STATE_CREATED)
		out->uptime_ns = now - vm->run_start_ns;
	out->paused_ns = vm->paused_total_ns + (vm->paused ? now - vm->paused_at_ns : 0);
	/* The clock changes under run_lock only; paused, it stands still. */
	out->guest_ticks = vclock_at(&vm->clock, vm->paused ? vm->paused_at_ns : now);
	out->reboots = vm->reboots;
	out->has_exit = vm->has_exit;
	out->exit = vm->last_exit;
	pthread_mutex_unlock(&vm->run_lock);
	out->shutdown_pending = atomic_load(&vm->shutdown_deadline_ns) != 0;
	pthread_rwlock_rdlock(&vm->harts_lock);
	for (unsigned i = 0; i < vm->cfg.ncpus; i++)
		if (vm->harts[i])
			out->instret[i] = hart_instret(vm->harts[i]);
	pthread_rwlock_unlock(&vm->harts_lock);
	for (unsigned i = 0; i < vm->devs.n && i < VM_STATUS_MAX_DEVICES; i++)
		snprintf(out->devices[out->ndevices++], sizeof out->devices[0], "%s",
			 vm->devs.dev[i].name);
}

#define PAUSE_TIMEOUT_S 5

int vm_pause(struct vm *vm, struct err *err)
{
	pthread_mutex_lock(&vm->api_lock);
	pthread_mutex_lock(&vm->run_lock);
	int rc = 0;
	if (vm->state == VM_STATE_PAUSED) {
		rc = err_set(err, -EALREADY, "the VM is already paused");
		goto out;
	}
	if (vm->state != VM_STATE_RUNNING || atomic_load(&vm->stop_requested)) {
		rc = err_set(err, -ESRCH, "the VM is not running (%s)", vm_state_name(vm->state));
		goto out;
	}
	vm->pause_wanted = true;
	pthread_mutex_unlock(&vm->run_lock);
	pthread_rwlock_rdlock(&vm->harts_lock);
	for (unsigned i = 0; i < vm->cfg.ncpus; i++)
		if (vm->harts[i])
			hart_request_exit(vm->harts[i]);
	pthread_rwlock_unlock(&vm->harts_lock);
	pthread_mutex_lock(&vm->run_lock);

	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += PAUSE_TIMEOUT_S;
	/* A round that ends (a reboot) starts its threads parked: wait for them. */
	while (vm->state == VM_STATE_RUNNING && (vm->parked < vm->alive || vm->vcpus_exit))
		if (pthread_cond_timedwait(&vm->run_cond, &vm->run_lock, &dl) == ETIMEDOUT)
			break;
	if (vm->state != VM_STATE_RUNNING) {
		vm->pause_wanted = false;
		rc = err_set(err, -ESRCH, "the VM stopped while pausing");
		goto out;
	}
	if (vm->parked < vm->alive || vm->vcpus_exit) {
		vm->pause_wanted = false;
		pthread_cond_broadcast(&vm->run_cond);
		rc = err_set(err, -ETIMEDOUT, "a vCPU did not stop within %d s; still running",
			     PAUSE_TIMEOUT_S);
		goto out;
	}
	/* Every vCPU is parked: now the devices, whose work the vCPUs started. */
	device_list_quiesce(&vm->devs);
	vm->paused = true;
	vm->paused_at_ns = vclock_host_ns();
	vm->state = VM_STATE_PAUSED;
out:
	pthread_mutex_unlock(&vm->run_lock);
	pthread_mutex_unlock(&vm->api_lock);
	if (!rc)
		emit(vm, VM_EVENT_PAUSED, NULL, "%s", "");
	return rc;
}

int vm_resume(struct vm *vm, bool catch_up, struct err *err)
{
	pthread_mutex_lock(&vm->api_lock);
	pthread_mutex_lock(&vm->run_lock);
	int rc = 0;
	int64_t len = 0;
	if (vm->state != VM_STATE_PAUSED) {
		rc = vm->state == VM_STATE_RUNNING
			? err_set(err, -EALREADY, "the VM is not paused")
			: err_set(err, -ESRCH, "the VM is not running (%s)", vm_state_name(vm->state));
		goto out;
	}
	len = vclock_host_ns() - vm->paused_at_ns;
	/* No vCPU runs: nobody reads the clock but under run_lock (vm_query). */
	if (!catch_up) {
		vm->clock.base_ns += len;
		vm->paused_total_ns += len;
	}
	device_list_resume(&vm->devs);
	vm->paused = false;
	vm->pause_wanted = false;
	vm->state = VM_STATE_RUNNING;
	pthread_cond_broadcast(&vm->run_cond);
out:
	pthread_mutex_unlock(&vm->run_lock);
	pthread_mutex_unlock(&vm->api_lock);
	if (!rc)
		emit(vm, VM_EVENT_RESUMED, NULL, "after %lld ms%s", (long long)(len / 1000000),
		     catch_up ? ", clock caught up" : "");
	return rc;
}

int vm_call_locked(struct vm *vm, int (*fn)(struct vm_parts *p, void *ctx), void *ctx)
{
	pthread_mutex_lock(&vm->api_lock);
	struct vm_parts p;
	vm_parts(vm, &p);
	int rc = fn(&p, ctx);
	pthread_mutex_unlock(&vm->api_lock);
	return rc;
}

int vm_call_paused(struct vm *vm, int (*fn)(struct vm_parts *p, void *ctx), void *ctx,
		   struct err *err)
{
	int rc = vm_pause(vm, err);
	bool was_paused = rc == -EALREADY;
	if (rc && !was_paused)
		return rc;
	pthread_mutex_lock(&vm->api_lock);   /* nobody resumes it meanwhile */
	pthread_mutex_lock(&vm->run_lock);
	bool paused = vm->state == VM_STATE_PAUSED;
	pthread_mutex_unlock(&vm->run_lock);
	if (!paused) {
		rc = err_set(err, -EBUSY, "the VM was resumed or stopped meanwhile");
	} else {
		struct vm_parts p;
		vm_parts(vm, &p);
		rc = fn(&p, ctx);
	}
	pthread_mutex_unlock(&vm->api_lock);
	if (paused && !was_paused)
		vm_resume(vm, false, NULL);
	return rc;
}

/* vm_snapshot_take; a fork's (opts->fork_children) memory image into
 * *fork_image (vm_snapshot_write). */
static int snapshot_take(struct vm *vm, const char *dir, const struct vm_snapshot_opts *opts,
			 struct vm_snapshot_info *info, struct vm_fork_image *fork_image,
			 struct err *err)
{
	bool stay_paused = opts->stay_paused;
	/* A hot-plugged disk is recorded by its slot (vm_snapshot.c's
	 * "disk-slots"), but --disks copies only the disks the VM started with. */
	int hrc = opts->with_disks ? vm_disk_slots_check_empty(vm, "snapshot --disks", err) : 0;
	if (hrc)
		return hrc;
	if (vm->cfg.sandboxed && !opts->to_fds)
		return err_set(err, -EPERM, "snapshot: a sandboxed VM (--sandbox) can open no file: "
			       "its client must pass the files in (docs/control.md)");
	if (opts->to_fds && dir[0] != '/')
		return err_set(err, -EINVAL, "snapshot: %s: not an absolute path (passed files are "
			       "recorded by where the client puts them)", dir);
	/* An incremental one's base must have its memory (a fork's directory
	 * gets it after the fork): waited for while the guest runs on. */
	int wrc = opts->incremental && !opts->to_fds ? vm_snapshot_base_wait(vm, err) : 0;
	if (wrc)
		return wrc;
	/* A fork's overlays are made (and synced) while the guest runs on. */
	struct vm_fork_disks *forked = NULL;
	int prc = opts->fork_children ?
		  vm_fork_disks_prepare(vm, dir, opts->fork_children, &forked, err) : 0;
	if (prc)
		return prc;
	int64_t t0 = vclock_host_ns();
	int rc = vm_pause(vm, err);
	bool was_paused = rc == -EALREADY;
	if (rc && !was_paused) {
		vm_fork_disks_free(forked);
		return rc;
	}
	tmark("snapshot: paused");
	/* api_lock: no other client resumes the VM while its state is written. */
	pthread_mutex_lock(&vm->api_lock);
	pthread_mutex_lock(&vm->run_lock);
	bool paused = vm->state == VM_STATE_PAUSED;
	pthread_mutex_unlock(&vm->run_lock);
	if (!paused)
		rc = err_set(err, -EBUSY, "snapshot: the VM was resumed or stopped meanwhile");
	else if ((rc = vm_fork_disks_freeze(vm, forked, err)))
		;   /* err says which disk */
	else if ((rc = vm_snapshot_write(vm, dir, opts, forked, info, fork_image, err)))
		vm_fork_disks_thaw(vm, forked, err);
	vm_fork_disks_free(forked);
	pthread_mutex_unlock(&vm->api_lock);
	if (paused && !was_paused && !stay_paused)
		vm_resume(vm, false, NULL);
	if (info)
		info->pause_ns = vclock_host_ns() - t0;
	return rc;
}

int vm_snapshot_take(struct vm *vm, const char *dir, const struct vm_snapshot_opts *opts,
		     struct vm_snapshot_info *info, struct err *err)
{
	if (opts->fork_children)
		return err_set(err, -EINVAL, "snapshot: a fork's snapshot comes only with its "
			       "children (vm_fork)");
	return snapshot_take(vm, dir, opts, info, NULL, err);
}

int vm_snapshot(struct vm *vm, const char *dir, bool stay_paused,
		struct vm_snapshot_info *info, struct err *err)
{
	struct vm_snapshot_opts o = { .stay_paused = stay_paused };
	return vm_snapshot_take(vm, dir, &o, info, err);
}

int vm_snapshot_incremental(struct vm *vm, const char *dir, bool stay_paused,
			    struct vm_snapshot_info *info, struct err *err)
{
	struct vm_snapshot_opts o = { .stay_paused = stay_paused, .incremental = true };
	return vm_snapshot_take(vm, dir, &o, info, err);
}

bool vm_sandboxed(const struct vm *vm)
{
	return vm->cfg.sandboxed;
}

/* Children would share a disk in a hot-plug slot or a TAP. */
static int fork_slots_check(struct vm *vm, struct err *err)
{
	int rc = vm_disk_slots_check_empty(vm, "fork (the children would share it)", err);
	if (!rc)
		rc = vm_nic_slots_check_empty(vm, "fork (the children would share it)", err);
	for (unsigned i = 0; !rc && i < vm->cfg.nnets; i++)
		if (vm->cfg.nets[i].kind == NET_TAP)
			rc = err_set(err, -EINVAL, "fork: net%u is a TAP (%s): a child could not open "
				     "it while this VM holds it (--net user gives each its own)", i,
				     vm->cfg.nets[i].ifname[0] ? vm->cfg.nets[i].ifname : "tapN");
	return rc;
}

void vm_set_fork_macs(struct vm *vm, uint8_t was[VM_MAX_NETS][6], unsigned n)
{
	memcpy(vm->fork_was_mac, was, sizeof vm->fork_was_mac);
	vm->fork_nmacs = n;
}

unsigned vm_fork_mac_changes(struct vm *vm, uint8_t was[][6], uint8_t now[][6])
{
	unsigned n = vm->cfg.fork_index ? vm->fork_nmacs : 0;
	for (unsigned i = 0; i < n; i++) {
		memcpy(was[i], vm->fork_was_mac[i], 6);
		memcpy(now[i], vm->cfg.nets[i].mac, 6);
	}
	return n;
}

int vm_fork_snapshot(struct vm *vm, const char *dir, int memory_fd, int state_fd,
		     struct err *err)
{
	int rc = fork_slots_check(vm, err);
	if (rc)
		return rc;
	/* A jailed VMM can create no overlay to move onto. */
	for (unsigned i = 0; i < vm->cfg.ndisks; i++) {
		const struct vm_disk *d = &vm->cfg.disks[i];
		if (!d->readonly && !d->ephemeral)
			return err_set(err, -EINVAL, "fork: disk %s is writable, and a sandboxed VM "
				       "(--sandbox) can make no overlay for it (start the VM with "
				       "--ephemeral or the disk ro)", d->path);
	}
	struct vm_snapshot_opts o = { .to_fds = true, .memory_fd = memory_fd,
				      .state_fd = state_fd };
	return vm_snapshot_take(vm, dir, &o, NULL, err);
}

int vm_fork(struct vm *vm, const char *dir, unsigned n, bool running, struct vm_fork_child *out,
	    unsigned *started, struct vm_snapshot_info *info, struct err *err)
{
	*started = 0;
	if (vm->cfg.sandboxed)
		return err_set(err, -EPERM, "fork: not available in a sandboxed VM (--sandbox): "
			       "children are started from files the sandbox's jail cannot reach");
	if (!vm->cfg.fork_children)
		return err_set(err, -ENOTSUP, "fork: this VM was not started by `nimbus vm run`");
	if (n < 1 || n > VM_FORK_MAX)
		return err_set(err, -EINVAL, "fork: %u children: must be 1 to %d", n, VM_FORK_MAX);
	int rc = fork_slots_check(vm, err);
	if (rc)
		return rc;
	struct vm_snapshot_opts o = { .fork_children = n };
	struct vm_fork_image image = { -1, -1, -1 };
	/* Earlier forks' copies wait until these children are up. */
	vm_fork_images_hold(vm->fork_images);
	if ((rc = snapshot_take(vm, dir, &o, info, &image, err))) {
		vm_fork_images_release(vm->fork_images);
		return rc;
	}
	tmark("fork: snapshot taken, VM resumed");
	if (info) {
		struct vm_parts p;
		vm_parts(vm, &p);
		info->guest_mac = vm_fork_guest_mac(&p);
	}
	rc = vm->cfg.fork_children(vm->cfg.fork_ctx, dir, n, running, image.image, image.diff, out,
				   started, err);
	vm_fork_images_release(vm->fork_images);
	tmark("fork: children ready");
	/* The children have the image: dir/memory is written from it now, off
	 * their start-up's path (and the parent's), and the parent gets RAM of
	 * its own again for its next fork. */
	struct err werr = { 0 };
	int wrc = vm_fork_image_after(vm, vm->fork_images, dir, &image, &vm->dev_log, &werr);
	if (wrc && !rc)
		rc = err_set(err, wrc, "%s", werr.msg);
	return rc;
}

static int check_live(struct vm *vm, struct err *err)
{
	pthread_mutex_lock(&vm->run_lock);
	enum vm_state st = vm->state;
	pthread_mutex_unlock(&vm->run_lock);
	if (st == VM_STATE_STOPPED)
		return err_set(err, -ESRCH, "the VM is not running (stopped)");
	return 0;
}

int vm_shutdown(struct vm *vm, unsigned timeout_ms, struct err *err)
{
	int rc = check_live(vm, err);
	if (rc)
		return rc;
	int64_t deadline = vclock_host_ns() + (int64_t)timeout_ms * 1000000;
	if (deadline == 0)
		deadline = 1;
	int64_t cur = atomic_load(&vm->shutdown_deadline_ns);
	if (!cur || deadline < cur)   /* an earlier deadline wins */
		atomic_store(&vm->shutdown_deadline_ns, deadline);
	/* The deadline first: it holds even if the agent never answers. */
	bool agent = false;
	pthread_mutex_lock(&vm->run_lock);
	bool paused = vm->paused;   /* its port takes nothing until resume */
	pthread_mutex_unlock(&vm->run_lock);
	if (vm->cfg.agent && !paused && guest_agent_connected(vm->cfg.agent))
		agent = guest_agent_poweroff(vm->cfg.agent, false, AGENT_POWEROFF_WAIT_MS, NULL) == 0;
	atomic_store(&vm->shutdown_via_agent, agent);
	emit(vm, VM_EVENT_SHUTDOWN_REQUESTED, NULL, "%s; stop in %u ms unless the guest powers off",
	     agent ? "the guest agent took the request" : "no guest agent to ask", timeout_ms);
	kick(vm);
	return 0;
}

bool vm_shutdown_via_agent(struct vm *vm)
{
	return atomic_load(&vm->shutdown_via_agent);
}

struct guest_agent *vm_agent(struct vm *vm)
{
	return vm->cfg.agent;
}

int vm_exec(struct vm *vm, const struct guest_agent_exec *req, struct guest_agent_result *res,
	    struct err *err)
{
	if (!vm->cfg.agent)
		return err_set(err, -ENODEV, "this VM has no guest agent channel (start it with "
			       "--agent)");
	int rc = check_live(vm, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&vm->run_lock);
	bool paused = vm->paused;
	pthread_mutex_unlock(&vm->run_lock);
	if (paused)   /* its port takes nothing until resume: say so rather than time out */
		return err_set(err, -EAGAIN, "the VM is paused (resume it first)");
	return guest_agent_exec(vm->cfg.agent, req, res, err);
}

int vm_exec_input(struct vm *vm, uint64_t id, const void *data, size_t len, bool eof,
		  struct err *err)
{
	if (!vm->cfg.agent)
		return err_set(err, -ENODEV, "this VM has no guest agent channel (start it with "
			       "--agent)");
	return guest_agent_input(vm->cfg.agent, id, data, len, eof, err);
}

int vm_exec_resize(struct vm *vm, uint64_t id, unsigned rows, unsigned cols, struct err *err)
{
	if (!vm->cfg.agent)
		return err_set(err, -ENODEV, "this VM has no guest agent channel (start it with "
			       "--agent)");
	return guest_agent_resize(vm->cfg.agent, id, rows, cols, err);
}

int vm_reboot(struct vm *vm, struct err *err)
{
	int rc = check_live(vm, err);
	if (rc)
		return rc;
	atomic_store(&vm->reboot_requested, true);
	kick(vm);
	return 0;
}

/* "disk2" -> the third disk; *is_net set for "netN". */
static struct virtio_device *limited_device(struct vm *vm, const char *name, bool *is_net,
					    struct err *err)
{
	*is_net = !strncmp(name, "net", 3);
	const char *num = *is_net ? name + 3 : !strncmp(name, "disk", 4) ? name + 4 : NULL;
	char *end;
	unsigned long i = num && *num >= '0' && *num <= '9' ? strtoul(num, &end, 10) : 0;
	struct virtio_device *d = NULL;
	if (num && *num >= '0' && *num <= '9' && !*end && i < 16)
		d = *is_net ? virt_board_net(vm->board, (unsigned)i)
			    : virt_board_disk(vm->board, (unsigned)i);
	if (!d)
		err_set(err, -ENODEV, "no device %s (disk0.. are the --disk devices in order, "
			"net0.. the --net devices)", name);
	return d;
}

int vm_rate_limit_set(struct vm *vm, const char *device, const struct rate_limit *l,
		      struct err *err)
{
	bool is_net;
	struct virtio_device *d = limited_device(vm, device, &is_net, err);
	if (!d)
		return -ENODEV;
	if (is_net)
		virtio_net_set_rate_limit(d, l);
	else
		virtio_blk_set_rate_limit(d, l);
	return 0;
}

int vm_rate_limit_get(struct vm *vm, const char *device, struct rate_limit *out,
		      struct err *err)
{
	bool is_net;
	struct virtio_device *d = limited_device(vm, device, &is_net, err);
	if (!d)
		return -ENODEV;
	if (is_net)
		virtio_net_get_rate_limit(d, out);
	else
		virtio_blk_get_rate_limit(d, out);
	return 0;
}

int vm_balloon_set(struct vm *vm, uint64_t bytes, struct err *err)
{
	struct virtio_device *b = vm_balloon(vm);
	if (!b)
		return err_set(err, -ENODEV, "this VM has no balloon (start it with --balloon)");
	int rc = balloon_set_target(b, bytes);
	if (rc == -ERANGE)
		return err_set(err, rc, "balloon %llu bytes: larger than guest RAM",
			       (unsigned long long)bytes);
	if (rc)
		return err_set(err, rc, "balloon: %s", strerror(-rc));
	return 0;
}

int vm_balloon_stats(struct vm *vm, struct balloon_stats *out, int wait_ms, bool *stale,
		     struct err *err)
{
	struct virtio_device *b = vm_balloon(vm);
	*stale = false;
	if (!b)
		return err_set(err, -ENODEV, "this VM has no balloon (start it with --balloon)");
	pthread_mutex_lock(&vm->run_lock);
	if (vm->paused)
		wait_ms = 0;   /* the guest cannot answer */
	pthread_mutex_unlock(&vm->run_lock);
	int rc = balloon_get_stats(b, out, wait_ms);
	if (rc && rc != -ETIMEDOUT && rc != -ENODEV)
		return err_set(err, rc, "balloon-stats: %s", strerror(-rc));
	*stale = rc != 0 || wait_ms == 0;
	return 0;
}

int vm_add_listener(struct vm *vm, vm_listener_fn *fn, void *ctx)
{
	int id = -ENOSPC;
	pthread_mutex_lock(&vm->listen_lock);
	for (unsigned i = 0; i < sizeof vm->listeners / sizeof vm->listeners[0]; i++)
		if (!vm->listeners[i].fn) {
			vm->listeners[i].fn = fn;
			vm->listeners[i].ctx = ctx;
			id = (int)i;
			break;
		}
	pthread_mutex_unlock(&vm->listen_lock);
	return id;
}

void vm_remove_listener(struct vm *vm, int id)
{
	if (id < 0 || (unsigned)id >= sizeof vm->listeners / sizeof vm->listeners[0])
		return;
	pthread_mutex_lock(&vm->listen_lock);
	vm->listeners[id].fn = NULL;
	vm->listeners[id].ctx = NULL;
	pthread_mutex_unlock(&vm->listen_lock);
}
