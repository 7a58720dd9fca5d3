/*
 * libFuzzer target: the translator against the interpreter (issue 7's "fuzz
 * the translator with the same streams").  The input's first 8 bytes seed
 * the registers and data; the rest is guest code, any bytes (16- and 32-bit
 * encodings alike), run from the same state on two machines, one
 * translating everything at once and one interpreting.  A trap handler
 * skips what faults, so a stream runs to its end.  Their architectural
 * state must agree after every chunk of steps, and their memory at the
 * end; a difference aborts with both values.
 *
 * The two sides share nothing but must see the same world, so the only
 * nondeterministic inputs a stream could read, the `time` CSR and the
 * Sstc timer compare, are turned into NOPs before it runs.
 */
#include "vmm/cpu/jit/jit.h"
#include "vmm/cpu/test_asm.h"

#include <stdio.h>
#include <stdlib.h>

#define CODE_BASE RAM_BASE
#define CODE_MAX 4096
#define HANDLER (RAM_BASE + 0x3000)
#define DATA_BASE (RAM_BASE + 0x100000)
#define DATA_SIZE 0x2000
#define STEPS 3000

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* SYSTEM-opcode words naming a CSR whose value depends on host time. */
static void neutralize_time(uint8_t *code, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i += 2) {
		uint32_t w;
		memcpy(&w, code + i, 4);
		unsigned csr = w >> 20;
		if ((w & 0x7f) == 0x73 && (csr == 0xc01 || csr == 0xc81 || csr == 0x14d ||
					   csr == 0x24d)) {
			uint32_t nop = 0x00000013u;
			memcpy(code + i, &nop, 4);
		}
	}
}

static void check(bool same, const char *what, uint64_t a, uint64_t b)
{
	if (same)
		return;
	fprintf(stderr, "jit_fuzz: %s: interpreter %#llx, translator %#llx\n", what,
		(unsigned long long)a, (unsigned long long)b);
	abort();
}

static void compare(struct hart *a, struct hart *b)
{
	char what[32];
	for (unsigned r = 0; r < 32; r++) {
		snprintf(what, sizeof what, "x%u", r);
		check(a->x[r] == b->x[r], what, a->x[r], b->x[r]);
		snprintf(what, sizeof what, "f%u", r);
		check(a->f[r] == b->f[r], what, a->f[r], b->f[r]);
	}
#define SAME(f) check(a->f == b->f, #f, (uint64_t)a->f, (uint64_t)b->f)
	SAME(pc); SAME(priv); SAME(instret); SAME(fflags); SAME(frm); SAME(mstatus);
	SAME(mepc); SAME(mcause); SAME(mtval); SAME(sepc); SAME(scause); SAME(stval);
	SAME(satp);
#undef SAME
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The buses (8 MiB each) outlive inputs; harts are made afresh. */
	static struct tmach m[2];
	static bool ready;
	if (size < 8)
		return 0;
	if (!ready) {
		if (tm_init(&m[0], 0) || tm_init(&m[1], 0))
			abort();
		ready = true;
	}
	uint64_t seed;
	memcpy(&seed, data, 8);
	seed |= 1;
	uint8_t code[CODE_MAX] = { 0 };
	size_t n = size - 8 < CODE_MAX ? size - 8 : CODE_MAX;
	memcpy(code, data + 8, n);
	neutralize_time(code, sizeof code);
	static const uint32_t handler[4] = {
		0x34102ff3u,   /* csrr x31, mepc */
		0x004f8f93u,   /* addi x31, x31, 4 */
		0x341f9073u,   /* csrw mepc, x31 */
		0x30200073u,   /* mret */
	};
	uint8_t mem[DATA_SIZE];
	for (size_t i = 0; i < DATA_SIZE; i += 8) {
		uint64_t v = rnd(&seed);
		memcpy(mem + i, &v, 8);
	}
	uint64_t regs[32];
	for (unsigned r = 1; r < 32; r++)
		regs[r] = rnd(&seed) % 4 ? rnd(&seed) % 4096 : rnd(&seed);
	for (unsigned r = 8; r < 16; r++)   /* pointers into the data */
		regs[r] = DATA_BASE + 256 + rnd(&seed) % (DATA_SIZE - 512);

	struct hart *h[2];
	for (int k = 0; k < 2; k++) {
		bus_write_guest(&m[k].bus, CODE_BASE, code, sizeof code);
		bus_write_guest(&m[k].bus, HANDLER, handler, sizeof handler);
		bus_write_guest(&m[k].bus, DATA_BASE, mem, sizeof mem);
		struct hart_config cfg = {
			.hartid = 0, .bus = &m[k].bus, .clock = &m[k].clk, .reset_pc = CODE_BASE,
			.jit_cache_bytes = k ? (1u << 20) : 0,
		};
		if (!(h[k] = hart_new(&cfg)))
			abort();
		if (k)
			jit_set_hot(h[k]->jit, 1);
		for (unsigned r = 1; r < 32; r++)
			hart_set_x(h[k], r, regs[r]);
		hart_csr_write(h[k], CSR_MTVEC, HANDLER);
		hart_csr_write(h[k], CSR_MSTATUS, 1ull << 13);   /* FS = Initial */
	}
	uint64_t chunks = seed;
	for (unsigned done = 0; done < STEPS;) {
		uint64_t chunk = 1 + rnd(&chunks) % 200;
		uint64_t na = hart_step(h[0], chunk), nb = hart_step(h[1], chunk);
		check(na == nb, "steps", na, nb);
		compare(h[0], h[1]);
		if (na == 0)
			break;
		done += (unsigned)na;
	}
	uint8_t *ra = bus_guest_ptr(&m[0].bus, RAM_BASE, RAM_SIZE);
	uint8_t *rb = bus_guest_ptr(&m[1].bus, RAM_BASE, RAM_SIZE);
	if (memcmp(ra, rb, RAM_SIZE) != 0) {
		size_t i = 0;
		while (ra[i] == rb[i])
			i++;
		check(false, "memory at", RAM_BASE + i, ((uint64_t)ra[i] << 8) | rb[i]);
	}
	hart_free(h[0]);
	hart_free(h[1]);
	return 0;
}
