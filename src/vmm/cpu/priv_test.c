/*
 * Unit tests of the privileged architecture: CSR access rules, trap entry
 * and return, delegation, interrupt priority and masking, WFI sleep and
 * wake-up (from another thread and from timer deadlines), Sstc, counter
 * gating, TW/TSR/TVM, and the fatal trap-loop report.
 */
#include "lib/testing.h"
#include "vmm/cpu/test_asm.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#define HANDLER (RAM_BASE + 0x800)
#define SHANDLER (RAM_BASE + 0xa00)

static uint64_t stop_here(struct tmach *t)
{
	uint64_t at = t->at;
	tm_emit(t, JAL(0, 0));
	return at;
}

static uint64_t x(struct tmach *t, unsigned r) { return hart_get_x(t->h[0], r); }

static uint64_t csr(struct tmach *t, unsigned n)
{
	uint64_t v = 0xdeadbeef;
	hart_csr_read(t->h[0], n, &v);
	return v;
}

/* M handler: x30 = mcause, x31 = mtval, then stop.  S handler likewise. */
static void handlers(struct tmach *t, uint64_t *mstop, uint64_t *sstop)
{
	uint64_t save = t->at;
	tm_org(t, HANDLER);
	tm_emit(t, CSRR(30, CSR_MCAUSE));
	tm_emit(t, CSRR(31, CSR_MTVAL));
	*mstop = stop_here(t);
	tm_org(t, SHANDLER);
	tm_emit(t, CSRR(28, CSR_SCAUSE));
	tm_emit(t, CSRR(29, CSR_STVAL));
	*sstop = stop_here(t);
	tm_org(t, save);
	hart_csr_write(t->h[0], CSR_MTVEC, HANDLER);
	hart_csr_write(t->h[0], CSR_STVEC, SHANDLER);
}

static void enter(struct hart *h, unsigned priv, uint64_t pc)
{
	h->priv = priv;
	h->pc = pc;
	hart_update_ctx(h);
}

TEST(illegal_encodings_trap_with_the_raw_bits_in_mtval)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	tm_emit(&t, 0xffffffffu);
	tm_run_to(t.h[0], ms, 10);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	EXPECT_EQ(x(&t, 31), 0xffffffffu);
	/* The all-zero 16-bit word is defined illegal. */
	tm_org(&t, RAM_BASE + 0x100);
	tm_emitc(&t, 0x0000);
	hart_set_pc(t.h[0], RAM_BASE + 0x100);
	tm_run_to(t.h[0], ms, 10);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	EXPECT_EQ(x(&t, 31), 0);
	EXPECT_EQ(csr(&t, CSR_MEPC), RAM_BASE + 0x100);
	/* A reserved compressed form (c.lwsp with rd = 0) carries its 16 bits. */
	tm_org(&t, RAM_BASE + 0x200);
	tm_emitc(&t, 0x4002);
	hart_set_pc(t.h[0], RAM_BASE + 0x200);
	tm_run_to(t.h[0], ms, 10);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	EXPECT_EQ(x(&t, 31), 0x4002);
	tm_fini(&t);
}

TEST(unknown_csr_and_writes_to_read_only_csrs_are_illegal)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	tm_emit(&t, CSRR(1, 0x7c0));    /* custom, unimplemented */
	tm_run_to(t.h[0], ms, 10);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	EXPECT_EQ(x(&t, 31), CSRR(1, 0x7c0));

	tm_org(&t, RAM_BASE + 0x100);
	tm_emit(&t, CSRR(2, CSR_MHARTID));         /* csrrs x2, mhartid, x0: fine */
	tm_emit(&t, CSRRS(3, CSR_MHARTID, 0));
	tm_emit(&t, CSRRW(0, CSR_MHARTID, 2));     /* a write: illegal */
	hart_set_pc(t.h[0], RAM_BASE + 0x100);
	x(&t, 30);
	hart_set_x(t.h[0], 30, 0);
	tm_run_to(t.h[0], ms, 10);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	EXPECT_EQ(csr(&t, CSR_MEPC), RAM_BASE + 0x108);
	/* pmpcfg1 does not exist on RV64; the RV32-only cycleh neither. */
	EXPECT(hart_csr_read(t.h[0], 0x3a1, &(uint64_t){0}) != 0);
	EXPECT(hart_csr_read(t.h[0], 0xc80, &(uint64_t){0}) != 0);
	tm_fini(&t);
}

TEST(supervisor_code_cannot_touch_machine_csrs)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	tm_emit(&t, CSRR(1, CSR_SSTATUS));
	tm_emit(&t, CSRR(2, CSR_MSTATUS));
	enter(t.h[0], PRV_S, RAM_BASE);
	tm_run_to(t.h[0], ms, 10);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	EXPECT_EQ(csr(&t, CSR_MEPC), RAM_BASE + 4);
	EXPECT_EQ((csr(&t, CSR_MSTATUS) >> 11) & 3, PRV_S);   /* MPP */
	EXPECT_EQ(hart_priv(t.h[0]), PRV_M);
	tm_fini(&t);
}

TEST(mstatus_warl_fields_read_back_legal_values)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	uint64_t v = csr(&t, CSR_MSTATUS);
	EXPECT_EQ((v >> 32) & 0xf, 0xa);   /* UXL = SXL = 64 */
	hart_csr_write(h, CSR_MSTATUS, 1ull << 11);   /* MPP = S */
	hart_csr_write(h, CSR_MSTATUS, 2ull << 11);   /* reserved: keeps S */
	EXPECT_EQ((csr(&t, CSR_MSTATUS) >> 11) & 3, 1);
	EXPECT_EQ(csr(&t, CSR_MISA), 0x800000000014112dull);
	hart_csr_write(h, CSR_MEPC, 0x80000003);
	EXPECT_EQ(csr(&t, CSR_MEPC), 0x80000002);
	hart_csr_write(h, CSR_MIDELEG, ~0ull);
	EXPECT_EQ(csr(&t, CSR_MIDELEG), 0x222);
	hart_csr_write(h, CSR_MEDELEG, ~0ull);
	EXPECT_EQ(csr(&t, CSR_MEDELEG) & (1 << 11), 0);
	/* sstatus is a view of mstatus. */
	hart_csr_write(h, CSR_SSTATUS, ~0ull);
	v = csr(&t, CSR_MSTATUS);
	EXPECT(v & MSTATUS_SUM);
	EXPECT(!(v & MSTATUS_MIE));
	EXPECT(v & MSTATUS_SD);
	tm_fini(&t);
}

TEST(ecall_from_user_is_delegated_to_supervisor_by_medeleg)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	tm_emit(&t, ECALL());
	enter(t.h[0], PRV_U, RAM_BASE);
	tm_run_to(t.h[0], ms, 10);
	EXPECT_EQ(x(&t, 30), EXC_ECALL_U);        /* not delegated: M */

	hart_csr_write(t.h[0], CSR_MEDELEG, 1 << EXC_ECALL_U);
	enter(t.h[0], PRV_U, RAM_BASE);
	tm_run_to(t.h[0], ss, 10);
	EXPECT_EQ(x(&t, 28), EXC_ECALL_U);
	EXPECT_EQ(hart_priv(t.h[0]), PRV_S);
	EXPECT_EQ(csr(&t, CSR_SEPC), RAM_BASE);
	EXPECT_EQ(csr(&t, CSR_SSTATUS) & MSTATUS_SPP, 0);   /* came from U */

	/* Delegation never lowers the privilege: ecall in M stays in M. */
	enter(t.h[0], PRV_M, RAM_BASE);
	hart_csr_write(t.h[0], CSR_MEDELEG, 0xb3ff);
	tm_run_to(t.h[0], ms, 10);
	EXPECT_EQ(x(&t, 30), EXC_ECALL_M);
	tm_fini(&t);
}

TEST(mret_and_sret_restore_privilege_and_interrupt_enables)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	struct hart *h = t.h[0];
	/* M: MPP = S, MPIE = 1, mepc = 0x100; mret lands in S with MIE = 1. */
	tm_emit(&t, MRET());
	tm_org(&t, RAM_BASE + 0x100);
	tm_emit(&t, SRET());
	tm_org(&t, RAM_BASE + 0x200);
	uint64_t end = stop_here(&t);
	hart_csr_write(h, CSR_MSTATUS, (1ull << 11) | MSTATUS_MPIE | MSTATUS_SPIE | MSTATUS_MPRV);
	hart_csr_write(h, CSR_MEPC, RAM_BASE + 0x100);
	hart_csr_write(h, CSR_SEPC, RAM_BASE + 0x200);
	EXPECT_EQ(hart_step(h, 1), 1);
	EXPECT_EQ(hart_priv(h), PRV_S);
	uint64_t s = csr(&t, CSR_MSTATUS);
	EXPECT(s & MSTATUS_MIE);
	EXPECT(s & MSTATUS_MPIE);
	EXPECT_EQ((s >> 11) & 3, PRV_U);
	EXPECT(!(s & MSTATUS_MPRV));   /* cleared when leaving M */
	EXPECT_EQ(hart_step(h, 1), 1);   /* sret with SPP = U */
	EXPECT_EQ(hart_priv(h), PRV_U);
	s = csr(&t, CSR_MSTATUS);
	EXPECT(s & MSTATUS_SIE);
	EXPECT_EQ(hart_pc(h), end);
	/* sret in U is illegal; mret in S is illegal. */
	enter(h, PRV_U, RAM_BASE + 0x100);
	tm_run_to(h, ms, 10);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	enter(h, PRV_S, RAM_BASE);
	hart_set_x(h, 30, 0);
	tm_run_to(h, ms, 10);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	tm_fini(&t);
}

TEST(interrupts_are_taken_in_priority_order_and_vectored)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	/* Vector table at HANDLER: entry i stores i in x30 then stops. */
	for (unsigned i = 0; i < 12; i++)
		tm_w32(&t, HANDLER + 4 * i, JAL(0, (int32_t)(0x100 - 4 * i)));
	tm_org(&t, HANDLER + 0x100);
	tm_emit(&t, CSRR(30, CSR_MCAUSE));
	uint64_t stop = stop_here(&t);
	tm_org(&t, RAM_BASE);
	tm_emit(&t, ADDI(5, 5, 1));
	tm_emit(&t, JAL(0, -4));
	hart_csr_write(h, CSR_MTVEC, HANDLER | 1);
	hart_csr_write(h, CSR_MIE, 0xaaa);
	hart_set_irq(h, HART_IRQ_MSIP, 1);
	hart_set_irq(h, HART_IRQ_MTIP, 1);
	hart_set_irq(h, HART_IRQ_SEIP, 1);
	hart_step(h, 5);
	EXPECT(x(&t, 5) > 0);            /* MIE = 0: nothing taken */
	hart_csr_write(h, CSR_MSTATUS, MSTATUS_MIE);
	hart_step(h, 1);
	EXPECT_EQ(hart_pc(h), HANDLER + 4 * 3);   /* MSI beats MTI and SEI */
	tm_run_to(h, stop, 10);
	EXPECT_EQ(x(&t, 30), CAUSE_IRQ | 3);
	hart_set_irq(h, HART_IRQ_MEIP, 1);
	hart_csr_write(h, CSR_MSTATUS, MSTATUS_MIE);
	hart_set_pc(h, RAM_BASE);
	hart_step(h, 1);
	EXPECT_EQ(hart_pc(h), HANDLER + 4 * 11);  /* MEI first of all */
	hart_set_irq(h, HART_IRQ_MEIP, 0);
	hart_set_irq(h, HART_IRQ_MSIP, 0);
	hart_csr_write(h, CSR_MSTATUS, MSTATUS_MIE);
	hart_set_pc(h, RAM_BASE);
	hart_step(h, 1);
	EXPECT_EQ(hart_pc(h), HANDLER + 4 * 7);   /* then MTI before SEI */
	/* Exceptions use the base even when vectored. */
	hart_set_irq(h, HART_IRQ_MTIP, 0);
	hart_set_irq(h, HART_IRQ_SEIP, 0);
	tm_w32(&t, RAM_BASE + 0x300, ECALL());
	hart_set_pc(h, RAM_BASE + 0x300);
	hart_step(h, 1);
	EXPECT_EQ(hart_pc(h), HANDLER);
	tm_fini(&t);
}

TEST(csr_write_that_unmasks_an_interrupt_traps_before_the_next_instruction)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	struct hart *h = t.h[0];
	tm_emit(&t, CSRRSI(0, CSR_MSTATUS, 8));   /* set MIE */
	tm_emit(&t, ADDI(5, 5, 1));
	hart_csr_write(h, CSR_MIE, 1 << HART_IRQ_MSIP);
	hart_set_irq(h, HART_IRQ_MSIP, 1);
	tm_run_to(h, ms, 10);
	EXPECT_EQ(x(&t, 5), 0);
	EXPECT_EQ(csr(&t, CSR_MEPC), RAM_BASE + 4);
	EXPECT_EQ(x(&t, 30), CAUSE_IRQ | HART_IRQ_MSIP);
	tm_fini(&t);
}

TEST(delegated_interrupts_wait_while_in_machine_mode_and_fire_in_supervisor)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	struct hart *h = t.h[0];
	tm_emit(&t, ADDI(5, 5, 1));
	tm_emit(&t, JAL(0, -4));
	hart_csr_write(h, CSR_MIDELEG, 1 << HART_IRQ_SSIP);
	hart_csr_write(h, CSR_MIE, 1 << HART_IRQ_SSIP);
	hart_csr_write(h, CSR_MSTATUS, MSTATUS_MIE | MSTATUS_SIE);
	hart_csr_write(h, CSR_MIP, 1 << HART_IRQ_SSIP);   /* M software-sets SSIP */
	hart_step(h, 10);
	EXPECT_EQ(hart_priv(h), PRV_M);
	EXPECT(x(&t, 5) >= 4);
	EXPECT_EQ(csr(&t, CSR_SIP), 1 << HART_IRQ_SSIP);
	/* In S with SIE set it is taken, to stvec. */
	enter(h, PRV_S, RAM_BASE);
	tm_run_to(h, ss, 10);
	EXPECT_EQ(x(&t, 28), CAUSE_IRQ | HART_IRQ_SSIP);
	EXPECT_EQ(hart_priv(h), PRV_S);
	EXPECT(csr(&t, CSR_SSTATUS) & MSTATUS_SPP);
	EXPECT(!(csr(&t, CSR_SSTATUS) & MSTATUS_SIE));
	/* From U a delegated interrupt is taken even with SIE clear. */
	hart_set_x(h, 28, 0);
	enter(h, PRV_U, RAM_BASE);
	tm_run_to(h, ss, 10);
	EXPECT_EQ(x(&t, 28), CAUSE_IRQ | HART_IRQ_SSIP);
	tm_fini(&t);
}

struct runner {
	struct hart *h;
	enum hart_exit why;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;
	r->why = hart_run(r->h);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static double thread_cpu_seconds(pthread_t th)
{
	clockid_t cid;
	struct timespec ts;
	pthread_getcpuclockid(th, &cid);
	clock_gettime(cid, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(wfi_sleeps_without_spinning_until_an_irq_arrives_from_another_thread)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	tm_emit(&t, WFI());
	tm_emit(&t, ADDI(5, 0, 1));
	tm_emit(&t, JAL(0, 0));
	/* MEIE enabled but MIE clear: WFI wakes, no trap is taken. */
	hart_csr_write(h, CSR_MIE, 1 << HART_IRQ_MEIP);
	struct runner r = { h, HART_EXIT_FATAL };
	pthread_t th;
	pthread_create(&th, NULL, run_thread, &r);
	sleep_ms(30);
	double c0 = thread_cpu_seconds(th);
	sleep_ms(100);
	double used = thread_cpu_seconds(th) - c0;
	EXPECT(used < 0.02);
	EXPECT_EQ(x(&t, 5), 0);
	hart_set_irq(h, HART_IRQ_MEIP, 1);
	for (int i = 0; i < 100 && x(&t, 5) == 0; i++)
		sleep_ms(2);
	hart_request_exit(h);
	pthread_join(th, NULL);
	EXPECT_EQ(r.why, HART_EXIT_REQUESTED);
	EXPECT_EQ(x(&t, 5), 1);
	tm_fini(&t);
}

TEST(wfi_wakes_at_the_mtimecmp_deadline_and_takes_the_timer_interrupt)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	struct hart *h = t.h[0];
	tm_emit(&t, WFI());
	tm_emit(&t, JAL(0, -4));
	hart_csr_write(h, CSR_MIE, 1 << HART_IRQ_MTIP);
	hart_csr_write(h, CSR_MSTATUS, MSTATUS_MIE);
	hart_set_mtimecmp(h, vclock_now(&t.clk) + VCLOCK_DEFAULT_HZ / 50);   /* 20 ms */
	struct runner r = { h, HART_EXIT_FATAL };
	pthread_t th;
	pthread_create(&th, NULL, run_thread, &r);
	sleep_ms(5);
	EXPECT_EQ(x(&t, 30), 0);
	for (int i = 0; i < 200 && hart_pc(h) != ms; i++)
		sleep_ms(2);
	hart_request_exit(h);
	pthread_join(th, NULL);
	EXPECT_EQ(r.why, HART_EXIT_REQUESTED);
	EXPECT_EQ(x(&t, 30), CAUSE_IRQ | HART_IRQ_MTIP);
	/* Moving mtimecmp into the future clears MTIP. */
	hart_set_mtimecmp(h, UINT64_MAX);
	hart_step(h, 1);
	EXPECT_EQ(csr(&t, CSR_MIP) & (1 << HART_IRQ_MTIP), 0);
	tm_fini(&t);
}

TEST(wfi_is_illegal_in_user_mode_and_in_supervisor_with_tw)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	struct hart *h = t.h[0];
	tm_emit(&t, WFI());
	enter(h, PRV_U, RAM_BASE);
	tm_run_to(h, ms, 5);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	hart_set_x(h, 30, 0);
	hart_csr_write(h, CSR_MSTATUS, MSTATUS_TW);
	enter(h, PRV_S, RAM_BASE);
	tm_run_to(h, ms, 5);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	EXPECT_EQ(x(&t, 31), WFI());
	tm_fini(&t);
}

TEST(tsr_makes_sret_illegal_and_tvm_guards_satp_and_sfence)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	struct hart *h = t.h[0];
	tm_emit(&t, SRET());
	tm_org(&t, RAM_BASE + 0x100);
	tm_emit(&t, CSRR(1, CSR_SATP));
	tm_org(&t, RAM_BASE + 0x200);
	tm_emit(&t, SFENCE_VMA(0, 0));
	hart_csr_write(h, CSR_MSTATUS, MSTATUS_TSR | MSTATUS_TVM);
	uint64_t pcs[3] = { RAM_BASE, RAM_BASE + 0x100, RAM_BASE + 0x200 };
	for (int i = 0; i < 3; i++) {
		hart_set_x(h, 30, 0);
		enter(h, PRV_S, pcs[i]);
		hart_csr_write(h, CSR_MSTATUS, MSTATUS_TSR | MSTATUS_TVM);
		tm_run_to(h, ms, 5);
		EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
		EXPECT_EQ(csr(&t, CSR_MEPC), pcs[i]);
	}
	tm_fini(&t);
}

TEST(counters_are_gated_by_mcounteren_and_scounteren)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	struct hart *h = t.h[0];
	tm_emit(&t, CSRR(1, CSR_TIME));
	uint64_t end = stop_here(&t);
	enter(h, PRV_S, RAM_BASE);
	tm_run_to(h, ms, 5);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	hart_csr_write(h, CSR_MCOUNTEREN, 2);
	enter(h, PRV_S, RAM_BASE);
	tm_run_to(h, end, 5);
	EXPECT_EQ(hart_pc(h), end);
	EXPECT(x(&t, 1) > 0);
	hart_set_x(h, 30, 0);
	enter(h, PRV_U, RAM_BASE);
	tm_run_to(h, ms, 5);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);      /* scounteren.TM = 0 */
	hart_csr_write(h, CSR_SCOUNTEREN, 2);
	enter(h, PRV_U, RAM_BASE);
	tm_run_to(h, end, 5);
	EXPECT_EQ(hart_pc(h), end);
	tm_fini(&t);
}

TEST(sstc_stimecmp_drives_stip_only_when_stce_is_set)
{
	struct tmach t;
	uint64_t ms, ss;
	EXPECT(tm_init(&t, 1) == 0);
	handlers(&t, &ms, &ss);
	struct hart *h = t.h[0];
	/* STCE = 0: STIP is an M-writable bit and stimecmp is illegal from S. */
	hart_csr_write(h, CSR_MIP, 1 << HART_IRQ_STIP);
	EXPECT(csr(&t, CSR_MIP) & (1 << HART_IRQ_STIP));
	hart_csr_write(h, CSR_MIP, 0);
	hart_csr_write(h, CSR_MCOUNTEREN, 2);
	tm_emit(&t, CSRR(1, CSR_STIMECMP));
	uint64_t end = stop_here(&t);
	enter(h, PRV_S, RAM_BASE);
	tm_run_to(h, ms, 5);
	EXPECT_EQ(x(&t, 30), EXC_ILLEGAL);
	/* STCE = 1: stimecmp in the past raises STIP, in the future clears it. */
	hart_csr_write(h, CSR_MENVCFG, 1ull << 63);
	enter(h, PRV_S, RAM_BASE);
	tm_run_to(h, end, 5);
	EXPECT_EQ(hart_pc(h), end);
	EXPECT_EQ(x(&t, 1), UINT64_MAX);
	hart_csr_write(h, CSR_STIMECMP, 0);
	EXPECT(csr(&t, CSR_MIP) & (1 << HART_IRQ_STIP));
	hart_csr_write(h, CSR_MIP, 0);   /* read-only while STCE = 1 */
	EXPECT(csr(&t, CSR_MIP) & (1 << HART_IRQ_STIP));
	hart_csr_write(h, CSR_STIMECMP, UINT64_MAX);
	EXPECT_EQ(csr(&t, CSR_MIP) & (1 << HART_IRQ_STIP), 0);
	/* Delegated and enabled, it interrupts S-mode when the time comes. */
	hart_csr_write(h, CSR_MIDELEG, 1 << HART_IRQ_STIP);
	hart_csr_write(h, CSR_MIE, 1 << HART_IRQ_STIP);
	hart_csr_write(h, CSR_MSTATUS, MSTATUS_SIE);
	hart_csr_write(h, CSR_STIMECMP, vclock_now(&t.clk) + 1000);   /* 100 us */
	enter(h, PRV_S, end);
	sleep_ms(1);
	tm_run_to(h, ss, 100000);
	EXPECT_EQ(x(&t, 28), CAUSE_IRQ | HART_IRQ_STIP);
	tm_fini(&t);
}

TEST(satp_write_with_unsupported_mode_is_ignored)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	hart_csr_write(h, CSR_SATP, (9ull << 60) | 0x80100);
	EXPECT_EQ(csr(&t, CSR_SATP), (9ull << 60) | 0x80100);
	hart_csr_write(h, CSR_SATP, (11ull << 60) | 0x80200);
	EXPECT_EQ(csr(&t, CSR_SATP), (9ull << 60) | 0x80100);
	hart_csr_write(h, CSR_SATP, (1ull << 60) | 0x80200);
	EXPECT_EQ(csr(&t, CSR_SATP), (9ull << 60) | 0x80100);
	hart_csr_write(h, CSR_SATP, (10ull << 60) | 0x80300);
	EXPECT_EQ(csr(&t, CSR_SATP) >> 60, 10);
	tm_fini(&t);
}

TEST(a_trap_loop_at_an_unmapped_handler_is_fatal_with_a_report)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	tm_li(&t, 1, 0x40000000);
	tm_emit(&t, JALR(0, 1, 0));   /* jump to nothing, mtvec = 0 (nothing) */
	struct runner r = { h, HART_EXIT_REQUESTED };
	pthread_t th;
	pthread_create(&th, NULL, run_thread, &r);
	pthread_join(th, NULL);
	EXPECT_EQ(r.why, HART_EXIT_FATAL);
	const char *e = hart_error(h);
	EXPECT(strstr(e, "trap loop") != NULL);
	EXPECT(strstr(e, "instruction access fault") != NULL);
	EXPECT(strstr(e, "mtvec=0x0") != NULL);
	EXPECT(strstr(e, "pc 0x40000000") != NULL);
	tm_fini(&t);
}

TEST(garbage_with_a_handler_pointing_at_garbage_is_fatal)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	hart_csr_write(h, CSR_MTVEC, RAM_BASE + 0x4000);   /* zeros: illegal */
	tm_emit(&t, 0xffffffffu);
	hart_step(h, 1000);
	EXPECT(hart_is_fatal(h));
	EXPECT(strstr(hart_error(h), "illegal instruction") != NULL);
	EXPECT(strstr(hart_error(h), "0x80004000") != NULL);
	tm_fini(&t);
}

TEST(csrrs_on_mip_does_not_latch_the_external_seip_line)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	tm_emit(&t, CSRRSI(1, CSR_MIP, 2));   /* set SSIP while SEIP is driven */
	uint64_t end = stop_here(&t);
	hart_set_irq(h, HART_IRQ_SEIP, 1);
	tm_run_to(h, end, 5);
	EXPECT(x(&t, 1) & (1 << HART_IRQ_SEIP));   /* the read shows the line */
	hart_set_irq(h, HART_IRQ_SEIP, 0);
	EXPECT_EQ(csr(&t, CSR_MIP), 1 << HART_IRQ_SSIP);
	/* The software-written SEIP is OR-ed in and clears independently. */
	hart_csr_write(h, CSR_MIP, 1 << HART_IRQ_SEIP);
	hart_set_irq(h, HART_IRQ_SEIP, 1);
	hart_set_irq(h, HART_IRQ_SEIP, 0);
	EXPECT(csr(&t, CSR_MIP) & (1 << HART_IRQ_SEIP));
	hart_csr_write(h, CSR_MIP, 0);
	EXPECT_EQ(csr(&t, CSR_MIP), 0);
	tm_fini(&t);
}

TEST(a_handler_that_runs_into_a_fault_without_returning_is_fatal)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	/* The handler does some work, then hits junk before any mret. */
	tm_org(&t, HANDLER);
	tm_emit(&t, ADDI(5, 5, 1));
	tm_emit(&t, ADDI(6, 6, 1));
	tm_emit(&t, 0xffffffffu);
	tm_org(&t, RAM_BASE);
	tm_emit(&t, 0);
	hart_csr_write(h, CSR_MTVEC, HANDLER);
	hart_step(h, 10000);
	EXPECT(hart_is_fatal(h));
	EXPECT(strstr(hart_error(h), "pc 0x80000808") != NULL);
	EXPECT(strstr(hart_error(h), "first trap: illegal instruction (cause 2) at pc 0x80000000") != NULL);
	tm_fini(&t);
}

TEST(an_ecall_loop_whose_handler_returns_is_not_fatal)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	/* Handler: mepc += 4; mret.  Main: ecall; j back to the ecall. */
	tm_org(&t, HANDLER);
	tm_emit(&t, CSRR(7, CSR_MEPC));
	tm_emit(&t, ADDI(7, 7, 4));
	tm_emit(&t, CSRW(CSR_MEPC, 7));
	tm_emit(&t, MRET());
	tm_org(&t, RAM_BASE);
	tm_emit(&t, ECALL());
	tm_emit(&t, JAL(0, -4));
	hart_csr_write(h, CSR_MTVEC, HANDLER);
	EXPECT_EQ(hart_step(h, 200000), 200000);
	EXPECT(!hart_is_fatal(h));
	tm_fini(&t);
}

TEST(mtimecmp_writes_show_in_mip_on_the_next_csr_read)
{
	struct tmach t;
	EXPECT(tm_init(&t, 1) == 0);
	struct hart *h = t.h[0];
	hart_set_mtimecmp(h, 0);
	EXPECT(csr(&t, CSR_MIP) & (1 << HART_IRQ_MTIP));
	hart_set_mtimecmp(h, UINT64_MAX);
	EXPECT_EQ(csr(&t, CSR_MIP) & (1 << HART_IRQ_MTIP), 0);
	tm_fini(&t);
}
