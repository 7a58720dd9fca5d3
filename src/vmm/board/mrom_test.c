/*
 * Unit tests of the reset ROM: the words match what QEMU 7.2's virt machine
 * shows at 0x1000 (observed with its monitor's `xp`), the fw_dynamic_info
 * block follows, and the ROM ignores writes.
 */
#include "vmm/board/mrom.h"

#include "lib/testing.h"

TEST(mrom_matches_qemu_reset_vector)
{
	struct mrom m;
	struct fw_dynamic_info fi = {
		.magic = FW_DYNAMIC_INFO_MAGIC, .version = FW_DYNAMIC_INFO_VERSION,
		.next_addr = 0x80200000, .next_mode = FW_DYNAMIC_NEXT_MODE_S,
	};
	mrom_setup(&m, 0x80000000, 0x8fe00000, &fi);
	static const uint32_t qemu[] = {
		0x00000297, 0x02828613, 0xf1402573, 0x0202b583, 0x0182b283,
		0x00028067, 0x80000000, 0x00000000, 0x8fe00000, 0x00000000,
		0x4942534f, 0x00000000, 0x00000002, 0x00000000,
	};
	for (unsigned i = 0; i < sizeof qemu / sizeof qemu[0]; i++)
		EXPECT_EQ(mrom_ops.read(&m, 4 * i, 4), qemu[i]);
	EXPECT_EQ(mrom_ops.read(&m, 0x38, 8), 0x80200000);
	EXPECT_EQ(mrom_ops.read(&m, 0x40, 8), 1);
	EXPECT_EQ(mrom_ops.read(&m, 0x48, 8), 0);
	EXPECT_EQ(mrom_ops.read(&m, 0x50, 8), 0);
	EXPECT_EQ(mrom_ops.read(&m, 0x58, 8), 0);     /* past the contents */
	EXPECT_EQ(mrom_ops.read(&m, 0x800, 4), 0);
	EXPECT_EQ(mrom_ops.read(&m, 0x2, 2), 0);      /* upper half of auipc t0,0 */
	mrom_ops.write(&m, 0, 4, 0);
	EXPECT_EQ(mrom_ops.read(&m, 0, 4), 0x00000297);
}
