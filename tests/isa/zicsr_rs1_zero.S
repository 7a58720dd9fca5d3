/*
 * zicsr_rs1_zero: CSRRS/CSRRC with rs1 != x0 attempt a write even when the
 * register holds 0 (unprivileged spec 9.1, table 9.1), so on a read-only
 * CSR they raise illegal instruction (privileged spec 2.1), mtval = bits.
 *
 * isa-skip-qemu: QEMU 7.2 decides on the value of rs1, not its number, and does not trap
 */
#include "isa.h"

TEST_MAIN()
	.option push
	.option norvc
	li a6, 0
	la s0, 1f
	EXPECT_TRAP
1:	csrrs a5, cycle, a6
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	LOAD_TRAP a5, ISA_T_TVAL
	lwu a4, 0(s0)
	sub a5, a5, a4
	CHECK(a5, 0)
	la s0, 2f
	EXPECT_TRAP
2:	csrrc a5, mhartid, a6
	CHECK_MCAUSE(CAUSE_ILLEGAL)
	CHECK_MEPC_AT(2b)
	.option pop
	PASS()
