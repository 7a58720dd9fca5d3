/*
 * The request bodies of a move between daemons (migrate.h): the source's
 * POST /1.0/instances/NAME/migrate and the target's POST /1.0/incoming/NAME.
 * Apart from migrate.c so the fuzzer (fuzz/migrate_req_fuzz.c) takes them
 * without the daemon.
 */
#include "daemon/migrate.h"

#include "daemon/disks.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int migrate_req_parse(const char *body, size_t len, struct migrate_req *out, struct err *e)
{
	static const char *const fields[] = { "target", NULL };
	cJSON *j = NULL;
	int rc = request_object(body, len, &j, e);
	if (rc == 0 && !j)
		rc = err_set(e, -EINVAL, "field \"target\": required (the target daemon's socket)");
	if (rc == 0)
		rc = request_known_fields(j, fields, e);
	const cJSON *t = rc == 0 ? cJSON_GetObjectItemCaseSensitive(j, "target") : NULL;
	if (rc == 0 && (!cJSON_IsString(t) || t->valuestring[0] != '/' ||
			strlen(t->valuestring) >= sizeof out->target))
		rc = err_set(e, -EINVAL, "field \"target\": expected the absolute path of the "
			     "target daemon's Unix socket (at most %zu bytes)", sizeof out->target - 1);
	if (rc == 0)
		snprintf(out->target, sizeof out->target, "%s", t->valuestring);
	cJSON_Delete(j);
	return rc;
}

static int number_field(const cJSON *j, const char *name, double lo, double hi, double *out,
			struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	if (!v)
		return 0;
	/* In range first: casting 1e94 (or NaN) to an integer is undefined. */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
	    v->valuedouble != (double)(long long)v->valuedouble)
		return err_set(e, -EINVAL, "field \"%s\": expected a whole number from %.0f to %.0f",
			       name, lo, hi);
	*out = v->valuedouble;
	return 0;
}

static int name_field(const cJSON *j, const char *field, bool required, char *out, size_t len,
		      struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
	if (!v && !required)
		return 0;
	if (!cJSON_IsString(v))
		return err_set(e, -EINVAL, "field \"%s\": expected a name", field);
	if (name_check(field, v->valuestring, e) < 0)
		return -EINVAL;
	snprintf(out, len, "%s", v->valuestring);
	return 0;
}

int incoming_req_parse(const char *body, size_t len, struct incoming_req **out, struct err *e)
{
	static const char *const fields[] = { "image", "project", "cpus", "memory_mib", "disks",
					      NULL };
	*out = NULL;
	struct incoming_req *r = calloc(1, sizeof *r);
	if (!r)
		return err_set(e, -ENOMEM, "daemon: out of memory");
	cJSON *j = NULL;
	double cpus = 0, mem = 0;
	int rc = request_object(body, len, &j, e);
	if (rc == 0 && !j)
		rc = err_set(e, -EINVAL, "field \"image\": required");
	if (rc == 0)
		rc = request_known_fields(j, fields, e);
	if (rc == 0)
		rc = name_field(j, "image", true, r->cr.image, sizeof r->cr.image, e);
	if (rc == 0)
		rc = name_field(j, "project", false, r->cr.project, sizeof r->cr.project, e);
	if (rc == 0)
		rc = number_field(j, "cpus", 0, INSTANCE_CPUS_MAX, &cpus, e);
	if (rc == 0)
		rc = number_field(j, "memory_mib", 0, INSTANCE_MEMORY_MIB_MAX, &mem, e);
	if (rc == 0 && mem > 0 && mem < INSTANCE_MEMORY_MIB_MIN)
		rc = err_set(e, -EINVAL, "field \"memory_mib\": at least %d", INSTANCE_MEMORY_MIB_MIN);
	const cJSON *d = rc == 0 ? cJSON_GetObjectItemCaseSensitive(j, "disks") : NULL;
	if (d)
		rc = disks_parse(d, false, r->cr.disks, &r->cr.ndisks, e);
	cJSON_Delete(j);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->cr.has_kind = true;
	r->cr.kind = KIND_VM;
	r->cr.cpus = (int)cpus;
	r->cr.memory_mib = (long long)mem;
	*out = r;
	return 0;
}
