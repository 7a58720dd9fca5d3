/*
 * The dirty-chunk bitmap: a write marks every chunk it touches and nothing
 * else, a take clears once, the last partial chunk counts, and ranges past
 * the disk's end are clipped.
 */
#include "vmm/virtio/block_dirty.h"
#include "lib/testing.h"

#define C BLOCK_DIRTY_CHUNK

TEST(block_dirty_write_straddling_two_chunks_marks_both)
{
	struct block_dirty d;
	EXPECT_EQ(block_dirty_init(&d, 10ull * C), 0);
	block_dirty_mark(&d, 3 * C - 512, 1024);
	EXPECT_EQ(block_dirty_count(&d), 2);
	EXPECT_EQ(block_dirty_next(&d, 0), 2);
	EXPECT_EQ(block_dirty_next(&d, 3), 3);
	EXPECT_EQ(block_dirty_next(&d, 4), 10);
	EXPECT(block_dirty_take(&d, 2));
	EXPECT(!block_dirty_take(&d, 2));
	EXPECT(block_dirty_take(&d, 3));
	EXPECT_EQ(block_dirty_count(&d), 0);
	block_dirty_free(&d);
}

TEST(block_dirty_last_partial_chunk_and_past_the_end_clipped)
{
	struct block_dirty d;
	EXPECT_EQ(block_dirty_init(&d, 130ull * C + 4096), 0);
	EXPECT_EQ(d.chunks, 131);
	block_dirty_mark(&d, 130ull * C, 1ull << 40);
	block_dirty_mark(&d, 1ull << 50, 512);
	EXPECT_EQ(block_dirty_count(&d), 1);
	EXPECT_EQ(block_dirty_next(&d, 65), 130);
	EXPECT(!block_dirty_take(&d, 131));
	block_dirty_mark_all(&d);
	EXPECT_EQ(block_dirty_count(&d), 131);
	block_dirty_free(&d);
}
