/*
 * tohost polling: one atomic 64-bit load of guest RAM, decode, clear.
 * See tohost.h; the encoding is riscv-tests' env/p/riscv_test.h
 * convention (RVTEST_PASS / RVTEST_FAIL).
 */
#include "vmm/board/tohost.h"

#include "vmm/bus.h"

enum tohost_result tohost_poll(struct bus *bus, uint64_t addr, int *code)
{
	uint64_t *p = bus_guest_ptr_w(bus, addr, 8);
	if (!p || (addr & 7))
		return TOHOST_NONE;
	/* The guest stores concurrently from its vCPU thread. */
	uint64_t v = __atomic_load_n(p, __ATOMIC_ACQUIRE);
	if (v == 0 || (v >> 48) != 0 || !(v & 1))
		return TOHOST_NONE;
	if (!__atomic_compare_exchange_n(p, &v, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return TOHOST_NONE;   /* changed under us: look again next time */
	bus_note_write(bus, addr, 8);
	uint64_t n = v >> 1;
	*code = n > INT32_MAX ? INT32_MAX : (int)n;
	return n == 0 ? TOHOST_PASS : TOHOST_FAIL;
}
