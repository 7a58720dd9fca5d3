/*
 * Unit tests of the VM object: tiny hand-assembled guests started with
 * --bios none power off or fail through the test finisher and through
 * `tohost`, reboot through the finisher, print on the UART, get stopped;
 * two VMs run at once; vm_create reports bad configurations and files.
 * Every run has a watchdog that stops a stuck guest after 10 s.
 */
#include "vmm/vm.h"
#include "vmm/vm_migrate.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/testing.h"
#include "vmm/chardev.h"
#include "vmm/snap_stream.h"

enum { ZERO = 0, T0 = 5, T1 = 6, T2 = 7, T3 = 28, T4 = 29 };

static uint32_t lui(unsigned rd, uint32_t imm20) { return imm20 << 12 | rd << 7 | 0x37; }
static uint32_t auipc(unsigned rd, uint32_t imm20) { return imm20 << 12 | rd << 7 | 0x17; }
static uint32_t itype(uint32_t op, unsigned f3, unsigned rd, unsigned rs1, int32_t imm)
{
	return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) { return itype(0x13, 0, rd, rs1, imm); }
static uint32_t lw(unsigned rd, unsigned rs1, int32_t imm) { return itype(0x03, 2, rd, rs1, imm); }
static uint32_t store(unsigned f3, unsigned rs2, unsigned rs1, int32_t imm)
{
	uint32_t u = (uint32_t)imm;
	return (u >> 5 & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (u & 0x1f) << 7 | 0x23;
}
static uint32_t sb(unsigned rs2, unsigned rs1, int32_t imm) { return store(0, rs2, rs1, imm); }
static uint32_t sw(unsigned rs2, unsigned rs1, int32_t imm) { return store(2, rs2, rs1, imm); }
static uint32_t blt(unsigned rs1, unsigned rs2, int32_t off)
{
	uint32_t u = (uint32_t)off;
	return (u >> 12 & 1) << 31 | (u >> 5 & 0x3f) << 25 | rs2 << 20 | rs1 << 15 | 4 << 12 |
	       (u >> 1 & 0xf) << 8 | (u >> 11 & 1) << 7 | 0x63;
}
#define J_SELF 0x0000006fu

/* t3 = finisher; *t3 = value (value < 0x80000 so lui/addi suffice). */
static int finisher_store(uint32_t *p, uint32_t value)
{
	uint32_t lo = value & 0xfff, hi = (value >> 12) + (lo >= 0x800);
	p[0] = lui(T3, 0x100);
	p[1] = lui(T4, hi);
	p[2] = addi(T4, T4, (int32_t)(lo >= 0x800 ? (int32_t)lo - 0x1000 : (int32_t)lo));
	p[3] = sw(T4, T3, 0);
	p[4] = J_SELF;
	return 5;
}

static void write_file(char *path, const void *data, size_t len)
{
	strcpy(path, "/tmp/nimbus-vmtest-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static void *watchdog(void *arg)
{
	struct vm *vm = arg;
	struct timespec ts = { 10, 0 };
	nanosleep(&ts, NULL);
	vm_request_stop(vm);
	return NULL;
}

/* Options beyond the program for boot_raw_opts. */
struct boot_opts {
	bool no_reboot;
	enum vm_panic_action on_panic;
};

static int boot_raw_opts(const uint32_t *prog, unsigned n, struct chardev *con, struct vm_exit *ex,
			 int stop_after_ms, const struct boot_opts *o)
{
	char path[64];
	write_file(path, prog, n * 4);
	struct vm_config cfg = { .mem_size = 16 << 20, .ncpus = 1, .bios = "none",
				 .kernel = path, .console = con,
				 .no_reboot = o->no_reboot, .on_panic = o->on_panic };
	struct vm *vm;
	struct err e = {0};
	int rc = vm_create(&cfg, &vm, &e);
	unlink(path);
	if (rc) {
		printf("   vm_create: %s\n", e.msg);
		return rc;
	}
	pthread_t wd;
	pthread_create(&wd, NULL, watchdog, vm);
	if (stop_after_ms) {
		/* A second stopper that fires early. */
		struct timespec ts = { 0, stop_after_ms * 1000000L };
		nanosleep(&ts, NULL);
		vm_request_stop(vm);
	}
	vm_run(vm, ex);
	pthread_cancel(wd);
	pthread_join(wd, NULL);
	vm_destroy(vm);
	return 0;
}

static int boot_raw(const uint32_t *prog, unsigned n, struct chardev *con, struct vm_exit *ex,
		    int stop_after_ms)
{
	struct boot_opts o = { 0 };
	return boot_raw_opts(prog, n, con, ex, stop_after_ms, &o);
}

TEST(vm_no_reboot_turns_a_reboot_into_an_exit)
{
	uint32_t prog[8];
	struct vm_exit ex;
	unsigned n = (unsigned)finisher_store(prog, 0x7777);
	struct boot_opts o = { .no_reboot = true };
	EXPECT_EQ(boot_raw_opts(prog, n, NULL, &ex, 0, &o), 0);
	EXPECT_EQ(ex.kind, VM_EXIT_REBOOT);
}

TEST(vm_pvpanic_ends_run_unless_on_panic_none)
{
	/* What Linux's pvpanic-mmio driver does from its panic notifier (panic=0
	 * then spins forever): store PVPANIC_PANICKED at 0x102000. */
	uint32_t prog[] = { lui(T3, 0x102), addi(T4, ZERO, 1), sb(T4, T3, 0), J_SELF };
	struct vm_exit ex;
	struct boot_opts o = { .on_panic = VM_PANIC_EXIT };
	EXPECT_EQ(boot_raw_opts(prog, 4, NULL, &ex, 0, &o), 0);
	EXPECT_EQ(ex.kind, VM_EXIT_PANIC);
	EXPECT(strstr(ex.message, "panicked") != NULL);
	/* Without the device the store hits nothing: no panic is reported. */
	o.on_panic = VM_PANIC_NONE;
	EXPECT_EQ(boot_raw_opts(prog, 4, NULL, &ex, 200, &o), 0);
	EXPECT(ex.kind != VM_EXIT_PANIC);
	/* A crash kernel being loaded is not an exit. */
	uint32_t crash[] = { lui(T3, 0x102), addi(T4, ZERO, 2), sb(T4, T3, 0), J_SELF };
	o.on_panic = VM_PANIC_EXIT;
	EXPECT_EQ(boot_raw_opts(crash, 4, NULL, &ex, 200, &o), 0);
	EXPECT_EQ(ex.kind, VM_EXIT_STOPPED);
}

TEST(vm_finisher_poweroff_and_failure)
{
	uint32_t prog[8];
	struct vm_exit ex;
	unsigned n = (unsigned)finisher_store(prog, 0x5555);
	EXPECT_EQ(boot_raw(prog, n, NULL, &ex, 0), 0);
	EXPECT_EQ(ex.kind, VM_EXIT_POWEROFF);
	n = (unsigned)finisher_store(prog, 0x3333 | (3u << 16));
	EXPECT_EQ(boot_raw(prog, n, NULL, &ex, 0), 0);
	EXPECT_EQ(ex.kind, VM_EXIT_FAILURE);
	EXPECT_EQ(ex.code, 3);
}

TEST(vm_reboot_through_finisher)
{
	/* Counts boots in RAM outside the image; resets until the third boot. */
	uint32_t prog[] = {
		auipc(T0, 1),            /* 0x00: t0 = 0x80001000 */
		lw(T1, T0, 0),
		addi(T1, T1, 1),
		sw(T1, T0, 0),
		addi(T2, ZERO, 3),       /* 0x10 */
		lui(T3, 0x100),
		blt(T1, T2, 0x14),       /* 0x18 -> 0x2c */
		lui(T4, 0x5),
		addi(T4, T4, 0x555),     /* 0x20 */
		sw(T4, T3, 0),
		J_SELF,
		lui(T4, 0x7),            /* 0x2c */
		addi(T4, T4, 0x777),
		sw(T4, T3, 0),
		J_SELF,
	};
	struct vm_exit ex;
	EXPECT_EQ(boot_raw(prog, sizeof prog / 4, NULL, &ex, 0), 0);
	EXPECT_EQ(ex.kind, VM_EXIT_POWEROFF);
}

struct capture {
	pthread_mutex_t lock;
	char buf[64];
	size_t len;
};

static void capture_write(void *host, const uint8_t *buf, size_t len)
{
	struct capture *c = host;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < len && c->len < sizeof c->buf - 1; i++)
		c->buf[c->len++] = (char)buf[i];
	pthread_mutex_unlock(&c->lock);
}

TEST(vm_uart_output_reaches_console)
{
	uint32_t prog[16];
	unsigned n = 0;
	prog[n++] = lui(T0, 0x10000);
	prog[n++] = addi(T1, ZERO, 'o');
	prog[n++] = sb(T1, T0, 0);
	prog[n++] = addi(T1, ZERO, 'k');
	prog[n++] = sb(T1, T0, 0);
	n += (unsigned)finisher_store(prog + n, 0x5555);
	struct capture cap = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct chardev con = { .write = capture_write, .host = &cap };
	struct vm_exit ex;
	EXPECT_EQ(boot_raw(prog, n, &con, &ex, 0), 0);
	EXPECT_EQ(ex.kind, VM_EXIT_POWEROFF);
	EXPECT(strcmp(cap.buf, "ok") == 0);
}

TEST(vm_request_stop_ends_run)
{
	uint32_t prog[] = { J_SELF };
	struct vm_exit ex;
	EXPECT_EQ(boot_raw(prog, 1, NULL, &ex, 50), 0);
	EXPECT_EQ(ex.kind, VM_EXIT_STOPPED);
}

/* An ELF whose code stores `value` to its tohost symbol at 0x80001000. */
static size_t tohost_elf(uint8_t *buf, uint32_t value)
{
	memset(buf, 0, 0x400);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_RISCV;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0x80000000;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + eh->e_phoff);
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x200, .p_vaddr = 0x80000000,
			      .p_paddr = 0x80000000, .p_filesz = 16, .p_memsz = 16 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x210, .p_vaddr = 0x80001000,
			      .p_paddr = 0x80001000, .p_filesz = 0, .p_memsz = 16 };
	uint32_t code[4] = { auipc(T0, 1), addi(T1, ZERO, (int32_t)value), sw(T1, T0, 0), J_SELF };
	memcpy(buf + 0x200, code, sizeof code);
	memcpy(buf + 0x240, "\0tohost\0", 8);
	Elf64_Sym *sym = (Elf64_Sym *)(buf + 0x260);
	sym[1] = (Elf64_Sym){ .st_name = 1, .st_shndx = 1, .st_value = 0x80001000 };
	eh->e_shoff = 0x300;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 3;
	Elf64_Shdr *sh = (Elf64_Shdr *)(buf + 0x300);
	sh[1] = (Elf64_Shdr){ .sh_type = SHT_SYMTAB, .sh_offset = 0x260, .sh_size = 2 * sizeof(Elf64_Sym),
			      .sh_link = 2, .sh_entsize = sizeof(Elf64_Sym) };
	sh[2] = (Elf64_Shdr){ .sh_type = SHT_STRTAB, .sh_offset = 0x240, .sh_size = 8 };
	return 0x300 + 3 * sizeof(Elf64_Shdr);
}

static int run_elf(const uint8_t *elf, size_t len, int as_bios, struct vm_exit *ex)
{
	char path[64];
	write_file(path, elf, len);
	struct vm_config cfg = { .mem_size = 16 << 20, .ncpus = 2 };
	if (as_bios)
		cfg.bios = path;
	else
		cfg.bios = "none", cfg.kernel = path;
	struct vm *vm;
	struct err e = {0};
	int rc = vm_create(&cfg, &vm, &e);
	unlink(path);
	if (rc) {
		printf("   vm_create: %s\n", e.msg);
		return rc;
	}
	pthread_t wd;
	pthread_create(&wd, NULL, watchdog, vm);
	vm_run(vm, ex);
	pthread_cancel(wd);
	pthread_join(wd, NULL);
	vm_destroy(vm);
	return 0;
}

TEST(vm_tohost_pass_and_fail)
{
	uint8_t elf[0x400];
	struct vm_exit ex;
	size_t len = tohost_elf(elf, 1);
	EXPECT_EQ(run_elf(elf, len, 0, &ex), 0);
	EXPECT_EQ(ex.kind, VM_EXIT_POWEROFF);
	len = tohost_elf(elf, (5 << 1) | 1);
	EXPECT_EQ(run_elf(elf, len, 1, &ex), 0);   /* as firmware, on two harts */
	EXPECT_EQ(ex.kind, VM_EXIT_FAILURE);
	EXPECT_EQ(ex.code, 5);
}

struct par {
	uint32_t prog[8];
	unsigned n;
	struct vm_exit ex;
	int rc;
};

static void *par_main(void *arg)
{
	struct par *p = arg;
	p->rc = boot_raw(p->prog, p->n, NULL, &p->ex, 0);
	return NULL;
}

TEST(vm_two_vms_in_one_process)
{
	struct par a = {0}, b = {0};
	a.n = (unsigned)finisher_store(a.prog, 0x5555);
	b.n = (unsigned)finisher_store(b.prog, 0x3333 | (9u << 16));
	pthread_t ta, tb;
	pthread_create(&ta, NULL, par_main, &a);
	pthread_create(&tb, NULL, par_main, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	EXPECT_EQ(a.rc, 0);
	EXPECT_EQ(b.rc, 0);
	EXPECT_EQ(a.ex.kind, VM_EXIT_POWEROFF);
	EXPECT_EQ(b.ex.kind, VM_EXIT_FAILURE);
	EXPECT_EQ(b.ex.code, 9);
}

static int create_fails(const struct vm_config *cfg, const char *want)
{
	struct vm *vm = (struct vm *)1;
	struct err e = {0};
	int rc = vm_create(cfg, &vm, &e);
	int ok = rc < 0 && vm == NULL && e.code == rc && strstr(e.msg, want);
	if (!ok)
		printf("   rc %d: %s\n", rc, e.msg);
	return ok;
}

TEST(vm_create_errors)
{
	uint32_t prog[] = { J_SELF };
	char path[64];
	write_file(path, prog, sizeof prog);
	struct vm_config cfg = { .mem_size = (16 << 20) + 100, .ncpus = 1, .bios = "none", .kernel = path };
	EXPECT(create_fails(&cfg, "not a multiple of 4 KiB"));
	cfg.mem_size = 16 << 20;
	cfg.ncpus = 9;
	EXPECT(create_fails(&cfg, "must be between 1 and 8"));
	cfg.ncpus = 1;
	cfg.kernel = "/nonexistent/kernel";
	EXPECT(create_fails(&cfg, "--kernel /nonexistent/kernel: No such file or directory"));
	cfg.kernel = NULL;
	EXPECT(create_fails(&cfg, "nothing to boot"));
	cfg.kernel = path;
	cfg.mem_size = 1 << 20;   /* no room for the 1 MiB device tree above the kernel */
	EXPECT(create_fails(&cfg, "too small"));
	cfg.mem_size = 16 << 20;
	cfg.bios = "/nonexistent/fw.bin";
	EXPECT(create_fails(&cfg, "--bios /nonexistent/fw.bin: No such file"));
	unlink(path);
}

TEST(vm_fatal_hart_ends_run)
{
	/* Jump to address 0: nothing there, and mtvec (0 at reset) faults too. */
	uint32_t prog[] = { itype(0x67, 0, ZERO, ZERO, 0) };
	struct vm_exit ex;
	EXPECT_EQ(boot_raw(prog, 1, NULL, &ex, 0), 0);
	EXPECT_EQ(ex.kind, VM_EXIT_FATAL);
	EXPECT(strncmp(ex.message, "hart 0: ", 8) == 0);
	EXPECT(strncmp(ex.message + 8, "hart 0", 6) != 0);
}

/* ---- the VM API: exact pause ------------------------------------------- */

struct runner {
	struct vm *vm;
	struct vm_exit ex;
	pthread_t t;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;
	vm_run(r->vm, &r->ex);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

struct counts {
	pthread_mutex_t lock;
	unsigned paused, resumed, stopped;
};

static void count_event(void *ctx, const struct vm_event *ev)
{
	struct counts *c = ctx;
	pthread_mutex_lock(&c->lock);
	c->paused += ev->kind == VM_EVENT_PAUSED;
	c->resumed += ev->kind == VM_EVENT_RESUMED;
	c->stopped += ev->kind == VM_EVENT_STOPPED;
	pthread_mutex_unlock(&c->lock);
}

/* Two harts spinning on `addi t0, t0, 1; j -4`, running on a thread. */
static int start_spinner(struct runner *r)
{
	uint32_t prog[] = { addi(T0, T0, 1), 0xffdff06fu /* j -4 */ };
	char path[64];
	write_file(path, prog, sizeof prog);
	struct vm_config cfg = { .mem_size = 16 << 20, .ncpus = 2, .bios = "none", .kernel = path };
	struct err e = {0};
	int rc = vm_create(&cfg, &r->vm, &e);
	unlink(path);
	if (rc) {
		printf("   vm_create: %s\n", e.msg);
		return rc;
	}
	return pthread_create(&r->t, NULL, run_thread, r);
}

static uint64_t ticks_to_ms(uint64_t t)
{
	return t / (VIRT_TIMEBASE_HZ / 1000);
}

TEST(vm_pause_is_exact_and_the_clock_holds_unless_catch_up)
{
	struct runner r = {0};
	struct counts cnt = { .lock = PTHREAD_MUTEX_INITIALIZER };
	EXPECT_EQ(start_spinner(&r), 0);
	EXPECT(vm_add_listener(r.vm, count_event, &cnt) >= 0);
	struct err e = {0};
	struct vm_status s0, s1, s2, s3;
	for (int i = 0; i < 200; i++) {   /* vm_run has started */
		vm_query(r.vm, &s0);
		if (s0.state == VM_STATE_RUNNING && s0.instret[1] > 1000)
			break;
		sleep_ms(5);
	}
	EXPECT_EQ(s0.state, VM_STATE_RUNNING);

	EXPECT_EQ(vm_pause(r.vm, &e), 0);
	EXPECT_EQ(vm_pause(r.vm, &e), -EALREADY);
	vm_query(r.vm, &s1);
	sleep_ms(300);
	vm_query(r.vm, &s2);
	EXPECT_EQ(s2.state, VM_STATE_PAUSED);
	EXPECT(s1.instret[0] == s2.instret[0] && s1.instret[1] == s2.instret[1]);
	EXPECT_EQ(s1.guest_ticks, s2.guest_ticks);
	EXPECT(s2.paused_ns >= 300000000);

	EXPECT_EQ(vm_resume(r.vm, false, &e), 0);
	EXPECT_EQ(vm_resume(r.vm, false, &e), -EALREADY);
	sleep_ms(100);
	vm_query(r.vm, &s3);
	EXPECT(s3.instret[0] > s2.instret[0] && s3.instret[1] > s2.instret[1]);
	/* ~100 ms of guest time passed, not the 400 ms of host time. */
	uint64_t ms = ticks_to_ms(s3.guest_ticks - s2.guest_ticks);
	EXPECT(ms >= 90 && ms < 250);

	/* --catch-up: the guest's clock jumps by the pause. */
	EXPECT_EQ(vm_pause(r.vm, &e), 0);
	vm_query(r.vm, &s1);
	sleep_ms(300);
	EXPECT_EQ(vm_resume(r.vm, true, &e), 0);
	vm_query(r.vm, &s2);
	EXPECT(ticks_to_ms(s2.guest_ticks - s1.guest_ticks) >= 290);

	/* A stop while paused ends the run: parked vCPUs leave. */
	EXPECT_EQ(vm_pause(r.vm, &e), 0);
	vm_request_stop(r.vm);
	pthread_join(r.t, NULL);
	EXPECT_EQ(r.ex.kind, VM_EXIT_STOPPED);
	vm_query(r.vm, &s3);
	EXPECT_EQ(s3.state, VM_STATE_STOPPED);
	EXPECT(s3.has_exit && s3.exit.kind == VM_EXIT_STOPPED);
	EXPECT_EQ(vm_pause(r.vm, &e), -ESRCH);
	EXPECT(strstr(e.msg, "not running"));
	EXPECT_EQ(vm_resume(r.vm, false, &e), -ESRCH);
	pthread_mutex_lock(&cnt.lock);
	EXPECT(cnt.paused == 3 && cnt.resumed == 2 && cnt.stopped == 1);
	pthread_mutex_unlock(&cnt.lock);
	vm_destroy(r.vm);
}

TEST(vm_reboot_while_paused_stays_paused_and_shutdown_times_out)
{
	struct runner r = {0};
	EXPECT_EQ(start_spinner(&r), 0);
	struct err e = {0};
	struct vm_status s;
	for (int i = 0; i < 200; i++) {
		vm_query(r.vm, &s);
		if (s.state == VM_STATE_RUNNING)
			break;
		sleep_ms(5);
	}
	EXPECT_EQ(vm_pause(r.vm, &e), 0);
	EXPECT_EQ(vm_reboot(r.vm, &e), 0);
	for (int i = 0; i < 200 && s.reboots == 0; i++) {
		sleep_ms(5);
		vm_query(r.vm, &s);
	}
	EXPECT_EQ(s.reboots, 1u);
	EXPECT_EQ(s.state, VM_STATE_PAUSED);
	sleep_ms(50);
	struct vm_status s2;
	vm_query(r.vm, &s2);
	EXPECT(s2.instret[0] == s.instret[0]);   /* the new harts start parked */
	EXPECT_EQ(vm_resume(r.vm, false, &e), 0);
	EXPECT_EQ(vm_shutdown(r.vm, 100, &e), 0);   /* the spinner never powers off */
	pthread_join(r.t, NULL);
	EXPECT_EQ(r.ex.kind, VM_EXIT_STOPPED);
	EXPECT(strstr(r.ex.message, "did not power off"));
	vm_destroy(r.vm);
}

/* A sandboxed VMM's seccomp lists lack what these need (opening files and
 * sockets, starting processes): the call would kill the VMM, guest and all.
 * Refused instead, naming what the client must pass. */
TEST(vm_snapshot_migrate_and_fork_refused_with_a_reason_when_sandboxed)
{
	uint32_t prog[] = { 0x0000006fu /* j . */ };
	char path[64];
	write_file(path, prog, sizeof prog);
	struct vm_config cfg = { .mem_size = 16 << 20, .ncpus = 1, .bios = "none",
				 .kernel = path, .sandboxed = true };
	struct vm *vm;
	struct err e = {0};
	int rc = vm_create(&cfg, &vm, &e);
	unlink(path);
	EXPECT_EQ(rc, 0);
	struct vm_snapshot_info si;
	EXPECT_EQ(vm_snapshot(vm, "/tmp/nimbus-vmtest-never", false, &si, &e), -EPERM);
	EXPECT(strstr(e.msg, "snapshot: a sandboxed VM (--sandbox) can open no file"));
	EXPECT_EQ(vm_migrate(vm, "unix:/tmp/nimbus-vmtest-never.sock", NULL, NULL, &e), -EPERM);
	EXPECT(strstr(e.msg, "migrate: a sandboxed VM (--sandbox) connects nowhere"));
	/* Passed files are recorded by the absolute directory they go to. */
	struct vm_snapshot_opts so = { .to_fds = true, .memory_fd = -1, .state_fd = -1 };
	EXPECT_EQ(vm_snapshot_take(vm, "rel/dir", &so, &si, &e), -EINVAL);
	EXPECT(strstr(e.msg, "rel/dir: not an absolute path"));
	struct vm_fork_child kids[1];
	unsigned started = 9;
	EXPECT_EQ(vm_fork(vm, "/tmp/nimbus-vmtest-never", 1, false, kids, &started, NULL, &e), -EPERM);
	EXPECT(strstr(e.msg, "fork: not available in a sandboxed VM"));
	EXPECT_EQ(started, 0);
	vm_destroy(vm);
}

/* A disk hot-plugged into a slot is recorded by the snapshot: the restore
 * must have it back in that slot (--slot-disk) or is refused naming it. */
TEST(vm_snapshot_with_a_hot_plugged_disk_restores_only_with_it_in_its_slot)
{
	char img[] = "/tmp/nimbus-vmtest-hot-XXXXXX", dir[] = "/tmp/nimbus-vmtest-snap-XXXXXX";
	int fd = mkstemp(img);
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "qemu-img create -q -f qcow2 %s 1M >/dev/null 2>&1", img);
	if (system(cmd) != 0 || !mkdtemp(dir)) {
		printf("skip vm_snapshot_with_a_hot_plugged_disk: no qemu-img\n");
		unlink(img);
		return;
	}
	uint32_t prog[] = { 0x0000006fu /* j . */ };
	char kernel[64];
	write_file(kernel, prog, sizeof prog);
	struct vm_config cfg = { .mem_size = 16 << 20, .ncpus = 1, .bios = "none",
				 .kernel = kernel, .disk_slots = 2, .start_paused = true };
	struct vm *vm;
	struct err e = {0};
	struct runner r = {0};
	EXPECT_EQ(vm_create(&cfg, &r.vm, &e), 0);
	EXPECT_EQ(pthread_create(&r.t, NULL, run_thread, &r), 0);
	fd = open(img, O_RDWR);
	unsigned slot = 9;
	EXPECT_EQ(vm_disk_insert(r.vm, fd, "hot1", &slot, &e), 0);
	close(fd);
	EXPECT_EQ(slot, 0);
	struct vm_snapshot_info si;
	struct vm_status st;
	for (int i = 0; i < 200; i++) {   /* vm_run has started */
		vm_query(r.vm, &st);
		if (st.state == VM_STATE_PAUSED)
			break;
		sleep_ms(5);
	}
	EXPECT_EQ(vm_snapshot(r.vm, dir, true, &si, &e), 0);
	vm_request_stop(r.vm);
	pthread_join(r.t, NULL);
	vm_destroy(r.vm);
	cfg.start_paused = false;

	cfg.restore = dir;
	EXPECT(vm_create(&cfg, &vm, &e) < 0);
	EXPECT(strstr(e.msg, "hot-plug slot 0 held disk hot1 at the snapshot; give it back with "
			     "--slot-disk 0:IMAGE,serial=hot1"));
	cfg.slot_disks[1] = (struct vm_disk){ .path = img, .serial = "hot1" };
	EXPECT(vm_create(&cfg, &vm, &e) < 0);        /* in another slot */
	EXPECT(strstr(e.msg, "hot-plug slot 0 held disk hot1"));
	cfg.slot_disks[1] = (struct vm_disk){ 0 };
	cfg.slot_disks[0] = (struct vm_disk){ .path = img, .serial = "hot1" };
	EXPECT_EQ(vm_create(&cfg, &vm, &e), 0);
	unsigned total, loaded;
	vm_disk_slots(vm, &total, &loaded);
	EXPECT_EQ(total, 2);
	EXPECT_EQ(loaded, 1);
	vm_destroy(vm);
	/* --disks copies only the disks the VM started with: refused. */
	cfg.restore = NULL;
	EXPECT_EQ(vm_create(&cfg, &vm, &e), 0);
	struct vm_snapshot_opts so = { .with_disks = true };
	EXPECT_EQ(vm_snapshot_take(vm, dir, &so, &si, &e), -EBUSY);
	EXPECT(strstr(e.msg, "snapshot --disks: 1 hot-plugged disk is in"));
	vm_destroy(vm);
	snprintf(cmd, sizeof cmd, "rm -rf %s %s %s", dir, img, kernel);
	EXPECT_EQ(system(cmd), 0);
}

/* What vm_fork asked the CLI's hook for (the test starts no process). */
struct fork_call {
	unsigned n;
	char dir[128];
	long long image_size;   /* of the memory image the children would map; -1 none */
};

static int fork_children_stub(void *ctx, const char *dir, unsigned n, bool running, int image,
			      int diff, struct vm_fork_child *out, unsigned *started,
			      struct err *err)
{
	struct fork_call *c = ctx;
	(void)out, (void)err, (void)running, (void)diff;
	struct stat st;
	c->image_size = image >= 0 && fstat(image, &st) == 0 ? (long long)st.st_size : -1;
	c->n = n;
	snprintf(c->dir, sizeof c->dir, "%s", dir);
	*started = n;
	return 0;
}

static void vm_run_paused(struct runner *r)
{
	EXPECT_EQ(pthread_create(&r->t, NULL, run_thread, r), 0);
	struct vm_status st;
	for (int i = 0; i < 200; i++) {   /* vm_run has started */
		vm_query(r->vm, &st);
		if (st.state == VM_STATE_PAUSED)
			return;
		sleep_ms(5);
	}
}

static void vm_end(struct runner *r)
{
	vm_request_stop(r->vm);
	pthread_join(r->t, NULL);
	vm_destroy(r->vm);
}

/* A fork freezes a writable disk: the parent moves onto a new overlay
 * beside the fork's directory, the image is left as it was, and a restore
 * of the fork's snapshot writes to the image only as a child of the fork,
 * onto an overlay of its own (made once, never over an existing file).  A
 * fork whose snapshot fails puts the parent back on its image. */
TEST(vm_fork_freezes_a_writable_disk_parent_and_children_on_overlays)
{
	char work[] = "/tmp/nimbus-vmtest-fork-XXXXXX";
	if (!mkdtemp(work))
		abort();
	char img[160], dir[160], parent[200], child0[200], cmd[1024], kernel[64];
	snprintf(img, sizeof img, "%s/root.img", work);
	snprintf(dir, sizeof dir, "%s/fork", work);
	snprintf(parent, sizeof parent, "%s.parent-disk0.qcow2", dir);
	snprintf(child0, sizeof child0, "%s/child-0-disk0.qcow2", dir);
	snprintf(cmd, sizeof cmd, "head -c 1048576 /dev/urandom > %s && cp %s %s.orig", img, img,
		 img);
	EXPECT_EQ(system(cmd), 0);
	uint32_t prog[] = { 0x0000006fu /* j . */ };
	write_file(kernel, prog, sizeof prog);
	struct fork_call call = { 0 };
	struct vm_config cfg = { .mem_size = 16 << 20, .ncpus = 1, .bios = "none",
				 .kernel = kernel, .start_paused = true, .ndisks = 1,
				 .fork_children = fork_children_stub, .fork_ctx = &call,
				 .fork_ready = true };
	cfg.disks[0] = (struct vm_disk){ .path = img, .format = "raw" };
	struct err e = { 0 };
	struct runner r = { 0 };
	EXPECT_EQ(vm_create(&cfg, &r.vm, &e), 0);
	vm_run_paused(&r);
	struct vm_fork_child kids[2];
	unsigned started = 0;
	EXPECT_EQ(vm_fork(r.vm, dir, 2, false, kids, &started, NULL, &e), 0);
	EXPECT_EQ(call.n, 2);
	EXPECT_EQ(started, 2);
	EXPECT_EQ(call.image_size, 16 << 20);   /* the children get RAM's image */
	snprintf(cmd, sizeof cmd, "qemu-img info -U %s | grep -q 'backing file: %s$'", parent, img);
	EXPECT_EQ(system(cmd), 0);
	/* A second fork into the same directory: child 0's overlay would
	 * collide once a child made it. */
	snprintf(cmd, sizeof cmd, "touch %s", child0);
	EXPECT_EQ(system(cmd), 0);
	EXPECT_EQ(vm_fork(r.vm, dir, 1, false, kids, &started, NULL, &e), -EEXIST);
	EXPECT(strstr(e.msg, "fork into a new directory"));
	unlink(child0);
	vm_end(&r);
	/* The fork's memory file is written after the children start, and the
	 * VM's end waits for it: the directory is a whole snapshot. */
	char mem[200];
	snprintf(mem, sizeof mem, "%s/memory", dir);
	struct stat mst;
	EXPECT_EQ(stat(mem, &mst), 0);
	EXPECT_EQ(mst.st_size, 16 << 20);
	snprintf(cmd, sizeof cmd, "qemu-img check -q %s", parent);
	EXPECT_EQ(system(cmd), 0);

	/* The fork's snapshot: writable only as a child, over the image. */
	cfg.start_paused = false;
	cfg.fork_children = NULL;
	cfg.restore = dir;
	struct vm *vm;
	EXPECT(vm_create(&cfg, &vm, &e) < 0);
	EXPECT(strstr(e.msg, "was frozen by a fork"));
	cfg.fork_index = 1;
	EXPECT_EQ(vm_create(&cfg, &vm, &e), 0);
	vm_destroy(vm);
	snprintf(cmd, sizeof cmd, "qemu-img check -q %s && qemu-img info %s | "
		 "grep -q 'backing file: %s$'", child0, child0, img);
	EXPECT_EQ(system(cmd), 0);
	EXPECT(vm_create(&cfg, &vm, &e) < 0);   /* made once, never over a file */
	EXPECT(strstr(e.msg, "child-0-disk0.qcow2: File exists"));
	EXPECT_EQ(access(child0, F_OK), 0);
	cfg.fork_index = 0;
	cfg.disks[0].readonly = true;   /* the base itself, read-only */
	EXPECT_EQ(vm_create(&cfg, &vm, &e), 0);
	vm_destroy(vm);
	snprintf(cmd, sizeof cmd, "cmp -s %s %s.orig", img, img);
	EXPECT_EQ(system(cmd), 0);

	/* A fork whose snapshot fails once the disk was moved (its state file
	 * cannot be made: a directory has its name): the VM goes back on its
	 * image, which a later snapshot records and a writable restore opens,
	 * and the parent's overlay goes. */
	snprintf(cmd, sizeof cmd, "rm -rf %s %s && mkdir -p %s/.state.tmp", dir, parent, dir);
	EXPECT_EQ(system(cmd), 0);
	cfg = (struct vm_config){ .mem_size = 16 << 20, .ncpus = 1, .bios = "none",
				  .kernel = kernel, .start_paused = true, .ndisks = 1,
				  .fork_children = fork_children_stub, .fork_ctx = &call,
				  .fork_ready = true };
	cfg.disks[0] = (struct vm_disk){ .path = img, .format = "raw" };
	EXPECT_EQ(vm_create(&cfg, &r.vm, &e), 0);
	vm_run_paused(&r);
	call.n = 0;
	EXPECT(vm_fork(r.vm, dir, 1, false, kids, &started, NULL, &e) < 0);
	EXPECT(strstr(e.msg, ".state.tmp") != NULL);   /* the snapshot failed, after the move */
	EXPECT_EQ(call.n, 0);
	EXPECT(access(parent, F_OK) < 0);
	snprintf(dir, sizeof dir, "%s/snap", work);
	struct vm_snapshot_info si;
	EXPECT_EQ(vm_snapshot(r.vm, dir, true, &si, &e), 0);
	vm_end(&r);
	cfg.start_paused = false;
	cfg.restore = dir;
	EXPECT_EQ(vm_create(&cfg, &vm, &e), 0);
	vm_destroy(vm);
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", work, kernel);
	EXPECT_EQ(system(cmd), 0);
}

/* A state file holding one "fork-disks" section: frozen disk 0 at base, in
 * format fmt, of size bytes. */
static void write_fork_disks_state(const char *dir, const char *base, const char *fmt,
				   uint64_t size)
{
	struct snap_out o;
	snap_out_init(&o);
	snap_begin(&o, "fork-disks", 1);
	snap_put_u32(&o, 1);
	snap_put_u8(&o, 1);
	snap_put_str(&o, base);
	snap_put_str(&o, fmt);
	snap_put_u64(&o, size);
	snap_end(&o);
	EXPECT_EQ(snap_out_finish(&o), 0);
	char path[160];
	snprintf(path, sizeof path, "%s/state", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	EXPECT(fd >= 0 && write(fd, o.buf, o.len) == (ssize_t)o.len);
	close(fd);
	snap_out_free(&o);
}

/* A fork's snapshot names the frozen base a child's overlay goes over: a
 * relative path, an unknown format or a size qcow2 cannot hold is refused
 * with the section named, and no overlay is left behind. */
TEST(vm_fork_child_refuses_a_bad_fork_disks_section)
{
	char dir[] = "/tmp/nimbus-vmtest-fbad-XXXXXX", kernel[64], base[200], overlay[200];
	EXPECT(mkdtemp(dir) != NULL);
	uint32_t prog[] = { 0x0000006fu /* j . */ };
	write_file(kernel, prog, sizeof prog);
	snprintf(base, sizeof base, "%s/base.img", dir);
	snprintf(overlay, sizeof overlay, "%s/child-0-disk0.qcow2", dir);
	int fd = open(base, O_WRONLY | O_CREAT, 0600);
	EXPECT(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	close(fd);
	struct vm_config cfg = { .mem_size = 16 << 20, .ncpus = 1, .bios = "none",
				 .kernel = kernel, .ndisks = 1, .restore = dir, .fork_index = 1 };
	cfg.disks[0] = (struct vm_disk){ .path = base, .format = "raw" };
	static const struct { const char *base, *fmt; uint64_t size; } bad[] = {
		{ "relative/base.img", "raw", 1 << 20 },
		{ NULL, "vmdk", 1 << 20 },
		{ NULL, "raw", 1000 },
		{ NULL, "raw", 2 << 20 },   /* not the base's size */
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_fork_disks_state(dir, bad[i].base ? bad[i].base : base, bad[i].fmt, bad[i].size);
		struct vm *vm;
		struct err e = { 0 };
		EXPECT(vm_create(&cfg, &vm, &e) < 0);
		EXPECT(strstr(e.msg, bad[i].size != 1 << 20 ? "disk 0: the fork froze its base"
						     : "'fork-disks'"));
		EXPECT(access(overlay, F_OK) < 0);
	}
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, kernel);
	EXPECT_EQ(system(cmd), 0);
}

/* A fork's child has a MAC of its own on each NIC, and knows the parent's
 * (for the clone notice to move its guest over); a plain restore keeps
 * them. */
TEST(vm_fork_child_gets_new_macs_and_knows_the_parents)
{
	char dir[] = "/tmp/nimbus-vmtest-fnic-XXXXXX", kernel[64];
	EXPECT(mkdtemp(dir) != NULL);
	uint32_t prog[] = { 0x0000006fu /* j . */ };
	write_file(kernel, prog, sizeof prog);
	struct vm_config cfg = { .mem_size = 16 << 20, .ncpus = 1, .bios = "none",
				 .kernel = kernel, .start_paused = true, .nnets = 2 };
	cfg.nets[0] = (struct net_opts){ .kind = NET_USER };
	cfg.nets[1] = (struct net_opts){ .kind = NET_USER, .has_mac = true,
					 .mac = { 0x02, 1, 2, 3, 4, 5 } };
	struct err e = { 0 };
	struct runner r = { 0 };
	EXPECT_EQ(vm_create(&cfg, &r.vm, &e), 0);
	vm_run_paused(&r);
	struct vm_snapshot_info si;
	EXPECT_EQ(vm_snapshot(r.vm, dir, true, &si, &e), 0);
	vm_end(&r);
	cfg.start_paused = false;
	cfg.restore = dir;
	struct vm *vm;
	uint8_t was[VM_MAX_NETS][6], now[VM_MAX_NETS][6];
	EXPECT_EQ(vm_create(&cfg, &vm, &e), 0);
	EXPECT_EQ(vm_fork_mac_changes(vm, was, now), 0);   /* not a fork's child */
	vm_destroy(vm);
	uint8_t first[6] = { 0 };
	for (unsigned child = 1; child <= 2; child++) {
		cfg.fork_index = child;
		EXPECT_EQ(vm_create(&cfg, &vm, &e), 0);
		EXPECT_EQ(vm_fork_mac_changes(vm, was, now), 2);
		EXPECT(!memcmp(was[0], "\x52\x54\x00\x12\x34\x56", 6));   /* the default */
		EXPECT(!memcmp(was[1], "\x02\x01\x02\x03\x04\x05", 6));   /* the given one */
		for (unsigned i = 0; i < 2; i++) {
			EXPECT(!memcmp(now[i], "\x52\x54\x00", 3));
			EXPECT(memcmp(now[i], was[i], 6) != 0);
		}
		EXPECT(memcmp(now[0], now[1], 6) != 0);
		if (child == 1)
			memcpy(first, now[0], 6);
		else
			EXPECT(memcmp(first, now[0], 6) != 0);   /* one child's is not another's */
		vm_destroy(vm);
	}
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, kernel);
	EXPECT_EQ(system(cmd), 0);
}

/* In a network namespace of its own (a TAP is made): a VM whose NIC slot
 * holds a TAP is snapshotted; the restore needs a TAP in that slot. */
static int nic_slot_snapshot_in_namespace(const char *dir, const char *kernel)
{
	struct vm_config cfg = { .mem_size = 16 << 20, .ncpus = 1, .bios = "none",
				 .kernel = kernel, .net_slots = 1, .start_paused = true };
	cfg.slot_taps[0] = "nbslot0";
	struct err e = {0};
	struct runner r = {0};
	if (vm_create(&cfg, &r.vm, &e))
		return printf("   vm_create: %s\n", e.msg), 1;
	if (pthread_create(&r.t, NULL, run_thread, &r))
		return 1;
	struct vm_status st;
	for (int i = 0; i < 200; i++) {
		vm_query(r.vm, &st);
		if (st.state == VM_STATE_PAUSED)
			break;
		sleep_ms(5);
	}
	struct vm_snapshot_info si;
	int rc = vm_snapshot(r.vm, dir, true, &si, &e);
	vm_request_stop(r.vm);
	pthread_join(r.t, NULL);
	vm_destroy(r.vm);
	if (rc)
		return printf("   snapshot: %s\n", e.msg), 1;
	cfg.start_paused = false;
	cfg.restore = dir;
	cfg.slot_taps[0] = NULL;
	struct vm *vm;
	if (vm_create(&cfg, &vm, &e) == 0 ||
	    !strstr(e.msg, "hot-plug NIC slot 0 held a TAP at the snapshot; give one with --slot-nic"))
		return printf("   restore without the TAP: %s\n", e.msg), 1;
	cfg.slot_taps[0] = "nbslot0";
	if (vm_create(&cfg, &vm, &e))
		return printf("   restore with the TAP: %s\n", e.msg), 1;
	vm_destroy(vm);
	/* A TAP --net: a fork's child could not open it; refused up front. */
	struct fork_call call = { 0 };
	cfg = (struct vm_config){ .mem_size = 16 << 20, .ncpus = 1, .bios = "none",
				  .kernel = kernel, .nnets = 1, .fork_children = fork_children_stub,
				  .fork_ctx = &call };
	cfg.nets[0] = (struct net_opts){ .kind = NET_TAP, .ifname = "nbtap0" };
	if (vm_create(&cfg, &vm, &e))
		return printf("   vm_create with a TAP: %s\n", e.msg), 1;
	struct vm_fork_child kids[1];
	unsigned started;
	rc = vm_fork(vm, dir, 1, false, kids, &started, NULL, &e);
	vm_destroy(vm);
	if (rc != -EINVAL || !strstr(e.msg, "fork: net0 is a TAP (nbtap0)") || call.n)
		return printf("   fork of a TAP VM: %d %s\n", rc, e.msg), 1;
	return 0;
}

struct nic_slot_job {
	const char *dir, *kernel;
	int rc;
};

/* A thread of its own in a new network namespace (a namespace is a
 * thread's: the test's other threads stay where they are, and no fork of a
 * threaded process is needed). */
static void *nic_slot_thread(void *arg)
{
	struct nic_slot_job *j = arg;
	j->rc = unshare(CLONE_NEWNET) < 0 ? 77 : nic_slot_snapshot_in_namespace(j->dir, j->kernel);
	return NULL;
}

TEST(vm_snapshot_with_a_hot_plugged_nic_restores_only_with_a_tap_in_its_slot_fork_refuses_taps)
{
	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("skip vm_snapshot_with_a_hot_plugged_nic: no /dev/net/tun\n");
		return;
	}
	char dir[] = "/tmp/nimbus-vmtest-nsnap-XXXXXX";
	uint32_t prog[] = { 0x0000006fu /* j . */ };
	char kernel[64];
	write_file(kernel, prog, sizeof prog);
	EXPECT(mkdtemp(dir) != NULL);
	struct nic_slot_job j = { dir, kernel, 0 };
	pthread_t t;
	EXPECT_EQ(pthread_create(&t, NULL, nic_slot_thread, &j), 0);
	pthread_join(t, NULL);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, kernel);
	EXPECT_EQ(system(cmd), 0);
	if (j.rc == 77) {
		printf("skip vm_snapshot_with_a_hot_plugged_nic: no network namespace\n");
		return;
	}
	EXPECT_EQ(j.rc, 0);
}
