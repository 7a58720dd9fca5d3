/*
 * What the daemon-backed verbs (launch, list, info, start, stop, delete)
 * share: the --socket option, one call to the daemon with the error printed
 * as one line, and the exit status for it.
 */
#include "cli/cli.h"
#include "daemon/client.h"
#include "daemon/instance.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int cli_call(const char *verb, const char *sock, const char *method, const char *path,
	     const cJSON *body, cJSON **reply)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	struct err e = { 0 };
	int rc = client_call(client_socket_path(sock), method, path, text, NULL, reply, &e);
	cJSON_free(text);
	if (rc == 0)
		return 0;
	cli_error("%s: %s", verb, e.msg);
	return rc == -EINVAL ? 2 : 1;
}

bool cli_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

const char *cli_json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

long long cli_json_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

int cli_instance_path(const char *verb, const char *name, const char *suffix, char *buf,
		      size_t len)
{
	struct err e = { 0 };
	if (name_check("instance", name, &e) < 0) {
		cli_error("%s: %s", verb, e.msg);
		return 2;
	}
	snprintf(buf, len, "/1.0/instances/%s%s", name, suffix ? suffix : "");
	return 0;
}
