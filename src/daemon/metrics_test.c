/* Unit tests of /metrics' cgroup disk-byte parsers (metrics.c). */
#include "daemon/metrics.h"
#include "lib/testing.h"

TEST(metrics_io_stat_sums_read_and_written_bytes_of_every_device)
{
	double rd = -1, wr = -1;
	metrics_io_stat_sum("8:0 rbytes=4096 wbytes=2097152 rios=1 wios=32 dbytes=999 dios=1\n"
			    "253:1 rbytes=100 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n", &rd, &wr);
	EXPECT(rd == 4196);
	EXPECT(wr == 2097152);
	metrics_io_stat_sum("", &rd, &wr);
	EXPECT(rd == 0 && wr == 0);
}

TEST(metrics_blkio_sums_read_and_write_lines_not_the_total)
{
	double rd = -1, wr = -1;
	metrics_blkio_sum("8:0 Read 4096\n8:0 Write 2097152\n8:0 Sync 2097152\n8:0 Async 4096\n"
			  "8:0 Discard 0\n8:0 Total 2101248\n7:1 Read 10\nTotal 2101258\n", &rd, &wr);
	EXPECT(rd == 4106);
	EXPECT(wr == 2097152);
	metrics_blkio_sum("Total 0\n", &rd, &wr);
	EXPECT(rd == 0 && wr == 0);
}
