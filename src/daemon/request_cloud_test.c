#include "daemon/request_cloud.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

#define PARSE(fn, body, ...) fn(body, strlen(body), __VA_ARGS__)

TEST(project_request_takes_a_name_and_partial_quotas)
{
	struct project_req p;
	struct err e = { 0 };
	EXPECT(PARSE(request_parse_project, "{\"name\":\"team-a\"}", &p, &e) == 0);
	EXPECT(!strcmp(p.name, "team-a") && p.limit.v[QUOTA_INSTANCES] == 10);
	EXPECT(PARSE(request_parse_project, "{\"name\":\"b\",\"quota\":{\"cpus\":4,\"disk\":-1}}",
		     &p, &e) == 0);
	EXPECT(p.limit.v[QUOTA_CPUS] == 4 && p.limit.v[QUOTA_DISK] == -1 &&
	       p.limit.v[QUOTA_INSTANCES] == 10);
}

TEST(project_request_refuses_bad_fields_naming_them)
{
	struct project_req p;
	struct err e = { 0 };
	EXPECT(PARSE(request_parse_project, "{}", &p, &e) == -EINVAL && strstr(e.msg, "\"name\""));
	EXPECT(PARSE(request_parse_project, "{\"name\":\"A\"}", &p, &e) == -EINVAL);
	EXPECT(PARSE(request_parse_project, "{\"name\":\"a\",\"quota\":{\"ram\":1}}", &p, &e) ==
	       -EINVAL && strstr(e.msg, "\"ram\""));
	EXPECT(PARSE(request_parse_project, "{\"name\":\"a\",\"quota\":{\"cpus\":1.5}}", &p, &e) ==
	       -EINVAL && strstr(e.msg, "quota: field \"cpus\""));
	EXPECT(PARSE(request_parse_project, "{\"name\":\"a\",\"quota\":{\"cpus\":-2}}", &p, &e) ==
	       -EINVAL);
	EXPECT(PARSE(request_parse_project, "{\"name\":\"a\",\"quota\":5}", &p, &e) == -EINVAL);
	EXPECT(PARSE(request_parse_project, "{\"name\":\"a\",\"name\":\"b\"}", &p, &e) == -EINVAL &&
	       strstr(e.msg, "twice"));
}

TEST(quota_request_sets_only_what_it_names)
{
	struct quota q;
	unsigned mask;
	struct err e = { 0 };
	EXPECT(PARSE(request_parse_quota, "{\"memory\":1073741824,\"networks\":-1}", &q, &mask, &e) == 0);
	EXPECT(mask == ((1u << QUOTA_MEMORY) | (1u << QUOTA_NETWORKS)));
	EXPECT(q.v[QUOTA_MEMORY] == 1LL << 30 && q.v[QUOTA_NETWORKS] == -1);
	EXPECT(PARSE(request_parse_quota, "{}", &q, &mask, &e) == -EINVAL && strstr(e.msg, "no quota"));
	EXPECT(PARSE(request_parse_quota, "{\"cpus\":\"4\"}", &q, &mask, &e) == -EINVAL);
}

TEST(token_request_needs_a_known_role)
{
	struct token_req t;
	struct err e = { 0 };
	EXPECT(PARSE(request_parse_token, "{\"project\":\"p\",\"role\":\"reader\"}", &t, &e) == 0);
	EXPECT(!strcmp(t.project, "p") && t.role == ROLE_READER);
	EXPECT(PARSE(request_parse_token, "{\"role\":\"admin\"}", &t, &e) == 0 && !t.project[0]);
	EXPECT(PARSE(request_parse_token, "{\"project\":\"p\"}", &t, &e) == -EINVAL &&
	       strstr(e.msg, "\"role\""));
	EXPECT(PARSE(request_parse_token, "{\"role\":\"owner\"}", &t, &e) == -EINVAL &&
	       strstr(e.msg, "admin, member or reader"));
	EXPECT(PARSE(request_parse_token, "{\"role\":\"admin\",\"secret\":\"x\"}", &t, &e) == -EINVAL);
}

TEST(image_owner_request_is_a_project_or_null_for_public)
{
	char p[INSTANCE_NAME_MAX + 1];
	struct err e = { 0 };
	EXPECT(PARSE(request_parse_image_owner, "{\"project\":\"team-a\"}", p, &e) == 0 &&
	       !strcmp(p, "team-a"));
	EXPECT(PARSE(request_parse_image_owner, "{\"project\":null}", p, &e) == 0 && !p[0]);
	EXPECT(PARSE(request_parse_image_owner, "{}", p, &e) == -EINVAL &&
	       strstr(e.msg, "\"project\": required"));
	EXPECT(PARSE(request_parse_image_owner, "", p, &e) == -EINVAL);
	EXPECT(PARSE(request_parse_image_owner, "{\"project\":\"Team\"}", p, &e) == -EINVAL);
	EXPECT(PARSE(request_parse_image_owner, "{\"project\":true}", p, &e) == -EINVAL);
	EXPECT(PARSE(request_parse_image_owner, "{\"project\":null,\"public\":true}", p, &e) ==
	       -EINVAL && strstr(e.msg, "\"public\""));
}
