#include "daemon/request.h"
#include "lib/testing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define B(s) s, sizeof s - 1

static int create(const char *body, struct create_req *r, struct err *e)
{
	return request_parse_create(body, body ? strlen(body) : 0, r, e);
}

TEST(request_create_reads_fields_and_defaults)
{
	struct create_req r;
	struct err e = { 0 };
	EXPECT(create("{\"name\":\"web-1\",\"image\":\"bb\"}", &r, &e) == 0);
	EXPECT(!strcmp(r.name, "web-1") && !strcmp(r.image, "bb"));
	EXPECT(r.start && !r.has_kind);
	EXPECT(create(" {\"name\":\"a\",\"image\":\"default\",\"type\":\"vm\",\"start\":false}\n",
		      &r, &e) == 0);
	EXPECT(r.has_kind && r.kind == KIND_VM && !r.start);
}

TEST(request_create_refuses_each_bad_input_with_one_reason)
{
	static const struct {
		const char *body, *says;
	} cases[] = {
		{ NULL, "required" },
		{ "", "required" },
		{ "{", "malformed JSON" },
		{ "[1]", "expected a JSON object" },
		{ "{\"name\":\"a\",\"image\":\"bb\"} {}", "text after" },
		{ "{\"image\":\"bb\"}", "\"name\": required" },
		{ "{\"name\":\"a\"}", "\"image\": required" },
		{ "{\"name\":1,\"image\":\"bb\"}", "expected a string" },
		{ "{\"name\":\"a\",\"image\":\"bb\",\"nme\":1}", "\"nme\": unknown field" },
		{ "{\"name\":\"a\",\"name\":\"b\",\"image\":\"bb\"}", "given twice" },
		{ "{\"name\":\"a/b\",\"image\":\"bb\"}", "'/'" },
		{ "{\"name\":\"..\",\"image\":\"bb\"}", "'..'" },
		{ "{\"name\":\"a\",\"image\":\"../etc\"}", "'/'" },
		{ "{\"name\":\"a\",\"image\":\"bb\",\"start\":1}", "true or false" },
		{ "{\"name\":\"a\",\"image\":\"bb\",\"type\":\"pod\"}", "\"container\" or \"vm\"" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct create_req r;
		struct err e = { 0 };
		int rc = create(cases[i].body, &r, &e);
		if (rc != -EINVAL || !strstr(e.msg, cases[i].says)) {
			printf("   body %s: rc %d, \"%s\"\n", cases[i].body ? cases[i].body : "(none)",
			       rc, e.msg);
			EXPECT(!"the expected refusal");
		}
	}
}

TEST(request_create_refuses_huge_body)
{
	size_t n = REQUEST_BODY_MAX + 10;
	char *big = malloc(n);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	struct create_req r;
	struct err e = { 0 };
	int rc = request_parse_create(big, n, &r, &e);
	free(big);
	EXPECT_EQ(rc, -E2BIG);
}

TEST(request_stop_defaults_and_limits)
{
	struct stop_req s;
	struct err e = { 0 };
	EXPECT(request_parse_stop(NULL, 0, &s, &e) == 0);
	EXPECT_EQ(s.timeout_s, STOP_TIMEOUT_DEFAULT);
	EXPECT(!s.force);
	EXPECT(request_parse_stop(B("{\"timeout\":0,\"force\":true}"), &s, &e) == 0);
	EXPECT(s.timeout_s == 0 && s.force);
	EXPECT(request_parse_stop(B("{\"timeout\":1.5}"), &s, &e) == -EINVAL);
	EXPECT(request_parse_stop(B("{\"timeout\":-1}"), &s, &e) == -EINVAL);
	EXPECT(request_parse_stop(B("{\"timeout\":99999}"), &s, &e) == -EINVAL);
	EXPECT(request_parse_stop(B("{\"force\":\"yes\"}"), &s, &e) == -EINVAL);
	EXPECT(request_parse_empty(B("{}"), &e) == 0);
	EXPECT(request_parse_empty(B("{\"a\":1}"), &e) == -EINVAL);
}

TEST(request_exec_reads_the_command_and_refuses_bad_ones)
{
	struct exec_req x;
	struct err e = { 0 };
	EXPECT(request_parse_exec(B("{\"command\":[\"uname\",\"-a\"],\"timeout\":5}"), &x, &e) == 0);
	EXPECT(!strcmp(x.argv[0], "uname") && !strcmp(x.argv[1], "-a") && !x.argv[2]);
	EXPECT_EQ(x.timeout_s, 5);
	request_exec_free(&x);
	EXPECT(request_parse_exec(B("{\"command\":[\"true\"]}"), &x, &e) == 0);
	EXPECT_EQ(x.timeout_s, EXEC_TIMEOUT_DEFAULT);
	EXPECT(!x.timeout_set && !x.tty_rows);
	request_exec_free(&x);
	EXPECT(request_parse_exec(B("{\"command\":[\"sh\"],\"tty\":{\"rows\":40,\"cols\":120}}"),
				  &x, &e) == 0);
	EXPECT(x.tty_rows == 40 && x.tty_cols == 120);
	request_exec_free(&x);
	static const struct {
		const char *body, *says;
	} bad[] = {
		{ "{}", "\"command\": required" },
		{ "{\"command\":\"ls\"}", "an array" },
		{ "{\"command\":[]}", "an array of 1" },
		{ "{\"command\":[\"ls\",1]}", "item 1" },
		{ "{\"command\":[\"\"]}", "empty program" },
		{ "{\"command\":[\"ls\"],\"tty\":true}", "\"tty\": expected {" },
		{ "{\"command\":[\"ls\"],\"tty\":{\"rows\":24,\"cols\":1001}}", "\"tty\"" },
		{ "{\"command\":[\"ls\"],\"tty\":{\"rows\":24,\"cols\":80,\"x\":1}}", "\"tty\"" },
		{ "{\"command\":[\"ls\"],\"stdin\":\"x\"}", "unknown field" },
		{ "{\"command\":[\"ls\"],\"timeout\":true}", "whole seconds" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = request_parse_exec(bad[i].body, strlen(bad[i].body), &x, &e);
		if (rc != -EINVAL || !strstr(e.msg, bad[i].says)) {
			printf("   body %s: rc %d, \"%s\"\n", bad[i].body, rc, e.msg);
			EXPECT(!"the expected refusal");
		}
		EXPECT(x.argv[0] == NULL);
	}
	char many[1024] = "{\"command\":[";
	for (int i = 0; i <= EXEC_ARGS_MAX; i++)
		strcat(many, i ? ",\"a\"" : "\"a\"");
	strcat(many, "]}");
	EXPECT(request_parse_exec(many, strlen(many), &x, &e) == -EINVAL);
}

TEST(request_config_takes_cpus_and_memory_sizes)
{
	struct config_req r;
	struct err e = { 0 };
	EXPECT(request_parse_config(B("{\"cpus\": 2, \"memory\": \"1G\"}"), &r, &e) == 0);
	EXPECT(r.has_cpus && r.cpus == 2 && r.has_memory && r.memory_mib == 1024);
	EXPECT(request_parse_config(B("{\"memory\": 268435456}"), &r, &e) == 0);
	EXPECT(!r.has_cpus && r.memory_mib == 256);
	EXPECT(request_parse_config(B("{\"memory\": \"0\"}"), &r, &e) == 0 && r.memory_mib == 0);
}

TEST(request_config_refuses_bad_values_naming_the_field)
{
	struct config_req r;
	struct err e = { 0 };
	EXPECT(request_parse_config(B("{}"), &r, &e) == -EINVAL && strstr(e.msg, "nothing to set"));
	EXPECT(request_parse_config(B("{\"cpus\": 1.5}"), &r, &e) == -EINVAL &&
	       strstr(e.msg, "\"cpus\""));
	EXPECT(request_parse_config(B("{\"cpus\": 65}"), &r, &e) == -EINVAL);
	EXPECT(request_parse_config(B("{\"memory\": \"12X\"}"), &r, &e) == -EINVAL &&
	       strstr(e.msg, "unknown unit"));
	EXPECT(request_parse_config(B("{\"memory\": \"1500K\"}"), &r, &e) == -EINVAL &&
	       strstr(e.msg, "whole number of MiB"));
	EXPECT(request_parse_config(B("{\"memory\": \"8M\"}"), &r, &e) == -EINVAL);
	EXPECT(request_parse_config(B("{\"memory\": \"99999999999999999999G\"}"), &r, &e) == -EINVAL);
	EXPECT(request_parse_config(B("{\"memory\": true}"), &r, &e) == -EINVAL);
	EXPECT(request_parse_config(B("{\"disk\": 1}"), &r, &e) == -EINVAL &&
	       strstr(e.msg, "unknown field"));
}

TEST(request_create_takes_a_command_array_only)
{
	struct create_req r;
	struct err e = { 0 };
	EXPECT(request_parse_create(B("{\"name\": \"a\", \"image\": \"bb\", \"command\": [\"sleep\", \"5\"]}"),
				    &r, &e) == 0);
	EXPECT(!strcmp(r.command, "[\"sleep\",\"5\"]"));
	EXPECT(request_parse_create(B("{\"name\": \"a\", \"image\": \"bb\", \"command\": \"sleep 5\"}"),
				    &r, &e) == -EINVAL && strstr(e.msg, "\"command\""));
	EXPECT(request_parse_create(B("{\"name\": \"a\", \"image\": \"bb\", \"command\": []}"), &r, &e) ==
	       -EINVAL);
	EXPECT(request_parse_create(B("{\"name\": \"a\", \"image\": \"bb\", \"command\": [\"\"]}"), &r, &e) ==
	       -EINVAL);
	EXPECT(request_parse_create(B("{\"name\": \"a\", \"image\": \"bb\", \"command\": [1]}"), &r, &e) ==
	       -EINVAL);
}

TEST(request_create_takes_one_network_or_up_to_four)
{
	struct create_req r;
	struct err e = { 0 };
	EXPECT(create("{\"name\":\"a\",\"image\":\"bb\",\"network\":\"n1\"}", &r, &e) == 0);
	EXPECT(!strcmp(r.network, "n1") && r.nmore_networks == 0);
	EXPECT(create("{\"name\":\"a\",\"image\":\"bb\",\"network\":[\"n1\",\"n2\",\"n3\"]}", &r,
		      &e) == 0);
	EXPECT(!strcmp(r.network, "n1") && r.nmore_networks == 2 &&
	       !strcmp(r.more_networks[0], "n2") && !strcmp(r.more_networks[1], "n3"));
	EXPECT(create("{\"name\":\"a\",\"image\":\"bb\",\"network\":[]}", &r, &e) == -EINVAL &&
	       strstr(e.msg, "1 to 4"));
	EXPECT(create("{\"name\":\"a\",\"image\":\"bb\",\"network\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
		      &r, &e) == -EINVAL);
	EXPECT(create("{\"name\":\"a\",\"image\":\"bb\",\"network\":[\"n1\",7]}", &r, &e) == -EINVAL &&
	       strstr(e.msg, "names"));
	EXPECT(create("{\"name\":\"a\",\"image\":\"bb\",\"network\":[\"../x\"]}", &r, &e) == -EINVAL);
}
