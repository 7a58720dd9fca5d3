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
	qmeta_seal(&m);
	EXPECT_EQ(qmeta_kinds(&m, 0), QMETA_HEADER);
	EXPECT_EQ(qmeta_kinds(&m, 1), 0);
	EXPECT_EQ(qmeta_kinds(&m, 3), QMETA_L1);
	EXPECT_EQ(qmeta_kinds(&m, 4), QMETA_L1 | QMETA_L2);
	EXPECT_EQ(qmeta_kinds(&m, 7), QMETA_RB);
	EXPECT_EQ(qmeta_kinds(&m, 100), QMETA_L2);
	EXPECT_EQ(qmeta_kinds(&m, 101), 0);
	EXPECT_EQ(qmeta_kinds(&m, 1ull << 47), 0);
	/* Many appended clusters, as a growing image adds them. */
	EXPECT_EQ(qmeta_add(&m, 50, 1, QMETA_RB), 0);          /* sealed: put in place */
	EXPECT_EQ(qmeta_add(&m, 4, 1, QMETA_RB), 0);
	EXPECT_EQ(qmeta_kinds(&m, 50), QMETA_RB);
	EXPECT_EQ(qmeta_kinds(&m, 4), QMETA_L1 | QMETA_L2 | QMETA_RB);
	for (uint64_t c = 200; c < 5000; c += 3)
		EXPECT_EQ(qmeta_add(&m, c, 1, QMETA_L2), 0);
	EXPECT_EQ(qmeta_kinds(&m, 4997), QMETA_L2);
	EXPECT_EQ(qmeta_kinds(&m, 4998), 0);
	EXPECT_EQ(qmeta_kinds(&m, 7), QMETA_RB);
	qmeta_free(&m);
}

TEST(qmeta_many_unsorted_clusters_seal_quickly)
{
	/* 4 million L2 offsets in a scrambled order, as a hostile L1 table may name. */
	struct qmeta m = { 0 };
	uint64_t n = 4u << 20;
	for (uint64_t i = 0; i < n; i++)
		EXPECT_EQ(qmeta_add(&m, (i * 2654435761u) % n + 1, 1, QMETA_L2), 0);
	qmeta_seal(&m);
	EXPECT_EQ(m.n, n);
	EXPECT_EQ(qmeta_kinds(&m, 0), 0);
	EXPECT_EQ(qmeta_kinds(&m, 1), QMETA_L2);
	EXPECT_EQ(qmeta_kinds(&m, n), QMETA_L2);
	EXPECT_EQ(qmeta_kinds(&m, n + 1), 0);
	qmeta_free(&m);
}
