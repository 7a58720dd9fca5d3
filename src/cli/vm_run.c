/*
 * `nimbus vm run`: boot one VM with its serial console on this terminal and
 * wait for it to end.  The exit status is the guest's: 0 after poweroff, the
 * failure code the guest reported through the test finisher or `tohost`,
 * 1 when the VM hit a fatal error, 2 for bad usage or input.
 */
#include "cli/cli.h"
#include "lib/err.h"
#include "lib/size.h"
#include "lib/tmark.h"
#include "vmm/control.h"
#include "vmm/sandbox/sandbox.h"
#include "vmm/stdio_console.h"
#include "vmm/guest_agent.h"
#include "vmm/vm_clone_notice.h"
#include "vmm/vm_cgroup.h"
#include "vmm/bus.h"
#include "vmm/vm.h"
#include "vmm/vm_args.h"
#include "vmm/vm_migrate.h"
#include "vmm/vm_postcopy.h"
#include "cli/vm_fork_child.h"
#include "vmm/virtio/balloon.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MEM (256ull << 20)
#define MIN_MEM (16ull << 20)
#define DEFAULT_APPEND "console=ttyS0"
/* The VMM's own memory beside guest RAM and the JIT cache, for the default
   --mem-limit: threads, device queues, slirp, images kept for reboots. */
#define VMM_OVERHEAD (64ull << 20)
#define DEFAULT_JIT_CACHE (64ull << 20)

static const char usage[] =
	"Usage: nimbus vm run [OPTIONS]\n"
	"\n"
	"Boot a RISC-V virtual machine (compatible with QEMU's `virt` board) with\n"
	"its serial console on this terminal.  Without --kernel and --bios, boots\n"
	"the default guest built by guest/build: its root filesystem is the first\n"
	"--disk, else its own persistent root disk, and it has user-mode networking.\n"
	"C-a x quits, C-a h helps.\n"
	"\n"
	"Options:\n"
	"  --kernel FILE     kernel to boot: a RISC-V Linux Image, an ELF or a raw binary\n"
	"  --initrd FILE     initial ramdisk for the kernel\n"
	"  --append STRING   kernel command line (default for the default guest: \"" DEFAULT_APPEND "\")\n"
	"  --bios PATH|none  M-mode firmware, an ELF or raw binary loaded at 0x80000000\n"
	"                    (default: Debian's OpenSBI fw_dynamic); `none` starts the\n"
	"                    kernel itself in M-mode at 0x80000000\n"
	"  -m, --mem SIZE    guest RAM, e.g. 256M, 1G; a bare number is MiB (default 256M)\n"
	"  --fork-ready[=yes|no]  guest RAM in a file that a `fork` hands to its\n"
	"                    children without copying it (a fork of a 256 MiB guest in\n"
	"                    ~5 ms, not ~13): a private tmpfs's with huge pages (as\n"
	"                    root), else a memfd; default: yes where that file gets huge\n"
	"                    pages (the private tmpfs, or shmem_enabled), else no: there,\n"
	"                    RAM in a memfd makes memory-bound guests ~15% slower\n"
	"  --mem-merge       offer guest RAM to the kernel's same-page merging (KSM):\n"
	"                    identical pages of many guests are kept once (needs\n"
	"                    /sys/kernel/mm/ksm/run = 1; no huge pages then)\n"
	"  -c, --cpus N      number of vCPUs, 1 to 8 (default 1)\n"
	"  --ephemeral       nothing the guest writes lasts: the default guest boots from\n"
	"                    its initramfs only, without its persistent root disk\n"
	"                    (~/.local/share/nimbus/default-root.img), and every --disk\n"
	"                    is opened read-only under a throwaway copy-on-write layer\n"
	"                    (writes go to an unlinked file in $TMPDIR or /var/tmp and\n"
	"                    are gone when the VM ends, like QEMU's -snapshot)\n"
	"  --disk PATH[,ro][,format=raw|qcow2][,serial=ID][,slot=N][,backing=confined]\n"
	"       [,bw=RATE[:BURST]][,ops=RATE[:BURST]]\n"
	"                    a virtio-blk disk; repeat for more (the first is vda).\n"
	"                    qcow2 images must be named as such with format=qcow2;\n"
	"                    backing=confined refuses backing files outside the image's\n"
	"                    own directory (for images you did not make)\n"
	"  --disk-slots N    N empty virtio-blk disks after the --disks (0 to 8), for\n"
	"                    hot-plug: the control verb disk-insert (docs/control.md)\n"
	"                    puts a qcow2 image into the first empty one while the\n"
	"                    guest runs (nimbusd does this on `volume attach`), and the\n"
	"                    guest sees its size at once (virtio-mmio announces no new\n"
	"                    devices, so the devices must be there at boot); snapshots\n"
	"                    and migration are refused while one holds a disk\n"
	"  --slot-disk N:PATH[,serial=ID]\n"
	"                    hot-plug slot N (from 0) holds the qcow2 image PATH from\n"
	"                    the start, as if disk-insert had put it there: how a VM\n"
	"                    snapshotted (or migrated) with a hot-plugged disk gets it\n"
	"                    back in the same slot (the snapshot records the slot's\n"
	"                    serial and image, and a restore checks them)\n"
	"  --slot-nic N:IFNAME\n"
	"                    hot-plug NIC slot N (from 0) holds the TAP IFNAME from\n"
	"                    the start, as if nic-insert had put it there: how a VM\n"
	"                    snapshotted with a hot-plugged NIC gets it back (the\n"
	"                    snapshot records which slots hold one, a restore checks)\n"
	"  --net-slots N[,mac=MAC]\n"
	"                    N empty virtio-net NICs after the --nets (0 to 4), link\n"
	"                    down, for hot-plug: the control verb nic-insert\n"
	"                    (docs/control.md) puts a TAP behind the first empty one\n"
	"                    while the guest runs and its link comes up (nimbusd does\n"
	"                    this on `network attach`).  MAC: the first slot's (the\n"
	"                    next count up from it); default 52:54:00 and a random\n"
	"                    tail.  Snapshots and migration are refused while one\n"
	"                    holds a TAP\n"
	"  --console uart|virtio[,slot=N]\n"
	"                    where the terminal is attached: UART0 (ttyS0, default) or\n"
	"                    a virtio-console (hvc0)\n"
	"  --no-rng          no virtio-rng entropy device (default: one is present)\n"
	"  --rng slot=N|none the virtio-rng device in slot N, or none (= --no-rng)\n"
	"  --net user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,mac=MAC][,slot=N]\n"
	"  --net tap[,ifname=NAME][,mac=MAC][,slot=N]\n"
	"                    a virtio-net device: user-mode NAT (DHCP gives 10.0.2.15,\n"
	"                    the host is 10.0.2.2) or a TAP interface; repeatable.\n"
	"  bw=RATE[:BURST], ops=RATE[:BURST]\n"
	"                    on --disk and --net: token-bucket limits in bytes/s (10M)\n"
	"                    and requests (frames)/s, burst default a tenth of a second\n"
	"                    (docs/rate-limit.md); --net limits each direction; change\n"
	"                    them at run time with `nimbus vm control SOCK rate-limit`\n"
	"                    The default guest gets `--net user` unless `--net none`\n"
	"  slot=N            on any virtio device: put it in virtio-mmio slot N (0-7,\n"
	"                    at 0x10001000 + N*0x1000, like QEMU's bus=virtio-mmio-bus.N);\n"
	"                    without it devices fill the free slots from 7 down\n"
	"  --balloon[=deflate-on-oom][,no-reporting][,slot=N]\n"
	"                    a virtio-balloon device: memory the host can take back\n"
	"                    (`nimbus vm control`), and free pages the guest reports\n"
	"                    returned to the host unless no-reporting\n"
	"  --agent[=slot=N]  a guest agent channel: a virtio-console port named\n"
	"                    org.nimbus.agent, which the default guest's nimbus-agent\n"
	"                    serves: `nimbus vm control SOCK exec -- CMD`, and a\n"
	"                    `shutdown` the guest hears (docs/guest-agent.md)\n"
	"  --no-reboot       a guest reboot ends nimbus (status 0) instead, as QEMU's\n"
	"                    -no-reboot: with panic=N a panicking Linux reboots, so this\n"
	"                    also ends an unattended VM whose kernel panicked\n"
	"  --on-panic=exit|none\n"
	"                    exit (default): the board has a pvpanic device\n"
	"                    (qemu,pvpanic-mmio at 0x102000) and a guest kernel panic,\n"
	"                    even with panic=0, ends nimbus with status 1 and a message;\n"
	"                    none: no such device (QEMU's device tree), the guest's\n"
	"                    panic= decides\n"
	"  --control PATH    serve the control protocol on this Unix socket (status,\n"
	"                    pause, resume, stop, shutdown, reboot, balloon, snapshot,\n"
	"                    migrate, fork, events:\n"
	"                    `nimbus vm control`, docs/control.md); owner only; a stale\n"
	"                    socket a killed VM left is replaced, a live one refused\n"
	"  --jit on|off|verify\n"
	"                    translate guest code to host code (default on); off: the\n"
	"                    interpreter only (slower; the reference); verify: run\n"
	"                    each translated block again in the interpreter, compare,\n"
	"                    and stop at the first divergence (slow; needs --cpus 1)\n"
	"  --jit-cache SIZE  translated-code cache of the VM, shared by its vCPUs\n"
	"                    (default 64M; 1M to 1G)\n"
	"  --restore DIR     continue the VM saved in DIR (`nimbus vm control SOCKET\n"
	"                    snapshot DIR`) instead of booting: give the options it was\n"
	"                    started with (CPUs, memory, disks, devices); a snapshot\n"
	"                    that does not match them, or whose disks changed since, is\n"
	"                    refused (docs/snapshot.md)\n"
	"  --fork-child N    with --restore of a `fork` verb's snapshot: run as its\n"
	"                    child N (0 to 15; the fork passes it), whose writable\n"
	"                    disks are new overlays DIR/child-N-diskI.qcow2 over the\n"
	"                    images the fork froze\n"
	"  --fork-memory-fd FD  with --fork-child: guest RAM from the fork's memory\n"
	"                    image open on FD (the fork passes it), not DIR/memory\n"
	"  --fork-memory-diff-fd FD  with --fork-memory-fd: pages to copy over the\n"
	"                    image (a memory.diff open on FD; the fork passes it)\n"
	"  --incoming URI    wait for a VM sent by `nimbus vm control SOCKET migrate URI`\n"
	"                    (URI: unix:PATH or tcp:[HOST]:PORT) and run it instead of\n"
	"                    booting; give the options the source was started with\n"
	"  --paused          start paused (`nimbus vm control SOCKET resume` runs it);\n"
	"                    the children of the `fork` verb start so\n"
	"  --sandbox         run the VMM jailed (docs/sandbox.md): new PID, mount, IPC\n"
	"                    and UTS namespaces (and network, without --net devices),\n"
	"                    a read-only root holding only its images, an unprivileged\n"
	"                    uid/gid, no capabilities, and a seccomp allow-list per\n"
	"                    thread kind; a forbidden system call kills the VMM.  Root only\n"
	"  --sandbox-uid N, --sandbox-gid N\n"
	"                    the sandbox's user and group (default: a fresh id,\n"
	"                    2000000000 + the launcher's PID); not 0\n"
	"  --cpu-weight N    the VM's CPU share against other cgroups, 1 to 10000\n"
	"                    (default 100; cgroup v2 cpu.weight, v1 cpu.shares N*1024/100)\n"
	"  --cpu-max CPUS|QUOTA/PERIOD|max\n"
	"                    a hard CPU cap: 0.5 = half a CPU, 2 = two; or microseconds\n"
	"                    of CPU per period (50000/100000), as cgroup v2's cpu.max\n"
	"  --mem-limit SIZE|none\n"
	"                    memory limit of the whole VMM process; with any cgroup option\n"
	"                    the default is guest RAM + JIT cache + 64M\n"
	"  --io-weight N     block I/O share, 1 to 10000 (default 100; io.weight,\n"
	"                    v1 blkio.weight N/10); needs an I/O scheduler with weights\n"
	"                    Any of these puts the VMM in its own cgroup, below the\n"
	"                    VMs' parent group (docs/vm-cgroup.md)\n"
	"  --cgroup-parent PATH|caller\n"
	"                    the VMs' parent group, from each hierarchy's root (default\n"
	"                    " VM_CGROUP_PARENT ", made on first use); caller: below the\n"
	"                    caller's own group.  The memory group of a v1 or hybrid\n"
	"                    host stays below the caller's\n"
	"  --cgroup-parent-weight N\n"
	"                    the parent's CPU and I/O weight against the host's other\n"
	"                    work, 1 to 10000 (default 1000, written when the parent is\n"
	"                    made; given, it is written to an existing parent too)\n"
	"  -h, --help        show this help\n"
	"\n"
	"Exit status: 0 when the guest powers off (or reboots, with --no-reboot); the\n"
	"guest's failure code when it reports one (SiFive test finisher or `tohost`);\n"
	"1 on a fatal VM error or a guest panic; 2 for bad usage or input.\n";

struct run_state {
	struct vm *vm;
	atomic_int signal_seen;   /* the signal that stopped the VM, or 0 */
	atomic_int user_quit;     /* C-a x */
	sigset_t signals;
};

static void quit_from_console(void *ctx)
{
	struct run_state *st = ctx;
	atomic_store(&st->user_quit, 1);
	vm_request_stop(st->vm);
}

/* Turns SIGINT/SIGTERM/SIGHUP into a clean stop instead of a dead terminal. */
static void *signal_thread(void *arg)
{
	struct run_state *st = arg;
	int sig;
	if (sigwait(&st->signals, &sig) == 0 && sig != SIGUSR1) {
		atomic_store(&st->signal_seen, sig);
		vm_request_stop(st->vm);
	}
	return NULL;
}

static uint64_t host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
}

/* A missing or unreadable file is a usage error we can name before booting. */
static int check_file(const char *flag, const char *path)
{
	struct stat sb;
	if (stat(path, &sb) < 0) {
		cli_error("%s %s: %s", flag, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode) && !(S_ISBLK(sb.st_mode) && !strcmp(flag, "--disk"))) {
		cli_error("%s %s: not a regular file", flag, path);
		return -1;
	}
	if (access(path, R_OK) < 0) {
		cli_error("%s %s: %s", flag, path, strerror(errno));
		return -1;
	}
	return 0;
}

static int parse_jit_cache(const char *s, uint64_t *out)
{
	int rc = parse_size(s, 1ull << 20, out);
	if (rc < 0 || *out < (1ull << 20) || *out > (1ull << 30)) {
		cli_error("--jit-cache %s: must be a size from 1M to 1G", s);
		return -1;
	}
	return 0;
}

static int parse_mem(const char *s, uint64_t *out)
{
	char have[32], need[32];
	int rc = parse_size(s, 1ull << 20, out);
	if (rc == -ERANGE) {
		cli_error("--mem %s: too large", s);
		return -1;
	}
	if (rc < 0) {
		cli_error("--mem %s: not a size (examples: 256M, 1G, 512)", s);
		return -1;
	}
	if (*out < MIN_MEM) {
		cli_error("--mem %s: at least %s are needed", s, format_size(MIN_MEM, need, sizeof need));
		return -1;
	}
	if (*out & 0xfff) {
		cli_error("--mem %s: not a multiple of 4 KiB", s);
		return -1;
	}
	uint64_t host = host_memory();
	if (*out > host) {
		cli_error("--mem %s: larger than host memory (%s)", s, format_size(host, have, sizeof have));
		return -1;
	}
	return 0;
}

static int parse_cpus(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || end == s || *end) {
		cli_error("--cpus %s: not a number", s);
		return -1;
	}
	if (n < 1 || n > VM_MAX_CPUS) {
		cli_error("--cpus %s: must be between 1 and %d", s, VM_MAX_CPUS);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

static int parse_weight(const char *flag, const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 10000) {
		cli_error("%s %s: must be a number from 1 to 10000", flag, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int parse_sandbox_id(const char *flag, const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > 4294967294ull) {
		cli_error("%s %s: not a user or group id", flag, s);
		return -1;
	}
	if (v == 0) {
		cli_error("%s 0: the sandbox needs an unprivileged id", flag);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/*
 * The files the jail shows (each at its own absolute path) and the socket
 * the launcher removes afterwards.  0, or 2 after reporting a bad path.
 */
static int sandbox_prepare(struct sandbox *sb, const struct vm_config *cfg, bool bios_none,
			   const char *control_path, char (*buf)[PATH_MAX])
{
	const char *files[3 + VM_MAX_DISKS];
	bool rw[3 + VM_MAX_DISKS] = { 0 };
	unsigned n = 0;
	if (cfg->bios && !bios_none)
		files[n++] = cfg->bios;
	if (cfg->kernel)
		files[n++] = cfg->kernel;
	if (cfg->initrd)
		files[n++] = cfg->initrd;
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		rw[n] = !cfg->disks[i].readonly && !cfg->disks[i].ephemeral;
		files[n++] = cfg->disks[i].path;
	}
	struct err e = { 0 };
	for (unsigned i = 0; i < n; i++) {
		if (!realpath(files[i], buf[i])) {
			cli_error("--sandbox: %s: %s", files[i], strerror(errno));
			return 2;
		}
		if (sandbox_add_path(sb, buf[i], rw[i], &e) < 0) {
			cli_error("%s", e.msg);
			return 2;
		}
	}
	sb->new_net = cfg->nnets == 0;
	sb->unlink_after = control_path;
	return 0;
}

/* Fills in the default guest's kernel and initrd; -1 (reported) if absent. */
/* What the default guest gets unless told otherwise. */
struct defaults {
	bool ephemeral;            /* --ephemeral: no default root disk */
	bool no_net;               /* --net none */
	char disk[PATH_MAX];
};

static int use_default_guest(struct vm_config *cfg, struct defaults *d, char *kernel,
			     char *initrd, size_t len)
{
	char dir[PATH_MAX];
	cli_default_guest_dir(dir, sizeof dir);
	int kn = snprintf(kernel, len, "%s/Image", dir);
	int in = snprintf(initrd, len, "%s/initramfs.cpio.gz", dir);
	if (kn < 0 || (size_t)kn >= len || in < 0 || (size_t)in >= len ||
	    access(kernel, R_OK) < 0 || access(initrd, R_OK) < 0) {
		cli_error("no default guest in %s: build it with `guest/build` "
			  "(or pass --kernel)", dir);
		return -1;
	}
	cfg->kernel = kernel;
	cfg->initrd = initrd;
	if (!cfg->ndisks && !d->ephemeral) {
		if (!cli_default_root_disk(dir, d->disk, sizeof d->disk))
			return -1;
		cfg->disks[cfg->ndisks++] = (struct vm_disk){ .path = d->disk };
	}
	if (!cfg->nnets && !d->no_net) {
		struct err e = { 0 };
		if (net_opts_parse("user", &cfg->nets[cfg->nnets], &e) < 0) {
			cli_error("%s", e.msg);
			return -1;
		}
		cfg->nnets++;
	}
	if (!cfg->append)
		cfg->append = cfg->virtio_console
			? (cfg->ndisks ? "console=hvc0 root=/dev/vda" : "console=hvc0")
			: (cfg->ndisks ? DEFAULT_APPEND " root=/dev/vda" : DEFAULT_APPEND);
	return 0;
}

static int exit_status(const struct vm_exit *ex, const struct run_state *st)
{
	switch (ex->kind) {
	case VM_EXIT_POWEROFF:
		return 0;
	case VM_EXIT_FAILURE: {
		int code = ex->code & 0xff ? ex->code & 0xff : 1;
		cli_error("guest reported failure %d%s%s", ex->code,
			  ex->message[0] ? ": " : "", ex->message);
		return code;
	}
	case VM_EXIT_FATAL:
		cli_error("%s", ex->message[0] ? ex->message : "fatal VM error");
		return 1;
	case VM_EXIT_PANIC:
		cli_error("%s; stopped (--on-panic=exit)", ex->message);
		return 1;
	case VM_EXIT_REBOOT:
		cli_error("guest asked to reboot; stopped (--no-reboot)");
		return 0;
	case VM_EXIT_STOPPED:
		if (atomic_load(&st->user_quit)) {
			cli_error("stopped (C-a x)");
			return 0;
		}
		if (atomic_load(&st->signal_seen)) {
			int sig = atomic_load(&st->signal_seen);
			cli_error("stopped by signal %s", strsignal(sig));
			return 128 + sig;
		}
		if (ex->message[0])   /* e.g. a shutdown the guest did not honour in time */
			cli_error("stopped: %s", ex->message);
		return 0;
	}
	return 1;
}

/* The threads a VM's process runs beside its vCPUs (vm_config.on_running). */
struct helpers {
	struct run_state *st;
	struct stdio_console *con;
	pthread_t sig_thread;
	bool sig_thread_ok;
};

/* Started once the guest runs: signals stay blocked, so pending until then,
 * and the console's output does not need its input thread. */
static void start_helpers(void *ctx)
{
	struct helpers *h = ctx;
	h->sig_thread_ok = pthread_create(&h->sig_thread, NULL, signal_thread, h->st) == 0;
	if (stdio_console_start(h->con) < 0)
		cli_error("console input unavailable; the guest runs without it");
}

/* Builds the VM, serves it until it ends; the CLI's exit status. */
static int boot_and_run(struct vm_config *cfg, const char *control_path, const char *incoming_uri,
			struct sandbox *sb)
{
	struct run_state st = { 0 };
	sigemptyset(&st.signals);
	sigaddset(&st.signals, SIGINT);
	sigaddset(&st.signals, SIGTERM);
	sigaddset(&st.signals, SIGHUP);
	sigaddset(&st.signals, SIGUSR1);   /* only to end the signal thread */
	/* Block before any thread starts so every thread inherits the mask. */
	pthread_sigmask(SIG_BLOCK, &st.signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct stdio_console *con = stdio_console_new(STDIN_FILENO, STDOUT_FILENO,
						      quit_from_console, &st);
	if (!con) {
		cli_error("cannot set up the console: %s", strerror(errno));
		return 1;
	}
	cfg->console = stdio_console_chardev(con);

	struct err err = { 0 };
	struct vm_incoming incoming = { 0 };
	struct mig_postcopy *postcopy = NULL;
	int mconn = -1;
	if (incoming_uri && cfg->restore) {
		stdio_console_free(con);
		cli_error("--incoming and --restore: pick one");
		return 2;
	}
	if (incoming_uri)
		cfg->incoming = &incoming;   /* no state yet: the VM is built ahead */
	struct helpers helpers = { .st = &st, .con = con };
	cfg->on_running = start_helpers;
	cfg->on_running_ctx = &helpers;
	tmark("vm_create");
	int crc = vm_create(cfg, &st.vm, &err);
	tmark("vm_create done");
	if (cfg->restore_memory_fd > 0) {   /* the VM keeps a descriptor of its own */
		close(cfg->restore_memory_fd);
		cfg->restore_memory_fd = 0;
	}
	if (cfg->restore_memory_diff_fd > 0) {   /* copied in: needed no more */
		close(cfg->restore_memory_diff_fd);
		cfg->restore_memory_diff_fd = 0;
	}
	if (incoming_uri && crc == 0) {
		/* Listening only now: options this VM cannot take fail before a
		 * source connects.  The state arrives, then the rest is built
		 * while the source's guest stands still. */
		if (vm_migrate_receive_into(st.vm, incoming_uri, &incoming, &mconn, &err) < 0) {
			vm_migrate_answer(mconn, -1, err.msg, &incoming);
			vm_destroy(st.vm);
			stdio_console_free(con);
			cli_error("%s", err.msg);
			return 1;
		}
		/* Post-copy: the pages are fetched as they are touched, from the
		 * moment the VM is built (devices read rings as they load). */
		if (incoming.postcopy &&
		    mig_postcopy_target_start(st.vm, mconn, incoming_uri, &postcopy, &err) < 0) {
			vm_migrate_answer(mconn, -1, err.msg, &incoming);
			vm_destroy(st.vm);
			stdio_console_free(con);
			cli_error("%s", err.msg);
			return 1;
		}
		crc = vm_incoming_finish(st.vm, &incoming, &err);
		if (postcopy) {
			if (mig_postcopy_answer(postcopy, crc, err.msg) < 0 && crc == 0)
				crc = err_set(&err, -ECONNRESET, "%s: post-copy: the source went away "
					      "before the VM ran", incoming_uri);
			vm_migrate_answer(-1, crc, err.msg, &incoming);   /* frees; postcopy holds mconn */
		}
		if (crc < 0) {
			mig_postcopy_target_end(postcopy);
			postcopy = NULL;
			vm_destroy(st.vm);
			st.vm = NULL;
		}
		if (!postcopy && !incoming.postcopy)
			vm_migrate_answer(mconn, crc, err.msg, &incoming);
	}
	if (crc < 0) {
		stdio_console_free(con);
		cli_error("%s", err.msg);
		/* Bad images are the user's input; anything else is ours. */
		return err.code == -ENOMEM || err.code == -EAGAIN ? 1 : 2;
	}

	struct vm_control *control = NULL;
	if (control_path && vm_control_start(st.vm, control_path, &control, &err) < 0) {
		vm_destroy(st.vm);
		stdio_console_free(con);
		cli_error("%s", err.msg);
		return 2;
	}

	/* Everything the VM needs is open: lock the door behind us. */
	if (sb && sandbox_enter(sb, &err) < 0) {
		vm_control_stop(control);
		vm_destroy(st.vm);
		stdio_console_free(con);
		cli_error("%s", err.msg);
		return 1;
	}

	/* A restored VM (a fork's child too) is a copy: its guest is told so
	 * once it runs (vm_clone_notice.h). */
	struct vm_clone_notice *notice = NULL;
	if (cfg->restore && cfg->agent && vm_clone_notice_start(st.vm, &notice, &err) < 0)
		cli_error("warning: %s", err.msg);

	struct vm_exit ex = { 0 };
	tmark("vm_run");
	vm_run(st.vm, &ex);
	vm_clone_notice_stop(notice);   /* the agent is closed: it does not wait */

	stdio_console_free(con);   /* restores the terminal before we print */
	if (helpers.sig_thread_ok) {
		pthread_kill(helpers.sig_thread, SIGUSR1);
		pthread_join(helpers.sig_thread, NULL);
	}
	int status = exit_status(&ex, &st);
	vm_control_stop(control);
	mig_postcopy_target_end(postcopy);   /* the last pages before the RAM goes */
	vm_destroy(st.vm);
	return status;
}

int cmd_vm_run(int argc, char **argv)
{
	enum { OPT_KERNEL = 256, OPT_INITRD, OPT_APPEND, OPT_BIOS, OPT_DISK, OPT_CONSOLE,
	       OPT_NO_RNG, OPT_RNG, OPT_NET, OPT_BALLOON, OPT_CONTROL, OPT_EPHEMERAL,
	       OPT_NO_REBOOT, OPT_ON_PANIC, OPT_JIT, OPT_JIT_CACHE, OPT_RESTORE, OPT_INCOMING, OPT_PAUSED,
	       OPT_FORK_CHILD, OPT_FORK_MEMORY_FD, OPT_FORK_MEMORY_DIFF_FD,
	       OPT_SANDBOX, OPT_SANDBOX_UID, OPT_SANDBOX_GID,
	       OPT_CPU_WEIGHT, OPT_CPU_MAX, OPT_MEM_LIMIT, OPT_IO_WEIGHT, OPT_MEM_MERGE, OPT_AGENT,
	       OPT_FORK_READY,
	       OPT_DISK_SLOTS, OPT_NET_SLOTS, OPT_SLOT_DISK, OPT_SLOT_NIC, OPT_CGROUP_PARENT,
	       OPT_CGROUP_PARENT_WEIGHT };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "append", required_argument, NULL, OPT_APPEND },
		{ "bios", required_argument, NULL, OPT_BIOS },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "disk-slots", required_argument, NULL, OPT_DISK_SLOTS },
		{ "net-slots", required_argument, NULL, OPT_NET_SLOTS },
		{ "slot-disk", required_argument, NULL, OPT_SLOT_DISK },
		{ "slot-nic", required_argument, NULL, OPT_SLOT_NIC },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "no-rng", no_argument, NULL, OPT_NO_RNG },
		{ "rng", required_argument, NULL, OPT_RNG },
		{ "net", required_argument, NULL, OPT_NET },
		{ "balloon", optional_argument, NULL, OPT_BALLOON },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "ephemeral", no_argument, NULL, OPT_EPHEMERAL },
		{ "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
		{ "on-panic", required_argument, NULL, OPT_ON_PANIC },
		{ "jit", required_argument, NULL, OPT_JIT },
		{ "jit-cache", required_argument, NULL, OPT_JIT_CACHE },
		{ "restore", required_argument, NULL, OPT_RESTORE },
		{ "incoming", required_argument, NULL, OPT_INCOMING },
		{ "paused", no_argument, NULL, OPT_PAUSED },
		{ "fork-child", required_argument, NULL, OPT_FORK_CHILD },
		{ "fork-memory-fd", required_argument, NULL, OPT_FORK_MEMORY_FD },
		{ "fork-memory-diff-fd", required_argument, NULL, OPT_FORK_MEMORY_DIFF_FD },
		{ "sandbox", no_argument, NULL, OPT_SANDBOX },
		{ "sandbox-uid", required_argument, NULL, OPT_SANDBOX_UID },
		{ "sandbox-gid", required_argument, NULL, OPT_SANDBOX_GID },
		{ "cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT },
		{ "cpu-max", required_argument, NULL, OPT_CPU_MAX },
		{ "mem-limit", required_argument, NULL, OPT_MEM_LIMIT },
		{ "io-weight", required_argument, NULL, OPT_IO_WEIGHT },
		{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
		{ "cgroup-parent-weight", required_argument, NULL, OPT_CGROUP_PARENT_WEIGHT },
		{ "mem-merge", no_argument, NULL, OPT_MEM_MERGE },
		{ "fork-ready", optional_argument, NULL, OPT_FORK_READY },
		{ "agent", optional_argument, NULL, OPT_AGENT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vm_config cfg = { .mem_size = DEFAULT_MEM, .ncpus = 1, .rng = true };
	bool want_agent = false;
	struct err perr = { 0 };
	const char *control_path = NULL;
	const char *incoming_uri = NULL;
	struct defaults defaults = { 0 };
	char kernel_buf[PATH_MAX], initrd_buf[PATH_MAX];
	bool sandboxed = false;
	int fork_ready = -1;   /* -1: as the host suits (bus_shared_ram_hugepages) */
	struct sandbox sb = { 0 };
	struct vm_cgroup_limits limits = { .parent = VM_CGROUP_PARENT };
	bool mem_limit_set = false;
	int c;

	/* For the fork verb's children, before getopt (and strtok) touch argv. */
	__attribute__((cleanup(vm_fork_ctx_free))) struct vm_fork_ctx fork_ctx = { 0 };
	if (vm_fork_ctx_init(&fork_ctx, argc, argv) == 0) {
		cfg.fork_children = vm_fork_children_start;
		cfg.fork_ctx = &fork_ctx;
	}

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":m:c:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL: cfg.kernel = optarg; break;
		case OPT_INITRD: cfg.initrd = optarg; break;
		case OPT_APPEND: cfg.append = optarg; break;
		case OPT_BIOS: cfg.bios = optarg; break;
		case 'm':
			if (parse_mem(optarg, &cfg.mem_size) < 0)
				return 2;
			break;
		case 'c':
			if (parse_cpus(optarg, &cfg.ncpus) < 0)
				return 2;
			break;
		case OPT_DISK:
			if (cfg.ndisks == VM_MAX_DISKS) {
				cli_error("--disk %s: at most %d disks", optarg, VM_MAX_DISKS);
				return 2;
			}
			if (vm_disk_parse(optarg, &cfg.disks[cfg.ndisks], &perr) < 0) {
				cli_error("%s", perr.msg);
				return 2;
			}
			cfg.ndisks++;
			break;
		case OPT_DISK_SLOTS: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end || n > VIRT_VIRTIO_COUNT) {
				cli_error("--disk-slots %s: a number from 0 to %d", optarg,
					  VIRT_VIRTIO_COUNT);
				return 2;
			}
			cfg.disk_slots = (unsigned)n;
			break;
		}
		case OPT_SLOT_NIC:
			if (vm_slot_nic_parse(optarg, &cfg, &perr) < 0) {
				cli_error("%s", perr.msg);
				return 2;
			}
			break;
		case OPT_SLOT_DISK:
			if (vm_slot_disk_parse(optarg, &cfg, &perr) < 0) {
				cli_error("%s", perr.msg);
				return 2;
			}
			break;
		case OPT_NET_SLOTS:
			if (vm_net_slots_parse(optarg, &cfg, &perr) < 0) {
				cli_error("%s", perr.msg);
				return 2;
			}
			break;
		case OPT_CONSOLE: {
			char flag[80];
			snprintf(flag, sizeof flag, "--console %.64s", optarg);
			if (vm_slot_take(flag, optarg, &cfg.console_slot, &perr) < 0) {
				cli_error("%s", perr.msg);
				return 2;
			}
			if (!strcmp(optarg, "virtio")) {
				cfg.virtio_console = true;
			} else if (strcmp(optarg, "uart") || cfg.console_slot.set) {
				cli_error("%s: must be uart or virtio[,slot=N]", flag);
				return 2;
			}
			break;
		}
		case OPT_NO_RNG:
			cfg.rng = false;
			break;
		case OPT_RNG: {
			if (!strcmp(optarg, "none")) {
				cfg.rng = false;
				break;
			}
			int rc = vm_slot_parse("--rng", optarg, &cfg.rng_slot, &perr);
			if (rc == -ENOENT)
				cli_error("--rng %s: expected slot=N or none", optarg);
			else if (rc < 0)
				cli_error("%s", perr.msg);
			if (rc < 0)
				return 2;
			cfg.rng = true;
			break;
		}
		case OPT_NET:
			if (!strcmp(optarg, "none")) {
				defaults.no_net = true;
				break;
			}
			if (cfg.nnets == VM_MAX_NETS) {
				cli_error("--net %s: at most %d network devices", optarg, VM_MAX_NETS);
				return 2;
			}
			char net_flag[80];
			snprintf(net_flag, sizeof net_flag, "--net %.64s", optarg);
			if (vm_slot_take(net_flag, optarg, &cfg.net_slot[cfg.nnets], &perr) < 0 ||
			    rate_limit_take(net_flag, optarg, &cfg.net_limit[cfg.nnets], &perr) < 0 ||
			    net_opts_parse(optarg, &cfg.nets[cfg.nnets], &perr) < 0) {
				cli_error("%s", perr.msg);
				return 2;
			}
			cfg.nnets++;
			break;
		case OPT_EPHEMERAL:
			defaults.ephemeral = true;
			break;
		case OPT_NO_REBOOT:
			cfg.no_reboot = true;
			break;
		case OPT_ON_PANIC:
			if (!strcmp(optarg, "exit")) {
				cfg.on_panic = VM_PANIC_EXIT;
			} else if (!strcmp(optarg, "none")) {
				cfg.on_panic = VM_PANIC_NONE;
			} else {
				cli_error("--on-panic %s: must be exit or none", optarg);
				return 2;
			}
			break;
		case OPT_CONTROL:
			control_path = optarg;
			break;
		case OPT_JIT:
			if (!strcmp(optarg, "off")) {
				cfg.jit_off = true;
			} else if (!strcmp(optarg, "verify")) {
				cfg.jit_verify = true;
			} else if (strcmp(optarg, "on")) {
				cli_error("--jit %s: must be on, off or verify", optarg);
				return 2;
			}
			break;
		case OPT_JIT_CACHE:
			if (parse_jit_cache(optarg, &cfg.jit_cache) < 0)
				return 2;
			break;
		case OPT_RESTORE: {
			struct stat rst;
			if (stat(optarg, &rst) < 0 || !S_ISDIR(rst.st_mode)) {
				cli_error("--restore %s: %s", optarg,
					  errno && stat(optarg, &rst) < 0 ? strerror(errno)
									  : "not a directory");
				return 2;
			}
			cfg.restore = optarg;
			break;
		}
		case OPT_PAUSED:
			cfg.start_paused = true;
			break;
		case OPT_FORK_CHILD: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end || n >= VM_FORK_MAX) {
				cli_error("--fork-child %s: a number from 0 to %d", optarg,
					  VM_FORK_MAX - 1);
				return 2;
			}
			cfg.fork_index = (unsigned)n + 1;
			break;
		}
		case OPT_FORK_MEMORY_FD:
		case OPT_FORK_MEMORY_DIFF_FD: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			struct stat st;
			bool diff = c == OPT_FORK_MEMORY_DIFF_FD;
			if (optarg[0] < '0' || optarg[0] > '9' || *end || n < 3 || n > INT_MAX ||
			    fstat((int)n, &st) < 0 || !S_ISREG(st.st_mode)) {
				cli_error("--fork-memory%s-fd %s: not an open file descriptor (3 or "
					  "above) of a memory %s", diff ? "-diff" : "", optarg,
					  diff ? "diff" : "image");
				return 2;
			}
			*(diff ? &cfg.restore_memory_diff_fd : &cfg.restore_memory_fd) = (int)n;
			break;
		}
		case OPT_INCOMING:
			if (vm_migrate_uri_check(optarg, &perr) < 0) {
				cli_error("--incoming %s", perr.msg);
				return 2;
			}
			incoming_uri = optarg;
			break;
		case OPT_BALLOON:
			cfg.balloon = true;
			for (char *save = NULL, *o = optarg ? strtok_r(optarg, ",", &save) : NULL; o;
			     o = strtok_r(NULL, ",", &save)) {
				if (!strcmp(o, "deflate-on-oom")) {
					cfg.balloon_flags |= VIRTIO_BALLOON_DEFLATE_ON_OOM;
				} else if (!strcmp(o, "no-reporting")) {
					cfg.balloon_flags |= VIRTIO_BALLOON_NO_REPORTING;
				} else if (!strncmp(o, "slot=", 5)) {
					if (vm_slot_parse("--balloon", o, &cfg.balloon_slot, &perr) < 0) {
						cli_error("%s", perr.msg);
						return 2;
					}
				} else {
					cli_error("--balloon=%s: unknown option (known: deflate-on-oom, "
						  "no-reporting, slot=N)", o);
					return 2;
				}
			}
			break;
		case OPT_SANDBOX:
			sandboxed = true;
			break;
		case OPT_SANDBOX_UID:
		case OPT_SANDBOX_GID: {
			bool is_uid = c == OPT_SANDBOX_UID;
			unsigned id;
			if (parse_sandbox_id(is_uid ? "--sandbox-uid" : "--sandbox-gid", optarg, &id) < 0)
				return 2;
			if (is_uid) {
				sb.have_uid = true;
				sb.uid = id;
			} else {
				sb.have_gid = true;
				sb.gid = id;
			}
			break;
		}
		case OPT_CPU_WEIGHT:
		case OPT_IO_WEIGHT: {
			const char *flag = c == OPT_CPU_WEIGHT ? "--cpu-weight" : "--io-weight";
			unsigned w;
			if (parse_weight(flag, optarg, &w) < 0)
				return 2;
			*(c == OPT_CPU_WEIGHT ? &limits.cpu_weight : &limits.io_weight) = w;
			break;
		}
		case OPT_CGROUP_PARENT:
			if (!strcmp(optarg, "caller")) {
				limits.parent = NULL;
			} else if (vm_cgroup_parse_parent(optarg, &perr) < 0) {
				cli_error("%s", perr.msg);
				return 2;
			} else {
				limits.parent = optarg;
			}
			break;
		case OPT_CGROUP_PARENT_WEIGHT:
			if (parse_weight("--cgroup-parent-weight", optarg, &limits.parent_weight) < 0)
				return 2;
			limits.parent_weight_given = true;
			break;
		case OPT_AGENT:
			want_agent = true;
			if (optarg && vm_slot_parse("--agent", optarg, &cfg.agent_slot, &perr) < 0) {
				cli_error("--agent=%s: expected slot=N", optarg);
				return 2;
			}
			break;
		case OPT_MEM_MERGE:
			cfg.mem_merge = true;
			break;
		case OPT_FORK_READY:
			if (!optarg || !strcmp(optarg, "yes"))
				fork_ready = 1;
			else if (!strcmp(optarg, "no"))
				fork_ready = 0;
			else {
				cli_error("--fork-ready=%s: must be yes or no", optarg);
				return 2;
			}
			break;
		case OPT_CPU_MAX:
			if (vm_cgroup_parse_cpu_max(optarg, &limits, &perr) < 0) {
				cli_error("%s", perr.msg);
				return 2;
			}
			break;
		case OPT_MEM_LIMIT:
			mem_limit_set = true;
			if (!strcmp(optarg, "none")) {
				limits.mem_max = 0;
			} else if (parse_size(optarg, 1ull << 20, &limits.mem_max) < 0 ||
				   limits.mem_max < (16ull << 20)) {
				cli_error("--mem-limit %s: must be a size of at least 16M, or none", optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			cli_error("vm run: %s needs a value", argv[optind - 1]);
			return 2;
		default:
			cli_error("vm run: unknown option %s (try --help)", argv[optind - 1]);
			return 2;
		}
	}
	/* A restore or an incoming VM never shares RAM: no need to ask. */
	cfg.fork_ready = fork_ready >= 0 ? fork_ready == 1 :
			 !cfg.restore && !cfg.incoming && vm_fork_ready_suits_host();
	if (optind < argc) {
		cli_error("vm run: unexpected argument %s (try --help)", argv[optind]);
		return 2;
	}
	if (cfg.fork_index && !cfg.restore) {
		cli_error("--fork-child needs --restore (the fork's directory)");
		return 2;
	}
	if (cfg.restore_memory_fd && !cfg.fork_index) {
		cli_error("--fork-memory-fd needs --fork-child (and --restore)");
		return 2;
	}
	if (cfg.restore_memory_diff_fd && !cfg.restore_memory_fd) {
		cli_error("--fork-memory-diff-fd needs --fork-memory-fd");
		return 2;
	}
	if ((sb.have_uid || sb.have_gid) && !sandboxed) {
		cli_error("%s needs --sandbox", sb.have_uid ? "--sandbox-uid" : "--sandbox-gid");
		return 2;
	}
	if (cfg.jit_verify && cfg.ncpus > 1) {
		cli_error("--jit verify: needs --cpus 1 (another vCPU's stores between a block's two "
			  "runs would look like a divergence)");
		return 2;
	}

	/* A restore may take its disks from the snapshot, even into a file
	 * that does not exist yet (docs/snapshot.md): the restore checks them. */
	for (unsigned i = 0; i < cfg.ndisks && !cfg.restore; i++)
		if (check_file("--disk", cfg.disks[i].path) < 0)
			return 2;
	for (unsigned i = 0; i < cfg.ndisks && defaults.ephemeral; i++)
		cfg.disks[i].ephemeral = true;
	bool bios_none = cfg.bios && !strcmp(cfg.bios, "none");
	if (!cfg.kernel && !cfg.bios) {
		if (cfg.initrd) {
			cli_error("--initrd needs --kernel");
			return 2;
		}
		if (use_default_guest(&cfg, &defaults, kernel_buf, initrd_buf, sizeof kernel_buf) < 0)
			return 2;
	} else if (bios_none && !cfg.kernel) {
		cli_error("--bios none needs --kernel (the program to start in M-mode)");
		return 2;
	} else if (!cfg.kernel && (cfg.initrd || cfg.append)) {
		cli_error("%s needs --kernel", cfg.initrd ? "--initrd" : "--append");
		return 2;
	}
	if (vm_append_check(cfg.append, &perr) < 0) {
		cli_error("%s", perr.msg);
		return 2;
	}
	if ((cfg.bios && !bios_none && check_file("--bios", cfg.bios) < 0) ||
	    (cfg.kernel && check_file("--kernel", cfg.kernel) < 0) ||
	    (cfg.initrd && check_file("--initrd", cfg.initrd) < 0))
		return 2;

	if (cfg.mem_merge)
		cli_warn_if_ksm_off("--mem-merge");

	/* A cgroup for the VM: made by the launcher, joined by the VMM itself. */
	struct vm_cgroup vcg;
	bool cgroup = vm_cgroup_wanted(&limits);
	if (cgroup) {
		if (!mem_limit_set)
			limits.mem_max = cfg.mem_size + VMM_OVERHEAD +
				(cfg.jit_off ? 0 : cfg.jit_cache ? cfg.jit_cache : DEFAULT_JIT_CACHE);
		/* Groups that VMMs killed by SIGKILL left (nothing of theirs ran to
		 * remove them). */
		vm_cgroup_sweep(limits.parent);
		char name[64];
		snprintf(name, sizeof name, VM_CGROUP_PREFIX "%d", (int)getpid());
		if (vm_cgroup_create(&vcg, &limits, name, &perr) < 0) {
			cli_error("%s", perr.msg);
			return 1;
		}
		if (vcg.host.warn[0])
			cli_error("warning: %s", vcg.host.warn);
		if (!sandboxed && vm_cgroup_enter_self(&vcg, &perr) < 0) {
			vm_cgroup_destroy(&vcg, false);
			cli_error("%s", perr.msg);
			return 1;
		}
	}

	char sandbox_paths[3 + VM_MAX_DISKS][PATH_MAX];
	if (sandboxed) {
		int rc = sandbox_prepare(&sb, &cfg, bios_none, control_path, sandbox_paths);
		/* The sender must reach us: --incoming tcp: listens in the host's network. */
		if (incoming_uri && !strncmp(incoming_uri, "tcp:", 4))
			sb.new_net = false;
		int status;
		if (!rc && (rc = sandbox_fork(&sb, &status, &perr)) < 0)
			cli_error("%s", perr.msg);
		if (rc < 0 || rc == 2) {
			if (cgroup)
				vm_cgroup_destroy(&vcg, false);
			return rc == 2 || rc == -EPERM ? 2 : 1;
		}
		if (rc == 1) {   /* the launcher: the VMM has ended */
			if (cgroup)
				vm_cgroup_destroy(&vcg, false);
			return status;
		}
		if (cgroup && vm_cgroup_enter_self(&vcg, &perr) < 0) {
			cli_error("%s", perr.msg);
			return 1;
		}
		if (sandbox_isolate(&sb, &perr) < 0) {
			cli_error("%s", perr.msg);
			return 1;
		}
		cfg.vcpu_thread_init = sandbox_vcpu_thread_init;
		cfg.vcpu_thread_ctx = &sb;
		cfg.sandboxed = true;
	}

	struct guest_agent *agent = NULL;
	if (want_agent) {
		if (guest_agent_create(&agent, &perr) < 0) {
			cli_error("%s", perr.msg);
			return 1;
		}
		cfg.agent = agent;
	}
	int status = boot_and_run(&cfg, control_path, incoming_uri, sandboxed ? &sb : NULL);
	guest_agent_destroy(agent);
	if (cgroup && !sandboxed)
		vm_cgroup_destroy(&vcg, true);
	return status;
}
