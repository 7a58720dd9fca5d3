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
 */
#ifndef NIMBUS_VMM_VM_H
#define NIMBUS_VMM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "vmm/board/virt.h"   /* VM_MAX_CPUS */
#include "vmm/net/opts.h"

struct chardev;
struct vm;

#define VM_MAX_DISKS 6
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
	struct net_opts nets[VM_MAX_NETS];   /* virtio-net devices, eth0 first */
	unsigned nnets;
	bool jit_off;              /* run guest code in the interpreter only */
	uint64_t jit_cache;        /* translated-code cache of the VM, bytes; 0 = default */
	bool balloon;              /* a virtio-balloon device */
	unsigned balloon_flags;    /* VIRTIO_BALLOON_* create flags */
	bool no_reboot;            /* a guest reboot ends vm_run (VM_EXIT_REBOOT), as QEMU -no-reboot */
	enum vm_panic_action {
		VM_PANIC_EXIT,     /* a pvpanic device; a guest panic ends vm_run (VM_EXIT_PANIC) */
		VM_PANIC_NONE,     /* no pvpanic device: the guest's panic= decides (QEMU's tree) */
	} on_panic;
	/* Slots of the other virtio devices (disks carry their own). */
	struct vm_slot net_slot[VM_MAX_NETS], console_slot, rng_slot, balloon_slot;
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
void vm_run(struct vm *vm, struct vm_exit *exit);
/* Thread-safe and async-signal-safe enough for a console thread: asks vm_run to return. */
void vm_request_stop(struct vm *vm);
void vm_destroy(struct vm *vm);

struct virtio_device;
/* The VM's virtio-balloon (balloon.h's host API), or NULL without --balloon. */
struct virtio_device *vm_balloon(struct vm *vm);

#endif
