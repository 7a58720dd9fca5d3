#include "daemon/console_relay.h"
#include "daemon/fsutil.h"
#include "lib/testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TEST(console_relay_keeps_the_last_mib_of_output_and_passes_the_exit_status)
{
	char dir[] = "/tmp/relay-test.XXXXXX";
	EXPECT(mkdtemp(dir) != NULL);
	char sock[128], log[128];
	snprintf(sock, sizeof sock, "%s/c.sock", dir);
	snprintf(log, sizeof log, "%s/console.log", dir);
	/* 3 MiB of output, then a last line: the log must keep the end. */
	char *argv[] = { "/bin/sh", "-c",
			 "head -c 3145728 /dev/zero | tr '\\0' x; echo; echo the-end; exit 3", NULL };
	struct err e = { 0 };
	EXPECT_EQ(console_relay_run(sock, log, argv, &e), 3);
	struct stat st;
	EXPECT(stat(log, &st) == 0);
	EXPECT(st.st_size >= CONSOLE_LOG_KEEP && st.st_size < 2 * CONSOLE_LOG_KEEP);
	char tail[64];
	FILE *f = fopen(log, "r");
	EXPECT(f != NULL);
	fseek(f, -12, SEEK_END);
	size_t n = fread(tail, 1, sizeof tail - 1, f);
	fclose(f);
	tail[n] = 0;
	EXPECT(strstr(tail, "the-end") != NULL);
	EXPECT(access(sock, F_OK) != 0);   /* removed when the command ended */
	rm_rf(dir, NULL);
}
