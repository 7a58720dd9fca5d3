#include "daemon/api.h"
#include "lib/testing.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static bool route_served(const char *method, const char *path)
{
	for (size_t i = 0; i < api_nroutes; i++) {
		char lower[16];
		size_t n = strlen(api_routes[i].method);
		for (size_t k = 0; k <= n && k < sizeof lower; k++)
			lower[k] = (char)tolower((unsigned char)api_routes[i].method[k]);
		if (!strcmp(lower, method) && !strcmp(api_routes[i].pattern, path))
			return true;
	}
	return false;
}

TEST(openapi_document_is_openapi_3_json)
{
	EXPECT(api_openapi_len > 100);
	EXPECT(strlen(api_openapi_doc) == api_openapi_len);
	cJSON *doc = cJSON_Parse(api_openapi_doc);
	EXPECT(doc);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "openapi");
	EXPECT(cJSON_IsString(v) && !strncmp(v->valuestring, "3.", 2));
	cJSON_Delete(doc);
}

TEST(openapi_every_served_route_is_documented)
{
	cJSON *doc = cJSON_Parse(api_openapi_doc);
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
	for (size_t i = 0; i < api_nroutes; i++) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(paths, api_routes[i].pattern);
		char lower[16] = "";
		for (size_t k = 0; api_routes[i].method[k] && k + 1 < sizeof lower; k++)
			lower[k] = (char)tolower((unsigned char)api_routes[i].method[k]);
		if (!p || !cJSON_GetObjectItemCaseSensitive(p, lower)) {
			printf("   undocumented: %s %s\n", api_routes[i].method, api_routes[i].pattern);
			cJSON_Delete(doc);
			EXPECT(!"every route is in openapi.json");
		}
	}
	cJSON_Delete(doc);
}

TEST(openapi_every_documented_route_is_served)
{
	static const char *const methods[] = { "get", "put", "post", "delete", "patch", "head",
					       "options", "trace", NULL };
	cJSON *doc = cJSON_Parse(api_openapi_doc);
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
	const cJSON *p;
	int documented = 0;
	cJSON_ArrayForEach(p, paths) {
		const cJSON *op;
		cJSON_ArrayForEach(op, p) {
			bool is_method = false;
			for (const char *const *m = methods; *m; m++)
				is_method |= !strcmp(op->string, *m);
			if (!is_method)
				continue;   /* "parameters", "summary" */
			documented++;
			if (!route_served(op->string, p->string)) {
				printf("   documented but not served: %s %s\n", op->string, p->string);
				cJSON_Delete(doc);
				EXPECT(!"every documented route is served");
			}
		}
	}
	cJSON_Delete(doc);
	EXPECT_EQ(documented, api_nroutes);
}

/* Requests refused before they reach the service: no service needed. */
static int status_of(const char *method, const char *path, const char *body, char *msg, size_t len)
{
	struct api_req r = { .method = method, .path = path, .body = body,
			     .body_len = body ? strlen(body) : 0 };
	struct api_resp out;
	api_dispatch(NULL, &r, &out);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(out.json, "error");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
	int status = cJSON_IsString(code) && cJSON_IsString(m) ? out.status : -1;
	snprintf(msg, len, "%s", cJSON_IsString(m) ? m->valuestring : "");
	cJSON_Delete(out.json);
	return status;
}

TEST(api_errors_are_one_shape_with_fitting_status)
{
	char m[512];
	EXPECT_EQ(status_of("GET", "/1.0/nothing", NULL, m, sizeof m), 404);
	EXPECT_EQ(status_of("PUT", "/1.0/instances", NULL, m, sizeof m), 405);
	EXPECT(strstr(m, "GET, POST"));
	EXPECT_EQ(status_of("GET", "/1.0/instances/../images", NULL, m, sizeof m), 400);
	EXPECT_EQ(status_of("GET", "/1.0/instances/Web1", NULL, m, sizeof m), 400);
	EXPECT(strstr(m, "'W'"));
	EXPECT_EQ(status_of("POST", "/1.0/instances", "{\"name\":", m, sizeof m), 400);
	EXPECT(strstr(m, "malformed JSON"));
	EXPECT_EQ(status_of("POST", "/1.0/instances", "{\"name\":\"a\",\"image\":\"bb\",\"x\":1}",
			    m, sizeof m), 400);
	EXPECT(strstr(m, "\"x\": unknown field"));
	EXPECT_EQ(status_of("POST", "/1.0/instances/a/stop", "{\"timeout\":\"5\"}", m, sizeof m), 400);
	EXPECT_EQ(status_of("POST", "/1.0/instances/a/start", "{\"now\":true}", m, sizeof m), 400);
	EXPECT_EQ(status_of("POST", "/1.0/instances/a/start", "{\"now\":true}", m, sizeof m), 400);
}

TEST(api_status_maps_library_errors)
{
	EXPECT_EQ(api_status_for(-EINVAL), 400);
	EXPECT_EQ(api_status_for(-ENOENT), 404);
	EXPECT_EQ(api_status_for(-EEXIST), 409);
	EXPECT_EQ(api_status_for(-EBUSY), 409);
	EXPECT_EQ(api_status_for(-EALREADY), 409);
	EXPECT_EQ(api_status_for(-E2BIG), 413);
	EXPECT_EQ(api_status_for(-EIO), 500);
}
