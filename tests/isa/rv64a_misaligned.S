/*
 * rv64a_misaligned: a misaligned AMO must raise a store/AMO exception
 * (unprivileged spec 8.4 and priv. spec 3.7.1: "store/AMO address-misaligned"
 * or "store/AMO access fault"; no Zam), with tval = the address.
 *
 * isa-skip-qemu: QEMU 7.2 raises load address-misaligned (cause 4) for a misaligned AMO
 */
#include "isa.h"

	.data
	.balign 16
mem:	.dword 0, 0

TEST_MAIN()
	// misaligned AMO: store/AMO address-misaligned (6) or access fault (7)
	la a4, mem + 2
	EXPECT_TRAP
	amoadd.w a5, a6, (a4)
	LOAD_TRAP a5, ISA_T_CAUSE
	addi a5, a5, -CAUSE_MISALIGNED_STORE
	sltiu a5, a5, 2
	CHECK(a5, 1)
	LOAD_TRAP a5, ISA_T_TVAL
	CHECK_ADDR(a5, mem + 2)
	la a4, mem + 4
	EXPECT_TRAP
	amoswap.d a5, a6, (a4)
	LOAD_TRAP a5, ISA_T_CAUSE
	addi a5, a5, -CAUSE_MISALIGNED_STORE
	sltiu a5, a5, 2
	CHECK(a5, 1)
	PASS()
