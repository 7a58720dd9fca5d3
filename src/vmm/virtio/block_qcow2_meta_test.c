/* The qcow2 metadata map: kinds per cluster, out-of-order additions, lookups of absent clusters. */
#include "vmm/virtio/block_qcow2_meta.h"
#include "lib/testing.h"

TEST(qmeta_marks_and_finds_clusters)
{
	struct qmeta m = { 0 };
	EXPECT_EQ(qmeta_kinds(&m, 0), 0);
	EXPECT_EQ(qmeta_add(&m, 0, 1, QMETA_HEADER), 0);
	EXPECT_EQ(qmeta_add(&m, 3, 2, QMETA_L1), 0);
	EXPECT_EQ(qmeta_add(&m, 100, 1, QMETA_L2), 0);
	EXPECT_EQ(qmeta_add(&m, 7, 1, QMETA_RB), 0);            /* out of order */
	EXPECT_EQ(qmeta_add(&m, 4, 1, QMETA_L2), 0);            /* an L2 table on the L1 table */
	EXPECT_EQ(qmeta_kinds(&m, 0), QMETA_HEADER);
	EXPECT_EQ(qmeta_kinds(&m, 1), 0);
	EXPECT_EQ(qmeta_kinds(&m, 3), QMETA_L1);
	EXPECT_EQ(qmeta_kinds(&m, 4), QMETA_L1 | QMETA_L2);
	EXPECT_EQ(qmeta_kinds(&m, 7), QMETA_RB);
	EXPECT_EQ(qmeta_kinds(&m, 100), QMETA_L2);
	EXPECT_EQ(qmeta_kinds(&m, 101), 0);
	EXPECT_EQ(qmeta_kinds(&m, 1ull << 47), 0);
	/* Many appended clusters, as a growing image adds them. */
	for (uint64_t c = 200; c < 5000; c += 3)
		EXPECT_EQ(qmeta_add(&m, c, 1, QMETA_L2), 0);
	EXPECT_EQ(qmeta_kinds(&m, 4997), QMETA_L2);
	EXPECT_EQ(qmeta_kinds(&m, 4998), 0);
	EXPECT_EQ(qmeta_kinds(&m, 7), QMETA_RB);
	qmeta_free(&m);
}
