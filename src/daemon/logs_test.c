#include "daemon/logs.h"
#include "daemon/fsutil.h"
#include "daemon/log_keep.h"
#include "lib/testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(logs_k8s_lines_become_the_plain_stream)
{
	char t[] = "2026-12-02T09:00:58.9+00:00 stdout F hello world\n"
		   "2026-12-02T09:00:59.0+00:00 stderr P part\n"
		   "2026-12-02T09:00:59.1+00:00 stderr F ial\n";
	size_t n = logs_from_k8s(t, strlen(t));
	t[n] = 0;
	EXPECT(!strcmp(t, "hello world\npartial\n"));
}

TEST(logs_invalid_utf8_becomes_question_marks)
{
	char t[] = "ok \xc3\xa9 \xff \xe2\x82 \xed\xa0\x80 \xf0\x9f\x98\x80";
	logs_make_utf8(t, strlen(t));
	EXPECT(!strcmp(t, "ok \xc3\xa9 ? ?? ??? \xf0\x9f\x98\x80"));
}

TEST(logs_tail_starts_at_a_line_and_missing_log_is_empty)
{
	char dir[] = "/tmp/nimbus-logs-test.XXXXXX";
	EXPECT(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/console.log", dir);
	char *text;
	EXPECT(logs_read(path, false, 100, &text, NULL) == 0);
	EXPECT(!strcmp(text, ""));
	free(text);
	static const char log[] = "first line\nsecond line\nthird\n";
	EXPECT(write_file(path, log, sizeof log - 1, 0600, NULL) == 0);
	EXPECT(logs_read(path, false, 15, &text, NULL) == 0);
	EXPECT(!strcmp(text, "third\n"));
	free(text);
	EXPECT(logs_read(path, false, 1000, &text, NULL) == 0);
	EXPECT(!strcmp(text, log));
	free(text);
	rm_rf(dir, NULL);
}

TEST(logs_a_cut_log_keeps_its_generation_before_and_reads_across_the_seam)
{
	char dir[] = "/tmp/nimbus-logs-test.XXXXXX";
	EXPECT(mkdtemp(dir));
	char path[256], tmp[300];
	snprintf(path, sizeof path, "%s/console.log", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	EXPECT(write_file(path, "one\ntwo\n", 8, 0600, NULL) == 0);
	log_keep_sync(dir);
	/* conmon's cut: a new file renamed over the log. */
	EXPECT(write_file(tmp, "three\n", 6, 0600, NULL) == 0 && rename(tmp, path) == 0);
	log_keep_sync(dir);
	char *text;
	EXPECT(logs_read(path, false, 1000, &text, NULL) == 0);
	EXPECT(!strcmp(text, "one\ntwo\nthree\n"));
	free(text);
	/* A tail across the seam starts at a line of the generation before. */
	EXPECT(logs_read(path, false, 11, &text, NULL) == 0);
	EXPECT(!strcmp(text, "two\nthree\n"));
	free(text);
	/* The next cut: the generation before is now "three", "one" is gone. */
	EXPECT(write_file(tmp, "four\n", 5, 0600, NULL) == 0 && rename(tmp, path) == 0);
	log_keep_sync(dir);
	log_keep_sync(dir);   /* nothing changed: nothing moves */
	EXPECT(logs_read(path, false, 1000, &text, NULL) == 0);
	EXPECT(!strcmp(text, "three\nfour\n"));
	free(text);
	rm_rf(dir, NULL);
}
