/* Unit tests of the guest agent protocol: messages from the guest parse or
 * are refused with a reason (hostile input), requests round-trip through the
 * encoder and the agent's parser. */
#include "vmm/agent_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/testing.h"

static struct agent_msg m;
static struct agent_req r;

static int parse(const char *s)
{
	const char *why;
	return agent_msg_parse(s, strlen(s), &m, &why);
}

TEST(agent_msg_out_decodes_percent_escapes)
{
	EXPECT_EQ(parse("out 7 1 Linux%20nimbus%0A"), 0);
	EXPECT_EQ(m.kind, AGENT_MSG_OUT);
	EXPECT_EQ(m.id, 7);
	EXPECT_EQ(m.stream, 1);
	EXPECT_EQ(m.len, 13);
	EXPECT(memcmp(m.data, "Linux nimbus\n", 13) == 0);
}

TEST(agent_msg_exit_ready_pong_error)
{
	EXPECT_EQ(parse("exit 3 code 42"), 0);
	EXPECT_EQ(m.how, AGENT_EXIT_CODE);
	EXPECT_EQ(m.value, 42);
	EXPECT_EQ(parse("exit 3 signal 9"), 0);
	EXPECT_EQ(m.how, AGENT_EXIT_SIGNAL);
	EXPECT_EQ(parse("ready 1 extra tokens later"), 0);
	EXPECT_EQ(m.kind, AGENT_MSG_READY);
	EXPECT_EQ(m.protocol, 1);
	EXPECT_EQ(parse("pong 18446744073709551615 1"), 0);
	EXPECT_EQ(m.id, UINT64_MAX);
	EXPECT_EQ(parse("error 5 no-such-file cannot%20run%0Ax"), 0);
	EXPECT(strcmp(m.code, "no-such-file") == 0);
	EXPECT(strcmp((char *)m.data, "cannot run?x") == 0);   /* one printable line */
}

TEST(agent_msg_refuses_hostile_lines)
{
	EXPECT_EQ(parse(""), -EINVAL);
	EXPECT_EQ(parse("bogus 1"), -EINVAL);
	EXPECT_EQ(parse("out"), -EINVAL);
	EXPECT_EQ(parse("out -1 1 x"), -EINVAL);
	EXPECT_EQ(parse("out 18446744073709551616 1 x"), -EINVAL);   /* 2^64 */
	EXPECT_EQ(parse("out 1 3 x"), -EINVAL);
	EXPECT_EQ(parse("out 1 0 x"), -EINVAL);
	EXPECT_EQ(parse("out 1 1 %4"), -EINVAL);
	EXPECT_EQ(parse("out 1 1 %zz"), -EINVAL);
	EXPECT_EQ(parse("out 1 1"), -EINVAL);
	EXPECT_EQ(parse("exit 1 code 256"), -EINVAL);
	EXPECT_EQ(parse("exit 1 signal 65"), -EINVAL);
	EXPECT_EQ(parse("exit 1 maybe 1"), -EINVAL);
	EXPECT_EQ(parse("error 1 BAD msg"), -EINVAL);
	EXPECT_EQ(parse("error 1 this-code-is-far-too-long-to-be-a-code x"), -EINVAL);
	const char raw[] = "out 1 1 a\x01" "b";
	EXPECT_EQ(parse(raw), -EINVAL);
}

TEST(agent_msg_out_chunk_is_bounded)
{
	size_t n = 3 * (AGENT_CHUNK_MAX + 1) + 16;
	char *s = malloc(n);
	strcpy(s, "out 1 2 ");
	size_t at = strlen(s);
	for (unsigned i = 0; i <= AGENT_CHUNK_MAX; i++, at += 3)
		memcpy(s + at, "%41", 3);
	EXPECT_EQ(agent_msg_parse(s, at, &m, &(const char *){0}), -EINVAL);
	EXPECT_EQ(agent_msg_parse(s, at - 3, &m, &(const char *){0}), 0);
	EXPECT_EQ(m.len, AGENT_CHUNK_MAX);
	free(s);
}

TEST(agent_req_exec_round_trips_through_the_encoder)
{
	struct agent_buf b = {0};
	agent_buf_fmt(&b, "exec %d timeout=%u", 9, 1500u);
	agent_buf_str(&b, " arg=");
	agent_buf_enc(&b, "sh", 2);
	agent_buf_str(&b, " arg=");
	agent_buf_enc(&b, "-c", 2);
	agent_buf_str(&b, " arg=");
	agent_buf_enc(&b, "echo 100% done", 14);
	agent_buf_str(&b, " env=");
	agent_buf_enc(&b, "A=b c", 5);
	agent_buf_str(&b, " cwd=");
	agent_buf_enc(&b, "/tmp", 4);
	agent_buf_str(&b, " stdin=");
	agent_buf_enc(&b, "x\0y\n", 4);
	agent_buf_str(&b, " future=whatever");
	EXPECT_EQ(agent_buf_end(&b), 0);
	EXPECT_EQ(b.p[b.len - 1], '\n');
	EXPECT(!memchr(b.p, '\n', b.len - 1));
	const char *why;
	EXPECT_EQ(agent_req_parse(b.p, b.len - 1, &r, &why), 0);
	EXPECT_EQ(r.kind, AGENT_REQ_EXEC);
	EXPECT_EQ(r.id, 9);
	EXPECT_EQ(r.timeout_ms, 1500);
	EXPECT_EQ(r.argc, 3);
	EXPECT(strcmp(r.argv[2], "echo 100% done") == 0);
	EXPECT(r.argv[3] == NULL);
	EXPECT(strcmp(r.env[0], "A=b c") == 0);
	EXPECT(strcmp(r.cwd, "/tmp") == 0);
	EXPECT_EQ(r.stdin_len, 4);
	EXPECT(memcmp(r.stdin_data, "x\0y\n", 4) == 0);
	agent_buf_free(&b);
}

TEST(agent_req_refuses_bad_requests)
{
	const char *why;
#define REQ(s) agent_req_parse(s, strlen(s), &r, &why)
	EXPECT_EQ(REQ("ping 1"), 0);
	EXPECT_EQ(r.kind, AGENT_REQ_PING);
	EXPECT_EQ(REQ("poweroff 2"), 0);
	EXPECT_EQ(REQ("exec 1"), -EINVAL);                 /* no arg= */
	EXPECT_EQ(REQ("exec 1 arg=a%00b"), -EINVAL);       /* NUL in an argument */
	EXPECT_EQ(REQ("exec 1 arg=a env=NOEQUALS"), -EINVAL);
	EXPECT_EQ(REQ("exec 1 arg=a timeout=x"), -EINVAL);
	EXPECT_EQ(REQ("exec 1 arg=a loose"), -EINVAL);
	EXPECT_EQ(REQ("launch 1"), -EINVAL);
	EXPECT_EQ(REQ("ping"), -EINVAL);
#undef REQ
}

TEST(agent_req_too_many_args_refused)
{
	struct agent_buf b = {0};
	agent_buf_str(&b, "exec 1");
	for (unsigned i = 0; i <= AGENT_ARGS_MAX; i++)
		agent_buf_str(&b, " arg=x");
	EXPECT_EQ(agent_buf_end(&b), 0);
	const char *why;
	EXPECT_EQ(agent_req_parse(b.p, b.len - 1, &r, &why), -EINVAL);
	agent_buf_free(&b);
}

TEST(agent_buf_refuses_lines_over_the_limit)
{
	struct agent_buf b = {0};
	size_t n = AGENT_LINE_MAX / 3 + 10;
	char *s = malloc(n);
	memset(s, ' ', n);   /* each space costs 3 bytes */
	agent_buf_str(&b, "exec 1 stdin=");
	agent_buf_enc(&b, s, n);
	EXPECT_EQ(agent_buf_end(&b), -E2BIG);
	agent_buf_free(&b);
	free(s);
}

TEST(agent_req_tty_input_eof_resize)
{
	const char *why;
#define REQ(s) agent_req_parse(s, strlen(s), &r, &why)
	EXPECT_EQ(REQ("exec 3 arg=sh tty=24x80"), 0);
	EXPECT(r.tty);
	EXPECT_EQ(r.rows, 24);
	EXPECT_EQ(r.cols, 80);
	EXPECT_EQ(REQ("input 3 data=ls%0A"), 0);
	EXPECT_EQ(r.kind, AGENT_REQ_INPUT);
	EXPECT_EQ(r.stdin_len, 3);
	EXPECT_EQ(REQ("eof 3"), 0);
	EXPECT_EQ(r.kind, AGENT_REQ_EOF);
	EXPECT_EQ(REQ("resize 3 rows=40 cols=120"), 0);
	EXPECT_EQ(r.rows, 40);
	EXPECT_EQ(r.cols, 120);
	EXPECT_EQ(REQ("exec 3 arg=sh tty=24"), -EINVAL);
	EXPECT_EQ(REQ("exec 3 arg=sh tty=0x80"), -EINVAL);
	EXPECT_EQ(REQ("exec 3 arg=sh tty=24x1001"), -EINVAL);
	EXPECT_EQ(REQ("input 3"), -EINVAL);
	EXPECT_EQ(REQ("input 3 data=%zz"), -EINVAL);
	EXPECT_EQ(REQ("resize 3 rows=40"), -EINVAL);
	EXPECT_EQ(REQ("resize 3 rows=0 cols=5"), -EINVAL);
#undef REQ
}

TEST(agent_streamed_input_request_ack_and_capability)
{
	const char *why;
	EXPECT_EQ(agent_req_parse("exec 4 arg=cat input=stream", 27, &r, &why), 0);
	EXPECT(r.stdin_stream && !r.tty);
	EXPECT_EQ(agent_req_parse("exec 4 arg=cat input=pipe", 25, &r, &why), -EINVAL);
	EXPECT_EQ(parse("ack 4 4096"), 0);
	EXPECT_EQ(m.kind, AGENT_MSG_ACK);
	EXPECT_EQ(m.id, 4);
	EXPECT_EQ(m.len, 4096);
	EXPECT_EQ(parse("ack 4"), -EINVAL);
	EXPECT_EQ(parse("ack 4 99999999"), -EINVAL);
	EXPECT_EQ(parse("ready 1 stdin-stream"), 0);
	EXPECT(m.stdin_stream);
	EXPECT_EQ(parse("ready 1"), 0);
	EXPECT(!m.stdin_stream);
	EXPECT_EQ(parse("pong 9 1 something-later stdin-stream"), 0);
	EXPECT(m.stdin_stream && m.protocol == 1);
}
