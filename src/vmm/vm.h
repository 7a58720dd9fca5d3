/*
 * One virtual machine: guest RAM and the bus, the clock, the harts (one host
 * thread each), the board's devices, and the images it boots.  Nothing here
 * is global: a process may hold several VMs.
 *
 * Lifecycle: vm_create() builds and loads everything (errors are reported in
 * a struct err, nothing is left allocated on failure); vm_run() starts the
 * vCPU threads and returns when the guest powers off, fails, or a stop is
 * requested; a guest reboot resets harts and devices and reloads the images
 * inside vm_run().
 *
 * The VM API (what the control socket and the daemon call, from any thread
 * while vm_run() runs): vm_pause/vm_resume, vm_query, vm_request_stop,
 * vm_shutdown, vm_reboot, the balloon, and listeners for the VM's events.
 * Pause is exact: every vCPU parks at an instruction boundary (hart_run
 * returns, nothing is retired until resume), every device finishes its
 * request in flight and holds new work (device.h), and the guest's clock
 * stops with it: on resume it continues from where it stopped, unless
 * catch_up asks it to jump by the pause length.
 */
#ifndef NIMBUS_VMM_VM_H
#define NIMBUS_VMM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "vmm/board/virt.h"   /* VM_MAX_CPUS */
#include "vmm/log.h"
#include "vmm/net/opts.h"
#include "vmm/virtio/rate_limiter.h"

struct chardev;
struct vm;
struct vm_fork_child;


#define VM_MAX_DISKS 6
#define VM_MAX_DISK_SLOTS 8        /* the board's virtio-mmio slots */
#define VM_MAX_NETS 4

/*
 * Where a virtio device sits on the board: a fixed virtio-mmio slot n
 * (0..7 at 0x10001000 + 0x1000*n, PLIC source 1+n; QEMU's
 * bus=virtio-mmio-bus.n), or, when not set, the highest slot no device
 * claimed, in the order the devices are listed (QEMU's order without bus=).
 */
struct vm_slot {
	bool set;
	unsigned n;
};

/* One virtio-blk disk. */
struct block_backend;

struct vm_disk {
	const char *path;
	bool readonly;
	const char *format;        /* "raw" or "qcow2"; NULL = raw, refusing files
				      that look like qcow2 (no silent format guessing) */
	const char *serial;        /* VIRTIO_BLK_T_GET_ID; may be NULL */
	struct vm_slot slot;
	bool confine_backing;      /* backing=confined: a qcow2's backing files must lie in
				      its own directory (for untrusted images) */
	bool ephemeral;            /* the image is opened read-only; guest writes go to a
				      throwaway overlay, gone when the VM ends (QEMU -snapshot) */
	struct rate_limit limit;   /* bw=/ops=: token buckets on its requests */
	/* Set by vm_incoming_finish only: the disk already open, taken by the
	 * device instead of opening path (an --ephemeral disk's throwaway
	 * layer that a --copy-storage stream filled). */
	struct block_backend *backend;
	/* Set by a restore only, while it runs: the disk is a new overlay over
	 * this image, which a fork froze (vm_fork_disks.c), and the snapshot's
	 * identity of the disk is that image's. */
	const char *frozen_base;
};

struct vm_config {
	uint64_t mem_size;         /* bytes of guest RAM at 0x80000000 */
	unsigned ncpus;            /* 1..VM_MAX_CPUS */
	const char *bios;          /* M-mode firmware path; NULL = Debian's OpenSBI
				      fw_dynamic; "none" = start the kernel in M-mode */
	const char *kernel;        /* Image, raw binary or ELF; may be NULL with a bios */
	const char *initrd;        /* may be NULL */
	const char *append;        /* kernel command line; may be NULL */
	struct chardev *console;   /* the console's host side; may be NULL (output dropped) */
	bool virtio_console;       /* console on a virtio-console (hvc0) instead of UART0 */
	bool rng;                  /* a virtio-rng device */
	struct vm_disk disks[VM_MAX_DISKS];
	unsigned ndisks;           /* without slot=, in slot order: the first is vda */
	/* Empty virtio-blk devices after the disks, for hot-plug (vm_hotplug.c,
	 * vm_disk_insert): the guest boots seeing disks of no sectors. */
	unsigned disk_slots;
	/* What hot-plug slot i holds from the start (path NULL: nothing): a VM
	 * restored from (or migrated with) a snapshot taken while a disk was
	 * hot-plugged there gets it back in the same slot (`--slot-disk`).
	 * Opened writable as qcow2, as disk-insert takes it. */
	struct vm_disk slot_disks[VM_MAX_DISK_SLOTS];
	struct net_opts nets[VM_MAX_NETS];   /* virtio-net devices, eth0 first */
	unsigned nnets;
	/* Empty virtio-net devices after the nets, for hot-plug (vm_nic_hotplug.c,
	 * vm_nic_insert): the guest boots seeing NICs with their link down,
	 * each with its MAC (net_slot_mac; has_mac false: net_default_mac of
	 * its index after the nets, a random tail). */
	unsigned net_slots;
	struct net_slot_mac { bool has_mac; uint8_t mac[6]; } net_slot_mac[VM_MAX_NETS];
	/* The TAP (by name; NULL: none) NIC slot i holds from the start: a VM
	 * restored from a snapshot taken with a NIC hot-plugged there gets it
	 * back in the same slot (`--slot-nic`). */
	const char *slot_taps[VM_MAX_NETS];
	bool jit_off;              /* run guest code in the interpreter only */
	bool jit_verify;           /* check every translated block against the interpreter */
	uint64_t jit_cache;        /* translated-code cache of the VM, bytes; 0 = default */
	bool balloon;              /* a virtio-balloon device */
	unsigned balloon_flags;    /* VIRTIO_BALLOON_* create flags */
	bool no_reboot;            /* a guest reboot ends vm_run (VM_EXIT_REBOOT), as QEMU -no-reboot */
	enum vm_panic_action {
		VM_PANIC_EXIT,     /* a pvpanic device; a guest panic ends vm_run (VM_EXIT_PANIC) */
		VM_PANIC_NONE,     /* no pvpanic device: the guest's panic= decides (QEMU's tree) */
	} on_panic;
	struct log_sink log;       /* where device messages go (log.h); zero = stderr.
				      Each is also a VM_EVENT_DEVICE_ERROR event. */
	/* Slots of the other virtio devices (disks carry their own). */
	struct vm_slot net_slot[VM_MAX_NETS], console_slot, rng_slot, balloon_slot;
	/* A snapshot directory to continue from (vm_snapshot) instead of
	 * booting: the same board (CPUs, memory, devices and disks) must be
	 * configured; NULL boots. */
	const char *restore;
	/* A VM received by live migration (vm_migrate.h) instead of booting.
	 * Given without its state yet (state NULL), vm_create builds only what
	 * needs neither the state nor the disks (RAM, the harts and their
	 * translation caches: the slow part), and vm_incoming_finish the rest
	 * once the stream is in, so the guest's downtime does not pay for it. */
	struct vm_incoming *incoming;
	/* With restore: guest RAM from this open file (a fork's memory image,
	 * which the parent passes its children: vm_fork) in place of
	 * restore's memory file, which the parent writes only after starting
	 * them.  The VM keeps a descriptor of its own: the caller closes this
	 * one.  0: none (fd 0 is never the image: it is the child's stdin). */
	int restore_memory_fd;
	/* With restore_memory_fd: the pages the parent wrote since that image
	 * (a memory.diff, passed likewise), copied over it.  0: none. */
	int restore_memory_diff_fd;
	/* vm_run starts with the VM paused (vm_resume runs it). */
	bool start_paused;
	/* With restore: 1 + N for child N of the fork that wrote it (vm run
	 * --fork-child N): a disk the fork froze gets an overlay of its own,
	 * DIR/child-N-diskI.qcow2 (vm_fork_disks.c).  0: not a fork's child. */
	unsigned fork_index;
	/* How vm_fork starts its n children from a snapshot directory, child i
	 * with fork_index 1 + i (the CLI re-executes itself with --restore),
	 * each given the open memory image `image` (restore_memory_fd) and,
	 * unless -1, the diff over it `diff` (restore_memory_diff_fd),
	 * all at once, returning when every one is ready or one failed; *started
	 * of them are in out[].  NULL: this VM cannot fork. */
	int (*fork_children)(void *ctx, const char *dir, unsigned n, bool running, int image,
			     int diff, struct vm_fork_child *out, unsigned *started,
			     struct err *err);
	void *fork_ctx;
	/* Called first thing on each vCPU thread, before it runs guest code (the
	   sandbox installs the vCPU seccomp filter there); NULL = nothing. */
	void (*vcpu_thread_init)(void *ctx);
	/* Called once by vm_run, on its own thread, as soon as the vCPU threads
	 * of the first run are started: what the guest does not need in order to
	 * run (a console's input thread, a signal thread) starts here, after the
	 * guest, so a restore's exec-to-running time does not pay for it.  NULL =
	 * nothing. */
	void (*on_running)(void *ctx);
	void *on_running_ctx;
	/* Jailed (docs/sandbox.md): nothing can be opened nor started any more,
	 * so the control socket refuses snapshot, fork and migrate to unix:. */
	bool sandboxed;
	bool mem_merge;            /* guest RAM MADV_MERGEABLE (KSM), not huge pages */
	/* Guest RAM in a memfd, which a fork hands to its children as it is
	 * instead of copying it (vm run --fork-ready; snapshot.md). */
	bool fork_ready;
	/* bw=/ops= of each --net: one limiter per direction, same settings. */
	struct rate_limit net_limit[VM_MAX_NETS];
	void *vcpu_thread_ctx;
	/* The guest agent channel's host end (guest_agent.h, docs/guest-agent.md),
	 * made by the caller: a virtio-console port named org.nimbus.agent carries
	 * it (agent_slot); vm_exec and vm_shutdown use it.  NULL: no channel. */
	struct guest_agent *agent;
	struct vm_slot agent_slot;
};

/* One child of vm_fork. */
struct vm_fork_child {
	int pid;
	char control[256];         /* its control socket */
	char console[256];         /* where its console goes */
};

/* What a migration stream delivered (vm_migrate_receive). */
struct vm_incoming {
	const char *what;          /* the source, for messages */
	void *ram;                 /* ram_size bytes, an anonymous mapping: vm_create takes
				      it (and sets ram to NULL) */
	bool ram_is_vms;           /* ram is the VM's own guest RAM (vm_migrate_receive_into):
				      nothing to move, never unmapped but with the VM */
	uint64_t ram_size;
	uint8_t *state;            /* the state file's bytes */
	size_t state_len;
	bool storage_copied;       /* the stream carried the disks' contents (migrate
				      --copy-storage): the disks here are other files */
	bool postcopy;             /* no page came yet: they follow the VM (vm_postcopy.h) */
	/* --copy-storage into an --ephemeral disk: the throwaway layer over
	 * the read-only image that the stream was written into, which the VM
	 * takes as that disk (vm_incoming_finish); NULL for the others. */
	struct block_backend *disk_layer[VM_MAX_DISKS];
};

/* Why vm_run() returned. */
enum vm_exit_kind {
	VM_EXIT_POWEROFF,          /* finisher PASS, tohost 1, SBI system reset "shutdown" */
	VM_EXIT_FAILURE,           /* finisher FAIL / tohost failure code: see `code` */
	VM_EXIT_STOPPED,           /* vm_request_stop() */
	VM_EXIT_FATAL,             /* a hart hit an unrecoverable state: see `message` */
	VM_EXIT_PANIC,             /* the guest reported a panic (pvpanic), VM_PANIC_EXIT */
	VM_EXIT_REBOOT,            /* the guest asked to reboot, with no_reboot */
};

struct vm_exit {
	enum vm_exit_kind kind;
	int code;                  /* guest-reported failure code for VM_EXIT_FAILURE */
	char message[256];         /* for VM_EXIT_FATAL and VM_EXIT_FAILURE */
};

int vm_create(const struct vm_config *cfg, struct vm **out, struct err *err);
/* Completes a VM vm_create built ahead for a migration (cfg.incoming with no
 * state then): creates the devices (the disks are opened now, after the
 * source let them go), takes the received RAM and loads the state.  0, or
 * -errno with err set (then vm_destroy it). */
int vm_incoming_finish(struct vm *vm, struct vm_incoming *in, struct err *err);
void vm_run(struct vm *vm, struct vm_exit *exit);
/* Thread-safe and async-signal-safe enough for a console thread: asks vm_run to return. */
void vm_request_stop(struct vm *vm);
/* The same, with the reason vm_run's exit carries (e.g. "migrated to ..."). */
void vm_request_stop_reason(struct vm *vm, const char *why);
void vm_destroy(struct vm *vm);

struct virtio_device;
/* The VM's virtio-balloon (balloon.h's host API), or NULL without --balloon. */
struct virtio_device *vm_balloon(struct vm *vm);

/* ---- the VM API ---------------------------------------------------------- */

enum vm_state {
	VM_STATE_CREATED,          /* vm_run not called yet */
	VM_STATE_RUNNING,
	VM_STATE_PAUSED,
	VM_STATE_STOPPED,          /* vm_run returned: see vm_status.exit */
};
const char *vm_state_name(enum vm_state s);      /* "created", "running", ... */
const char *vm_exit_kind_name(enum vm_exit_kind k); /* "poweroff", "failure", ... */

#define VM_STATUS_MAX_DEVICES 32

struct vm_status {
	enum vm_state state;
	unsigned ncpus;
	uint64_t mem_bytes;
	int64_t uptime_ns;         /* host time since vm_run started (0 before) */
	int64_t paused_ns;         /* of which paused, not caught up */
	uint64_t guest_ticks;      /* the guest's clock (mtime) now */
	uint64_t timebase_hz;
	uint64_t instret[VM_MAX_CPUS];   /* instructions each hart retired (since its reset) */
	unsigned reboots;          /* resets since vm_run started */
	bool shutdown_pending;     /* vm_shutdown asked; the guest has not powered off yet */
	bool has_exit;             /* state STOPPED: why */
	struct vm_exit exit;
	unsigned ndevices;
	char devices[VM_STATUS_MAX_DEVICES][48];   /* the device list's names */
};

/* Any thread; consistent enough for a status display. */
void vm_query(struct vm *vm, struct vm_status *out);

/*
 * Pauses the running VM and returns once it is still (see above).  0, or
 * -EALREADY (already paused: not an error to most callers), -ESRCH (not
 * running: created, stopped, or stopping), -ETIMEDOUT (a vCPU did not stop
 * within 5 s: the VM is left running).
 */
int vm_pause(struct vm *vm, struct err *err);
/* Resumes a paused VM.  catch_up: the guest's clock jumps by the pause
 * length (as if it had run).  0, -EALREADY (not paused), -ESRCH. */
int vm_resume(struct vm *vm, bool catch_up, struct err *err);

/*
 * Asks the guest to power off, and stops the VM (VM_EXIT_STOPPED) if it has
 * not within timeout_ms.  The request reaches the guest through its agent
 * (cfg->agent, when one listens: waits up to a second for it to take the
 * request); the board has no other channel a guest honours (no ACPI power
 * button on virt).  A guest that powers off in the window ends as POWEROFF.
 * 0 or -ESRCH.
 */
int vm_shutdown(struct vm *vm, unsigned timeout_ms, struct err *err);
/* How the last vm_shutdown reached the guest: true when its agent took it. */
bool vm_shutdown_via_agent(struct vm *vm);

/* The VM's guest agent (cfg->agent), or NULL.  For vm_exec's callers that
 * want its state; requests go through the calls below. */
struct guest_agent *vm_agent(struct vm *vm);
struct guest_agent_exec;
struct guest_agent_result;
/*
 * Runs a command in the guest through its agent and waits for it
 * (guest_agent_exec).  0 with *res filled, -ENODEV (no agent channel:
 * start with --agent), -ESRCH (not running), -EAGAIN (paused), or
 * guest_agent_exec's errors.
 */
int vm_exec(struct vm *vm, const struct guest_agent_exec *req, struct guest_agent_result *res,
	    struct err *err);
/* Input (or its end) and a window size for a terminal exec running in the
 * guest (guest_agent_input/resize).  -ENODEV without an agent channel. */
int vm_exec_input(struct vm *vm, uint64_t id, const void *data, size_t len, bool eof,
		  struct err *err);
int vm_exec_resize(struct vm *vm, uint64_t id, unsigned rows, unsigned cols, struct err *err);
/* A host-side reset (QEMU's system_reset): as if the guest rebooted, even
 * with no_reboot.  A paused VM stays paused after it.  0 or -ESRCH. */
int vm_reboot(struct vm *vm, struct err *err);

/*
 * Rate limits at run time.  device: "diskN" or "netN" (N from 0, in command
 * line order: disk0 is vda, net0 eth0).  0, -ENODEV (no such device).
 */
int vm_rate_limit_set(struct vm *vm, const char *device, const struct rate_limit *l,
		      struct err *err);
int vm_rate_limit_get(struct vm *vm, const char *device, struct rate_limit *out,
		      struct err *err);

/*
 * Disk hot-plug (vm_hotplug.c) into the empty slots of cfg->disk_slots.
 * insert opens the qcow2 image open on fd (dup'd: the caller keeps fd),
 * writable, and puts it in the first empty slot, the guest told of its
 * size; *slot is the slot's index (0 = the first hot-plug slot).  serial
 * (1 to 20 bytes) names the disk (GET_ID, /sys/block/vdX/serial); a serial
 * already inserted is -EEXIST.  eject flushes and takes out the disk of
 * that serial (-ENOENT: none).  -ENOSPC: no slot is empty (or none was
 * configured).
 */
int vm_disk_insert(struct vm *vm, int fd, const char *serial, unsigned *slot,
		   struct err *err);
int vm_disk_eject(struct vm *vm, const char *serial, unsigned *slot, struct err *err);
/* How many hot-plug slots the VM has, and how many hold a disk. */
void vm_disk_slots(struct vm *vm, unsigned *total, unsigned *loaded);
/* -EBUSY naming `doing` when a hot-plugged disk is in: what copies the
 * disks the VM started with (snapshot --disks, migrate --copy-storage) or
 * shares them (fork) leaves a hot-plugged one out. */
int vm_disk_slots_check_empty(struct vm *vm, const char *doing, struct err *err);
/* The i-th hot-plug slot's device, or NULL (vm.c). */
struct virtio_device *vm_disk_slot(struct vm *vm, unsigned i);

/*
 * NIC hot-plug (vm_nic_hotplug.c) into the empty NICs of cfg->net_slots.
 * insert takes fd (dup'd: the caller keeps fd), a TAP prepared as
 * net_tap_adopt (tap.h) wants, and puts it behind the first empty NIC,
 * whose link comes up; *slot is the slot's index and mac the MAC the guest
 * has for it (read at boot).  ifname names the TAP in messages.  eject
 * takes out the NIC of that MAC, link down (-ENOENT: none in a slot).
 * -ENOSPC: no slot is empty (or none was configured).
 */
int vm_nic_insert(struct vm *vm, int fd, const char *ifname, unsigned *slot, uint8_t mac[6],
		  struct err *err);
int vm_nic_eject(struct vm *vm, const uint8_t mac[6], unsigned *slot, struct err *err);
/* -EBUSY naming `doing` when a hot-plugged NIC is in (fork: the children
 * would share the TAP). */
int vm_nic_slots_check_empty(struct vm *vm, const char *doing, struct err *err);
/* The i-th hot-plug NIC slot's device, or NULL (vm.c). */
struct virtio_device *vm_nic_slot(struct vm *vm, unsigned i);

/* The balloon: 0, or -ENODEV without one, -ERANGE larger than RAM. */
int vm_balloon_set(struct vm *vm, uint64_t bytes, struct err *err);
struct balloon_stats;
/* wait_ms: how long to wait for a fresh guest report (0 while paused);
 * 0 or -ENODEV; *stale set when the report is not fresh. */
int vm_balloon_stats(struct vm *vm, struct balloon_stats *out, int wait_ms, bool *stale,
		     struct err *err);

enum vm_event_kind {
	VM_EVENT_PAUSED,
	VM_EVENT_RESUMED,
	VM_EVENT_RESET,            /* the guest or vm_reboot reset the machine */
	VM_EVENT_SHUTDOWN_REQUESTED,
	VM_EVENT_GUEST_PANIC,      /* pvpanic: the guest says it panicked */
	VM_EVENT_POWERED_OFF,      /* the guest powered off (the run ends) */
	VM_EVENT_STOPPED,          /* the run ended otherwise: detail says why */
	VM_EVENT_DEVICE_ERROR,     /* a device logged a problem: source, detail */
	VM_EVENT_MIGRATION,        /* a live migration's progress: mig (vm_migrate.h) */
};
const char *vm_event_name(enum vm_event_kind k);  /* "paused", "guest-panic", ... */

struct vm_event {
	enum vm_event_kind kind;
	int64_t time_ns;           /* host CLOCK_REALTIME */
	char source[48];           /* the device, for DEVICE_ERROR; else "" */
	char detail[256];
	/* VM_EVENT_MIGRATION: after the first pass, each pre-copy round and the
	 * paused round ("stage": "first-pass", "round", "stop-copy"). */
	struct vm_migration_progress {
		const char *stage;
		unsigned round;
		uint64_t pages_sent;       /* so far, pages sent more than once included */
		uint64_t bytes_sent;
		uint64_t pages_left;       /* dirty now: what the next round would send */
		double dirty_pages_per_s;  /* written since the last round, per second */
		double expected_downtime_ms;   /* pages_left at the rate measured so far */
	} mig;
};

/* Tells the VM's listeners ev (time_ns is filled in here).  For the
 * VM's own parts, such as a migration reporting its progress. */
void vm_publish_event(struct vm *vm, struct vm_event *ev);

/*
 * Listeners are called on whichever thread the event happens (a vCPU, a
 * device's I/O thread, the monitor, an API caller), under the VM's listener
 * lock: they must not block and must not call back into the VM.  Returns
 * an id >= 0, or -ENOSPC (at most 8).
 */
typedef void vm_listener_fn(void *ctx, const struct vm_event *ev);
int vm_add_listener(struct vm *vm, vm_listener_fn *fn, void *ctx);
/* After it returns the listener is not running and will not be called. */
void vm_remove_listener(struct vm *vm, int id);

/* ---- live fork -------------------------------------------------------------- */

/* A fork child's NICs (vm_fork_nics.c): how many changed MAC, the parent's
 * MAC of each into was[i] and the child's into now[i] (0 for a VM that is
 * not a fork's child, or restored from a snapshot that did not record
 * them). */
unsigned vm_fork_mac_changes(struct vm *vm, uint8_t was[][6], uint8_t now[][6]);

/* Whether guest RAM in a file a fork can hand over gets huge pages here
 * (vm_fork_image.c: a private tmpfs nimbus can mount, or shmem_enabled),
 * so that `vm run --fork-ready` costs a guest nothing: its default. */
bool vm_fork_ready_suits_host(void);

#define VM_FORK_MAX 16

/*
 * Clones the running VM into n children (1..VM_FORK_MAX), each its own
 * process started (paused, unless running) from one snapshot in dir (their RAM a private
 * mapping of its memory file, so unchanged pages are shared through the page
 * cache and each child pays only for what it writes).  The VM itself runs on
 * (it is paused only for the snapshot).  A writable disk is frozen: the VM
 * goes on over a new qcow2 overlay on its image, and each child gets one
 * of its own (vm_fork_disks.c).  0, or -errno with err set; children
 * started before a failure keep running (out[0..*started)).
 */
/* cfg.sandboxed: the VMM runs jailed. */
bool vm_sandboxed(const struct vm *vm);
/* What vm_fork does up to starting the children, into two files the caller
 * opened (a sandboxed VMM can open none nor start a process: its control
 * client starts the children, docs/control.md): refuses writable disks,
 * then a snapshot into memory_fd and state_fd (vm_snapshot_opts.to_fds). */
int vm_fork_snapshot(struct vm *vm, const char *dir, int memory_fd, int state_fd,
		     struct err *err);
struct vm_snapshot_info;
/* running: the children run at once (else they start paused).  info (may be
 * NULL): the snapshot's, pause_ns how long the VM stood still. */
int vm_fork(struct vm *vm, const char *dir, unsigned n, bool running, struct vm_fork_child *out,
	    unsigned *started, struct vm_snapshot_info *info, struct err *err);

/* ---- snapshots (vm_snapshot.c, docs/snapshot.md) ------------------------ */

struct vm_snapshot_info {
	uint64_t state_bytes;       /* of DIR/state */
	uint64_t mem_bytes_written; /* data written to DIR/memory (zero pages are holes),
				       or to DIR/memory.diff */
	bool incremental;
	int64_t pause_ns;           /* how long the guest stood still for it */
	uint64_t disk_bytes_written; /* with_disks: data written to DIR/disk0... (zeroes are holes) */
	unsigned disks;             /* with_disks: how many disk files were written */
	/* A fork of a VM with --net devices: what the children's guests use
	 * (vm_fork_nics.c): "moved" (the clone notice moves them onto the
	 * child's MACs, through the agent) or "kept" (no agent: the parent's
	 * MAC); NULL for no NIC. */
	const char *guest_mac;
};

struct vm_snapshot_opts {
	bool stay_paused;           /* leave the VM paused after it */
	bool incremental;           /* as vm_snapshot_incremental */
	/* Also the disks' contents, as the guest sees them, into DIR/disk0,
	 * DIR/disk1, ... (raw, sparse), so a restore needs none of the VM's
	 * images (docs/snapshot.md, "Disks in the snapshot"). */
	bool with_disks;
	/* Write guest RAM and the state into these open files instead of
	 * dir/memory and dir/state (a sandboxed VMM can open no file: the
	 * control client passes them, docs/control.md), truncating them
	 * first; nothing is created or renamed, the caller commits them
	 * (memory_fd as dir/memory.diff for an incremental one).  With disks,
	 * disk i goes into disk_fds[i] (dir/diskI): at least as many as the VM
	 * has disks; those beyond are left alone.  dir, absolute, is then only
	 * recorded: as the base of the next incremental snapshot. */
	bool to_fds;
	int memory_fd, state_fd;
	const int *disk_fds;
	unsigned ndisk_fds;
	/* A fork's snapshot for this many children (vm_fork): the writable
	 * disks are frozen first (vm_fork_disks.c).  0: not a fork. */
	unsigned fork_children;
};

/* vm_snapshot and vm_snapshot_incremental with every option. */
int vm_snapshot_take(struct vm *vm, const char *dir, const struct vm_snapshot_opts *opts,
		     struct vm_snapshot_info *info, struct err *err);

/*
 * Writes the whole VM to directory dir (created if missing, mode 0700):
 * DIR/state (harts, devices, disk identities) and DIR/memory (guest RAM,
 * sparse).  A running VM is paused for it, and resumed after unless
 * stay_paused; a paused one stays paused.  Existing files in dir are
 * replaced atomically (a crash leaves the old snapshot or the new one).
 * 0, or -ESRCH (not running) / -errno with err set; the VM keeps running
 * (or stays paused) on failure.
 */
int vm_snapshot(struct vm *vm, const char *dir, bool stay_paused,
		struct vm_snapshot_info *info, struct err *err);
/*
 * The same, incremental: DIR/memory.diff holds only the pages written since
 * the VM's last snapshot (or the one it was restored from), which becomes
 * DIR's base (restore needs it in place).  -ENOENT with err set when there
 * is no such snapshot to build on.
 */
int vm_snapshot_incremental(struct vm *vm, const char *dir, bool stay_paused,
			    struct vm_snapshot_info *info, struct err *err);

#endif
