/*
 * Rotations in guest code.  RV64GC has no rotate instruction (Zbb's ror is
 * an extension), so compilers write one as two shifts of the same value
 * and an OR of the results:
 *
 *     srli a, s, n        (srliw for 32 bits)
 *     slli b, s, 64 - n   (slliw, 32 - n)
 *     or   d, a, b        (or b, a, or xor/add: the bits do not overlap)
 *
 * often interleaved with other work (SHA-2 rounds do three at once).  The
 * translator emits one host rotate for the OR and drops a shift whose
 * result nobody can see: the one the OR overwrites, or one whose register
 * is written again before it is read.  "See" includes a trap or exit, so
 * the triple and everything between the dropped shift and its register's
 * next write must be plain register arithmetic, which never leaves
 * translated code.
 *
 * The 32-bit case: srliw by n >= 1 leaves bit 31 clear (its value is
 * zero-extended) and slliw's is sign-extended from bit 31 of the rotated
 * value, so their OR is the 32-bit rotation sign-extended, as the host's
 * 32-bit rotate plus the usual *W extension gives.
 */
#include "vmm/cpu/jit/jit_internal.h"
#include "vmm/cpu/ops.h"

/* Ops that read at most rs1 and rs2, write rd and never leave translated code. */
static bool plain(const struct insn *in, bool *reads_rs2)
{
	*reads_rs2 = false;
	switch (in->op) {
	case OP_LUI: case OP_AUIPC:
	case OP_ADDI: case OP_SLTI: case OP_SLTIU: case OP_XORI: case OP_ORI: case OP_ANDI:
	case OP_SLLI: case OP_SRLI: case OP_SRAI:
	case OP_ADDIW: case OP_SLLIW: case OP_SRLIW: case OP_SRAIW:
		return true;
	case OP_ADD: case OP_SUB: case OP_SLL: case OP_SLT: case OP_SLTU: case OP_XOR:
	case OP_SRL: case OP_SRA: case OP_OR: case OP_AND:
	case OP_ADDW: case OP_SUBW: case OP_SLLW: case OP_SRLW: case OP_SRAW:
	case OP_MUL: case OP_MULW:
		*reads_rs2 = true;
		return true;
	default:
		return false;
	}
}

static bool plain_reads(const struct insn *in, bool reads_rs2, unsigned r)
{
	if (in->op == OP_LUI || in->op == OP_AUIPC)
		return false;
	return in->rs1 == r || (reads_rs2 && in->rs2 == r);
}

/* No one can see x[r] after instruction k: it is written by plain
 * arithmetic before any read, trap or exit. */
static bool dead_after(const struct block *b, unsigned k, unsigned r)
{
	for (unsigned m = k + 1; m < b->ninsn; m++) {
		const struct insn *in = &b->insn[m];
		bool rs2;
		if (!plain(in, &rs2) || plain_reads(in, rs2, r))
			return false;
		if (in->rd == r)
			return true;
	}
	return false;   /* the block ends: the next one may read it */
}

/* Instruction k as the OR of a rotation: fills its plan and its shifts'. */
static void try_rotation(const struct block *b, unsigned k, struct rot_plan *plan)
{
	const struct insn *c = &b->insn[k];
	unsigned ra = c->rs1, rb = c->rs2, rd = c->rd;
	if (ra == rb || ra == 0 || rb == 0 || rd == 32)
		return;
	/* The shifts writing ra and rb, with nothing but plain arithmetic
	 * from the earlier of them to k. */
	int ia = -1, ib = -1;
	for (int m = (int)k - 1; m >= 0 && (ia < 0 || ib < 0); m--) {
		bool rs2;
		if (!plain(&b->insn[m], &rs2))
			return;
		if (ia < 0 && b->insn[m].rd == ra)
			ia = m;
		else if (ib < 0 && b->insn[m].rd == rb)
			ib = m;
	}
	if (ia < 0 || ib < 0 || plan[ia].role || plan[ib].role)
		return;
	const struct insn *sa = &b->insn[ia], *sb = &b->insn[ib];
	bool w32 = sa->op == OP_SRLIW || sa->op == OP_SLLIW;
	unsigned width = w32 ? 32 : 64;
	const struct insn *right, *left;
	if (sa->op == (w32 ? OP_SRLIW : OP_SRLI) && sb->op == (w32 ? OP_SLLIW : OP_SLLI)) {
		right = sa;
		left = sb;
	} else if (sb->op == (w32 ? OP_SRLIW : OP_SRLI) && sa->op == (w32 ? OP_SLLIW : OP_SLLI)) {
		right = sb;
		left = sa;
	} else {
		return;
	}
	unsigned s = right->rs1, n = (unsigned)right->imm;
	if (left->rs1 != s || s == ra || s == rb || n == 0 || n >= width ||
	    (unsigned)left->imm != width - n)
		return;
	/* s unchanged from the first shift to k; ra and rb read by k alone
	 * once their shifts wrote them.  (Earlier writes of ra or rb do not
	 * matter: SHA-2's sigma functions reuse one scratch register for
	 * the left shifts of two rotations, written before the second's.) */
	unsigned first = (unsigned)(ia < ib ? ia : ib);
	for (unsigned m = first + 1; m < k; m++) {
		const struct insn *in = &b->insn[m];
		bool rs2;
		(void)plain(in, &rs2);
		if (in->rd == s || (m > (unsigned)ia && in->rd == ra) ||
		    (m > (unsigned)ib && in->rd == rb))
			return;
		if ((m > (unsigned)ia && plain_reads(in, rs2, ra)) ||
		    (m > (unsigned)ib && plain_reads(in, rs2, rb)))
			return;
	}
	bool drop_a = ra == rd || dead_after(b, k, ra);
	bool drop_b = rb == rd || dead_after(b, k, rb);
	if (!drop_a && !drop_b)
		return;   /* both shifts stay: nothing to gain */
	plan[k] = (struct rot_plan){ .role = ROT_HERE, .src = (uint8_t)s, .amount = (uint8_t)n,
				     .w32 = w32 };
	plan[ia].role = drop_a ? ROT_DROP : ROT_KEEP;
	plan[ib].role = drop_b ? ROT_DROP : ROT_KEEP;
}

void rotate_plan(const struct block *b, struct rot_plan *plan)
{
	for (unsigned k = 0; k < b->ninsn; k++)
		plan[k] = (struct rot_plan){ .role = ROT_NONE };
	for (unsigned k = 2; k < b->ninsn; k++) {
		unsigned op = b->insn[k].op;
		if (op == OP_OR || op == OP_XOR || op == OP_ADD)
			try_rotation(b, k, plan);
	}
}
