/*
 * rv64i_mem: loads and stores (unprivileged spec 2.6, 5.3): LB/LH/LW sign
 * extension, LBU/LHU/LWU zero extension, LD; SB/SH/SW/SD write only their
 * bytes (little-endian); positive and negative offsets; load to x0 has no
 * architectural effect.
 */
#include "isa.h"

	.data
	.balign 16
buf:	.dword 0x8182838485868788, 0x0102030405060708
buf2:	.dword 0, 0, 0

TEST_MAIN()
	la a4, buf
	lb a5, 0(a4)
	CHECK(a5, 0xffffffffffffff88)
	lbu a5, 0(a4)
	CHECK(a5, 0x88)
	lb a5, 8(a4)
	CHECK(a5, 0x08)
	lh a5, 6(a4)
	CHECK(a5, 0xffffffffffff8182)
	lhu a5, 6(a4)
	CHECK(a5, 0x8182)
	lh a5, 8(a4)
	CHECK(a5, 0x0708)
	lw a5, 4(a4)
	CHECK(a5, 0xffffffff81828384)
	lwu a5, 4(a4)
	CHECK(a5, 0x81828384)
	lw a5, 12(a4)
	CHECK(a5, 0x01020304)
	ld a5, 0(a4)
	CHECK(a5, 0x8182838485868788)
	addi a6, a4, 16
	ld a5, -8(a6)
	CHECK(a5, 0x0102030405060708)
	lbu a5, -1(a6)
	CHECK(a5, 0x01)

	// stores write only their own bytes
	la a4, buf2
	li a6, -1
	sd a6, 0(a4)
	sd a6, 8(a4)
	li a6, 0x1122334455667788
	sb a6, 1(a4)
	ld a5, 0(a4)
	CHECK(a5, 0xffffffffffff88ff)
	sh a6, 2(a4)
	ld a5, 0(a4)
	CHECK(a5, 0xffffffff778888ff)
	sw a6, 4(a4)
	ld a5, 0(a4)
	CHECK(a5, 0x55667788778888ff)
	sd a6, 8(a4)
	ld a5, 8(a4)
	CHECK(a5, 0x1122334455667788)
	addi a7, a4, 16
	sw zero, -4(a7)
	ld a5, 8(a4)
	CHECK(a5, 0x0000000055667788)
	ld a5, 16(a4)
	CHECK(a5, 0)              // nothing spilled past the end

	// load into x0 is discarded
	ld zero, 0(a4)
	CHECK(zero, 0)
	// store then load of the same register value round-trips
	li a6, 0xfedcba9876543210
	sd a6, 16(a4)
	ld a5, 16(a4)
	CHECK(a5, 0xfedcba9876543210)
	PASS()
