/*
 * `nimbus image private NAME PROJECT` and `nimbus image public NAME`: who
 * may see and launch an image (PATCH /1.0/images/NAME, host admin only;
 * docs/cloud.md).  A private image is its project's alone; a public one
 * (every imported image, at first) is every project's.
 */
#include "cli/cli.h"
#include "daemon/instance.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

int cli_image_owner(const char *sock, const char *sub, int nargs, char **args)
{
	bool private = !strcmp(sub, "private");
	if (nargs != (private ? 2 : 1)) {
		cli_error("image %s: expected %s (try `nimbus image --help`)", sub,
			  private ? "NAME PROJECT" : "NAME");
		return 2;
	}
	struct err e = { 0 };
	if (name_check("image", args[0], &e) < 0 ||
	    (private && name_check("project", args[1], &e) < 0)) {
		cli_error("image %s: %s", sub, e.msg);
		return 2;
	}
	cJSON *body = cJSON_CreateObject();
	if (private)
		cJSON_AddStringToObject(body, "project", args[1]);
	else
		cJSON_AddNullToObject(body, "project");
	char path[256], verb[32];
	snprintf(path, sizeof path, "/1.0/images/%s", args[0]);
	snprintf(verb, sizeof verb, "image %s", sub);
	int rc = cli_call(verb, sock, "PATCH", path, body, NULL);
	cJSON_Delete(body);
	if (rc == 0) {
		if (private)
			printf("Image %s is private to project %s\n", args[0], args[1]);
		else
			printf("Image %s is public\n", args[0]);
	}
	return rc;
}
