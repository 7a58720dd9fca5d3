/* Unit tests of the host end of the guest agent channel, against a fake
 * guest that answers each request line as nimbus-agent would (or badly). */
#include "vmm/guest_agent.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/testing.h"

struct fake {
	struct guest_agent *ga;
	const char *script;            /* what to answer; %llu = the request's id */
	char got[4096];                /* the last request line */
	size_t got_len;
	int resumes;                   /* chr.resume calls */
};

static void say(struct fake *f, const char *s)
{
	struct chardev *c = guest_agent_chardev(f->ga);
	c->write(c->host, (const uint8_t *)s, strlen(s));
}

/* The port's receive side: the guest reads a request and answers at once. */
static size_t fake_receive(void *dev, const uint8_t *buf, size_t len)
{
	struct fake *f = dev;
	if (len < sizeof f->got) {
		memcpy(f->got, buf, len);
		f->got_len = len;
	}
	unsigned long long id = 0;
	sscanf(f->got, "%*s %llu", &id);
	if (f->script) {
		char out[8192];
		snprintf(out, sizeof out, f->script, id, id, id);
		say(f, out);
	}
	return len;
}

static struct fake *open_fake(struct fake *f, const char *script)
{
	memset(f, 0, sizeof *f);
	struct err e;
	if (guest_agent_create(&f->ga, &e) < 0)
		return NULL;
	struct chardev *c = guest_agent_chardev(f->ga);
	c->receive = fake_receive;
	c->dev = f;
	f->script = script;
	guest_agent_port_open(c->host, true);
	return f;
}

static char *argv_uname[] = { "uname", "-a", NULL };

TEST(guest_agent_exec_collects_output_and_exit_code)
{
	struct fake f;
	EXPECT(open_fake(&f, "out %llu 1 Linux%%20nimbus%%0A\nout %llu 2 warn\nexit %llu code 3\n"));
	struct guest_agent_exec req = { .argv = argv_uname, .timeout_ms = 1000, .out_max = 100 };
	struct guest_agent_result res;
	struct err e;
	EXPECT_EQ(guest_agent_exec(f.ga, &req, &res, &e), 0);
	EXPECT(strncmp(f.got, "exec 1 timeout=1000 arg=uname arg=-a\n", f.got_len) == 0);
	EXPECT(strcmp(res.out[0], "Linux nimbus\n") == 0);
	EXPECT(strcmp(res.out[1], "warn") == 0);
	EXPECT_EQ(res.how, AGENT_EXIT_CODE);
	EXPECT_EQ(res.value, 3);
	guest_agent_result_free(&res);
	guest_agent_destroy(f.ga);
}

TEST(guest_agent_exec_output_is_capped)
{
	struct fake f;
	EXPECT(open_fake(&f, "out %llu 1 0123456789\nout %llu 1 abc\nexit %llu code 0\n"));
	struct guest_agent_exec req = { .argv = argv_uname, .out_max = 4 };
	struct guest_agent_result res;
	struct err e;
	EXPECT_EQ(guest_agent_exec(f.ga, &req, &res, &e), 0);
	EXPECT(strcmp(res.out[0], "0123") == 0);
	EXPECT(res.truncated[0]);
	EXPECT(!res.truncated[1]);
	guest_agent_result_free(&res);
	guest_agent_destroy(f.ga);
}

TEST(guest_agent_error_reply_names_code_and_message)
{
	struct fake f;
	EXPECT(open_fake(&f, "error %llu no-such-file uname:%%20not%%20found\n"));
	struct guest_agent_exec req = { .argv = argv_uname, .out_max = 16 };
	struct guest_agent_result res;
	struct err e;
	EXPECT_EQ(guest_agent_exec(f.ga, &req, &res, &e), -EIO);
	EXPECT(strstr(e.msg, "no-such-file: uname: not found") != NULL);
	guest_agent_destroy(f.ga);
}

TEST(guest_agent_without_agent_is_not_connected)
{
	struct fake f;
	EXPECT(open_fake(&f, NULL));
	guest_agent_port_open(guest_agent_chardev(f.ga)->host, false);
	struct err e;
	EXPECT_EQ(guest_agent_ping(f.ga, 100, NULL, &e), -ENOTCONN);
	EXPECT(!guest_agent_connected(f.ga));
	guest_agent_destroy(f.ga);
}

TEST(guest_agent_silent_guest_times_out)
{
	struct fake f;
	EXPECT(open_fake(&f, NULL));
	struct err e;
	EXPECT_EQ(guest_agent_ping(f.ga, 50, NULL, &e), -ETIMEDOUT);
	guest_agent_destroy(f.ga);
}

TEST(guest_agent_ping_and_poweroff)
{
	struct fake f;
	EXPECT(open_fake(&f, "pong %llu 1\n"));
	unsigned proto = 0;
	struct err e;
	EXPECT_EQ(guest_agent_ping(f.ga, 1000, &proto, &e), 0);
	EXPECT_EQ(proto, 1);
	f.script = "ok %llu\n";
	EXPECT_EQ(guest_agent_poweroff(f.ga, false, 1000, &e), 0);
	EXPECT(strncmp(f.got, "poweroff 2\n", f.got_len) == 0);
	guest_agent_destroy(f.ga);
}

TEST(guest_agent_garbage_and_wrong_ids_do_not_complete_requests)
{
	struct fake f;
	EXPECT(open_fake(&f, "pong 999 1\n\x01\x02 junk\nexit %llu code 999\nout %llu 7 x\n"));
	struct err e;
	EXPECT_EQ(guest_agent_ping(f.ga, 50, NULL, &e), -ETIMEDOUT);
	EXPECT_EQ(guest_agent_bad_lines(f.ga), 3);
	guest_agent_destroy(f.ga);
}

TEST(guest_agent_overlong_line_is_dropped_up_to_its_newline)
{
	struct fake f;
	EXPECT(open_fake(&f, NULL));
	static char big[AGENT_LINE_MAX + 100];
	memset(big, 'x', sizeof big - 1);
	say(&f, big);
	say(&f, "\npong 1 1\n");
	f.script = NULL;
	/* The first request gets id 1; its pong was queued before it was asked,
	 * so it is ignored: only the over-long line counts as bad. */
	EXPECT_EQ(guest_agent_bad_lines(f.ga), 1);
	guest_agent_destroy(f.ga);
}

TEST(guest_agent_close_fails_requests_and_refuses_new)
{
	struct fake f;
	EXPECT(open_fake(&f, NULL));
	guest_agent_close(f.ga);
	struct err e;
	EXPECT_EQ(guest_agent_ping(f.ga, 1000, NULL, &e), -ENOTCONN);
	guest_agent_destroy(f.ga);
}

TEST(guest_agent_agent_restart_fails_the_request_in_flight)
{
	struct fake f;
	EXPECT(open_fake(&f, "ready 1\n"));
	struct err e;
	EXPECT_EQ(guest_agent_ping(f.ga, 1000, NULL, &e), -ECONNRESET);
	guest_agent_destroy(f.ga);
}

/* A streaming exec's consumer that is full holds the port (chr.writable),
 * and lets it go once it can take output again or the exec has ended. */
struct slow_consumer {
	struct fake *f;
	bool full;
	int writable_while_full, writable_after;
	size_t got;
};

static void slow_output(void *ctx, unsigned stream, const uint8_t *data, size_t len)
{
	(void)stream, (void)data;
	((struct slow_consumer *)ctx)->got += len;
}

static bool slow_can_output(void *ctx)
{
	return !((struct slow_consumer *)ctx)->full;
}

static void slow_started(void *ctx, uint64_t id)
{
	struct slow_consumer *sc = ctx;
	struct chardev *c = guest_agent_chardev(sc->f->ga);
	sc->full = true;
	sc->writable_while_full = c->writable(c->host);
	sc->full = false;
	sc->writable_after = c->writable(c->host);
	char line[64];
	snprintf(line, sizeof line, "exit %llu code 0\n", (unsigned long long)id);
	say(sc->f, line);
}

static void note_resume(void *dev)
{
	((struct fake *)dev)->resumes++;
}

TEST(guest_agent_port_waits_while_a_streaming_exec_cannot_take_output)
{
	struct fake f;
	EXPECT(open_fake(&f, "out %llu 1 abc\n"));
	struct slow_consumer sc = { .f = &f };
	struct chardev *c = guest_agent_chardev(f.ga);
	c->resume = note_resume;
	struct guest_agent_exec req = { .argv = argv_uname, .timeout_ms = 1000, .out_max = 100,
					.on_output = slow_output, .can_output = slow_can_output,
					.on_started = slow_started, .ctx = &sc };
	struct guest_agent_result res;
	struct err e;
	EXPECT_EQ(guest_agent_exec(f.ga, &req, &res, &e), 0);
	guest_agent_result_free(&res);
	EXPECT_EQ(sc.got, 3);
	EXPECT_EQ(sc.writable_while_full, 0);
	EXPECT_EQ(sc.writable_after, 1);
	/* Ended: it holds nothing, and whoever waited on it is told. */
	EXPECT(c->writable(c->host));
	EXPECT(f.resumes >= 1);
	guest_agent_destroy(f.ga);
}
