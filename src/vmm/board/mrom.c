/*
 * Reset ROM contents: the instructions are assembled here from their
 * RISC-V encodings (unprivileged ISA, "RV32I Base Integer Instruction Set"
 * formats U and I).  See mrom.h for the program and its contract.
 */
#include <errno.h>
#include "vmm/board/mrom.h"

#include <string.h>
#include "vmm/snap_stream.h"

enum { REG_T0 = 5, REG_A0 = 10, REG_A1 = 11, REG_A2 = 12 };

#define CSR_MHARTID 0xf14

static uint32_t enc_u(uint32_t opcode, unsigned rd, uint32_t imm20)
{
	return imm20 << 12 | rd << 7 | opcode;
}

static uint32_t enc_i(uint32_t opcode, unsigned funct3, unsigned rd, unsigned rs1, uint32_t imm12)
{
	return (imm12 & 0xfff) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

void mrom_setup(struct mrom *m, uint64_t start, uint64_t fdt,
		const struct fw_dynamic_info *info)
{
	memset(m->data, 0, sizeof(m->data));
	const uint32_t prog[6] = {
		enc_u(0x17, REG_T0, 0),                                     /* auipc */
		enc_i(0x13, 0, REG_A2, REG_T0, MROM_FW_DYNAMIC_OFFSET),      /* addi */
		enc_i(0x73, 2, REG_A0, 0, CSR_MHARTID),                     /* csrrs */
		enc_i(0x03, 3, REG_A1, REG_T0, 0x20),                       /* ld */
		enc_i(0x03, 3, REG_T0, REG_T0, 0x18),                       /* ld */
		enc_i(0x67, 0, 0, REG_T0, 0),                               /* jalr */
	};
	for (int i = 0; i < 6; i++)
		put32(m->data + 4 * i, prog[i]);
	put64(m->data + 0x18, start);
	put64(m->data + 0x20, fdt);
	const uint64_t f[6] = { info->magic, info->version, info->next_addr,
				info->next_mode, info->options, info->boot_hart };
	for (int i = 0; i < 6; i++)
		put64(m->data + MROM_FW_DYNAMIC_OFFSET + 8 * i, f[i]);
}

static uint64_t mrom_read(void *dev, uint64_t off, unsigned size)
{
	const struct mrom *m = dev;
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		if (off + i < sizeof(m->data))
			v |= (uint64_t)m->data[off + i] << (8 * i);
	return v;
}

static void mrom_write(void *dev, uint64_t off, unsigned size, uint64_t value)
{
	(void)dev, (void)off, (void)size, (void)value;
}

const struct mmio_ops mrom_ops = {
	.read = mrom_read,
	.write = mrom_write,
};

/* ---- the device type (device.h) ---- */

static int dev_save(void *obj, struct snap_out *o)
{
	const struct mrom *m = obj;
	snap_put_u32(o, 1);
	snap_put_u32(o, sizeof m->data);
	snap_put_bytes(o, m->data, sizeof m->data);
	return 0;
}

static int dev_load(void *obj, struct snap_in *in)
{
	struct mrom *m = obj;
	if (snap_get_u32(in) != 1 || snap_get_u32(in) != sizeof m->data)
		return -EINVAL;
	snap_get_bytes(in, m->data, sizeof m->data);
	return in->overrun ? -EINVAL : 0;
}

const struct device_ops mrom_device = {
	.name = "mrom",
	.save = dev_save,
	.load = dev_load,
};
