#include "daemon/events.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

TEST(events_reader_gets_published_events_in_order)
{
	struct events *b = events_new();
	uint64_t cur = events_next_seq(b), lost;
	struct event ev;
	EXPECT_EQ(events_wait(b, &cur, &ev, &lost, 10), 0);
	events_publish(b, "instance-started", "c1", "pid %d", 42);
	events_publish(b, "instance-stopped", "c1", "%s", "");
	EXPECT_EQ(events_wait(b, &cur, &ev, &lost, 10), 1);
	EXPECT(!strcmp(ev.type, "instance-started") && !strcmp(ev.detail, "pid 42"));
	EXPECT_EQ(ev.seq, 1);
	EXPECT_EQ(events_wait(b, &cur, &ev, &lost, 10), 1);
	EXPECT(!strcmp(ev.type, "instance-stopped"));
	EXPECT_EQ(lost, 0);
	events_free(b);
}

TEST(events_reader_far_behind_is_told_how_many_it_lost)
{
	struct events *b = events_new();
	uint64_t cur = 1, lost;
	struct event ev;
	for (int i = 0; i < EVENTS_KEEP + 10; i++)
		events_publish(b, "x", "", "%d", i);
	EXPECT_EQ(events_wait(b, &cur, &ev, &lost, 10), 1);
	EXPECT_EQ(lost, 10);
	EXPECT(!strcmp(ev.detail, "10"));
	events_free(b);
}

TEST(events_closed_bus_ends_waiting_readers)
{
	struct events *b = events_new();
	uint64_t cur = events_next_seq(b), lost;
	struct event ev;
	events_close(b);
	EXPECT_EQ(events_wait(b, &cur, &ev, &lost, 1000), -ESHUTDOWN);
	events_free(b);
}

TEST(events_json_is_one_line_with_quoted_detail)
{
	struct event ev = { .seq = 3, .time_ns = 5, .type = "guest-panic", .instance = "v1",
			    .detail = "said \"boom\"\n" };
	char buf[512];
	size_t n = event_json(&ev, buf, sizeof buf);
	EXPECT(n > 0 && !strchr(buf, '\n'));
	EXPECT(strstr(buf, "\\\"boom\\\"") != NULL);
}


TEST(events_of_a_project_are_seen_by_it_and_the_host_admin_only)
{
	struct events *b = events_new();
	events_publish_in(b, "team-a", "instance-started", "web", "pid %d", 1);
	events_publish(b, "image-imported", NULL, "%s", "bb");
	events_publish(b, "instance-reset", "orphan", "%s", "");   /* no project known */
	uint64_t cur = 1, lost;
	struct event ev[3];
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(events_wait(b, &cur, &ev[i], &lost, 0), 1);
	EXPECT(event_visible(&ev[0], NULL) && event_visible(&ev[0], "team-a"));
	EXPECT(!event_visible(&ev[0], "team-b"));
	EXPECT(event_visible(&ev[1], "team-b"));           /* images are everyone's */
	EXPECT(!event_visible(&ev[2], "team-a") && event_visible(&ev[2], NULL));
	char json[512];
	event_json(&ev[0], json, sizeof json);
	EXPECT(strstr(json, "\"project\":\"team-a\""));
	events_free(b);
}
