/*
 * zicntr: base counters (unprivileged spec ch. 10, privileged 3.1.10-11,
 * 4.1.3): cycle, instret and time advance; time agrees with the CLINT's
 * mtime; mcycle/minstret mirror cycle/instret; mcounteren/scounteren gate
 * S- and U-mode reads (a disabled counter read is an illegal instruction).
 */
#include "isa.h"

TEST_MAIN()
	// cycle advances across a loop
	rdcycle s0
	li a4, 1000
1:	addi a4, a4, -1
	bnez a4, 1b
	rdcycle s1
	sltu a5, s0, s1
	CHECK(a5, 1)
	// instret counts at least the 2000 loop instructions
	rdinstret s0
	li a4, 1000
2:	addi a4, a4, -1
	bnez a4, 2b
	rdinstret s1
	sub a5, s1, s0
	li a6, 2000
	sltu a5, a5, a6
	CHECK(a5, 0)
	// mcycle / minstret are the same counters (monotonic between reads)
	rdcycle s0
	csrr s1, mcycle
	rdcycle s2
	sltu a5, s1, s0
	CHECK(a5, 0)
	sltu a5, s2, s1
	CHECK(a5, 0)
	rdinstret s0
	csrr s1, minstret
	rdinstret s2
	sltu a5, s1, s0
	CHECK(a5, 0)
	sltu a5, s2, s1
	CHECK(a5, 0)

	// time advances (bounded wait) and lies between two mtime reads
	rdtime s0
	li a4, 10000000
3:	rdtime s1
	bne s1, s0, 4f
	addi a4, a4, -1
	bnez a4, 3b
4:	sltu a5, s0, s1
	CHECK(a5, 1)
	li a4, CLINT_MTIME
	ld s0, 0(a4)
	rdtime s1
	ld s2, 0(a4)
	sltu a5, s1, s0
	CHECK(a5, 0)
	sltu a5, s2, s1
	CHECK(a5, 0)
	// ... and moves at a plausible rate: 10 MHz on virt, so 1M loop
	// iterations take well under 10 s of guest time
	rdtime s0
	li a4, 1000000
5:	addi a4, a4, -1
	bnez a4, 5b
	rdtime s1
	sub a5, s1, s0
	li a6, 100000000
	sltu a5, a5, a6
	CHECK(a5, 1)

	// counter enables: everything enabled by the runtime, U reads all three
	GOTO_U(10f)
10:	rdcycle s0
	rdtime s1
	rdinstret s2
	TO_M()
	// scounteren.CY = 0: U read of cycle is illegal, S read still fine
	csrci scounteren, 1
	GOTO_S(11f)
11:	rdcycle s0
	TO_M()
	GOTO_U(12f)
12:	EXPECT_TRAP
13:	rdcycle s0
	TO_M()
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(13b)
	// mcounteren.IR = 0: S read of instret is illegal
	csrci mcounteren, 4
	GOTO_S(14f)
14:	EXPECT_TRAP
15:	rdinstret s0
	TO_M()
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(15b)
	// mcounteren.TM = 0: S read of time is illegal
	csrci mcounteren, 2
	GOTO_S(16f)
16:	EXPECT_TRAP
17:	rdtime s0
	TO_M()
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(17b)
	// M-mode reads are not gated
	rdtime s0
	rdinstret s0
	csrsi mcounteren, 7
	csrsi scounteren, 7
	PASS()
