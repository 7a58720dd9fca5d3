/* See request_cloud.h. */
#include "daemon/request_cloud.h"
#include "daemon/network.h"
#include "daemon/request.h"
#include "daemon/volume.h"
#include "lib/size.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const quota_fields[] = { "instances", "cpus", "memory", "disk", "networks",
					    NULL };

/* The quota fields of object j into out (and mask). */
static int quotas_from(const cJSON *j, const char *where, struct quota *out, unsigned *mask,
		       struct err *e)
{
	int rc = request_known_fields(j, quota_fields, e);
	if (rc < 0)
		return rc;
	for (const cJSON *f = j ? j->child : NULL; f; f = f->next) {
		enum quota_kind k;
		quota_lookup(f->string, &k);
		double v = cJSON_IsNumber(f) ? f->valuedouble : -2;
		if (v != floor(v) || v < -1 || v > 4.5e15)
			return err_set(e, -EINVAL, "%sfield \"%s\": expected a whole number%s, or -1 "
				       "for no limit", where, f->string,
				       quota_is_size(k) ? " of bytes" : "");
		out->v[k] = (long long)v;
		*mask |= 1u << k;
	}
	return 0;
}

int request_parse_quota(const char *body, size_t len, struct quota *out, unsigned *mask,
			struct err *e)
{
	memset(out, 0, sizeof *out);
	*mask = 0;
	cJSON *j;
	int rc = request_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (at least one of instances, cpus, "
			       "memory, disk, networks)");
	rc = quotas_from(j, "", out, mask, e);
	if (rc == 0 && !*mask)
		rc = err_set(e, -EINVAL, "request body: no quota given (instances, cpus, memory, "
			     "disk, networks)");
	cJSON_Delete(j);
	return rc;
}

static int get_name(const cJSON *j, const char *field, const char *what, bool required,
		    char *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
	if (!v)
		return required ? err_set(e, -EINVAL, "field \"%s\": required", field) : 0;
	if (!cJSON_IsString(v))
		return err_set(e, -EINVAL, "field \"%s\": expected a string", field);
	int rc = name_check(what, v->valuestring, e);
	if (rc == 0)
		snprintf(out, INSTANCE_NAME_MAX + 1, "%s", v->valuestring);
	return rc;
}

int request_parse_project(const char *body, size_t len, struct project_req *out,
			  struct err *e)
{
	static const char *const fields[] = { "name", "quota", NULL };
	memset(out, 0, sizeof *out);
	quota_defaults(&out->limit);
	cJSON *j;
	int rc = request_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (name)");
	unsigned mask = 0;
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "quota");
	if ((rc = request_known_fields(j, fields, e)) == 0 &&
	    (rc = get_name(j, "name", "project", true, out->name, e)) == 0 && q) {
		if (!cJSON_IsObject(q))
			rc = err_set(e, -EINVAL, "field \"quota\": expected an object");
		else
			rc = quotas_from(q, "quota: ", &out->limit, &mask, e);
	}
	cJSON_Delete(j);
	return rc;
}

int request_parse_token(const char *body, size_t len, struct token_req *out, struct err *e)
{
	static const char *const fields[] = { "project", "role", NULL };
	memset(out, 0, sizeof *out);
	cJSON *j;
	int rc = request_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (role)");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "role");
	if ((rc = request_known_fields(j, fields, e)) == 0 &&
	    (rc = get_name(j, "project", "project", false, out->project, e)) == 0) {
		if (!r)
			rc = err_set(e, -EINVAL, "field \"role\": required (admin, member or reader)");
		else if (!cJSON_IsString(r))
			rc = err_set(e, -EINVAL, "field \"role\": expected a string");
		else if ((rc = role_parse(r->valuestring, &out->role, e)) < 0)
			err_set(e, rc, "field \"role\": expected admin, member or reader");
	}
	cJSON_Delete(j);
	return rc;
}

static int get_flag(const cJSON *j, const char *field, bool *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return err_set(e, -EINVAL, "field \"%s\": expected true or false", field);
	*out = cJSON_IsTrue(v);
	return 0;
}

int request_parse_network(const char *body, size_t len, struct network_req *out, struct err *e)
{
	static const char *const fields[] = { "name", "subnet", "nat", "isolated", "project", NULL };
	memset(out, 0, sizeof *out);
	cJSON *j;
	int rc = request_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (name)");
	const cJSON *sub = cJSON_GetObjectItemCaseSensitive(j, "subnet");
	if ((rc = request_known_fields(j, fields, e)) == 0 &&
	    (rc = get_name(j, "name", "network", true, out->name, e)) == 0 &&
	    (rc = get_name(j, "project", "project", false, out->project, e)) == 0 &&
	    (rc = get_flag(j, "nat", &out->nat, e)) == 0 &&
	    (rc = get_flag(j, "isolated", &out->isolated, e)) == 0 && sub) {
		if (!cJSON_IsString(sub))
			rc = err_set(e, -EINVAL, "field \"subnet\": expected a string such as "
				     "\"10.20.0.0/24\"");
		else if ((rc = subnet_parse(sub->valuestring, &out->subnet, e)) == 0)
			out->has_subnet = true;
	}
	if (rc == 0 && out->nat && out->isolated)
		rc = err_set(e, -EINVAL, "fields \"nat\" and \"isolated\": an isolated network "
			     "cannot reach the uplink; choose one");
	cJSON_Delete(j);
	return rc;
}

static int get_port(const cJSON *j, const char *field, bool required, int *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
	if (!v) {
		if (required)
			return err_set(e, -EINVAL, "field \"%s\": required (1 to 65535)", field);
		return 0;
	}
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	if (d != floor(d) || d < 1 || d > 65535)
		return err_set(e, -EINVAL, "field \"%s\": expected a port from 1 to 65535", field);
	*out = (int)d;
	return 0;
}

int request_parse_rules(const char *body, size_t len, struct ingress_rule *out, size_t *n,
			struct err *e)
{
	static const char *const fields[] = { "rules", NULL };
	static const char *const rule_fields[] = { "protocol", "port", "source", NULL };
	*n = 0;
	cJSON *j;
	int rc = request_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (rules)");
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
	if ((rc = request_known_fields(j, fields, e)) < 0)
		goto out;
	if (!cJSON_IsArray(rules) || cJSON_GetArraySize(rules) > INGRESS_RULES_MAX) {
		rc = err_set(e, -EINVAL, "field \"rules\": expected an array of at most %d rules",
			     INGRESS_RULES_MAX);
		goto out;
	}
	const cJSON *r;
	cJSON_ArrayForEach(r, rules) {
		struct ingress_rule *ir = &out[*n];
		char where[32];
		snprintf(where, sizeof where, "rules[%zu]", *n);
		memset(ir, 0, sizeof *ir);
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "protocol");
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(r, "source");
		const cJSON *port = cJSON_GetObjectItemCaseSensitive(r, "port");
		if (!cJSON_IsObject(r)) {
			rc = err_set(e, -EINVAL, "%s: expected an object", where);
			goto out;
		}
		if ((rc = request_known_fields(r, rule_fields, e)) < 0) {
			err_set(e, rc, "%s: %s", where, e->msg);
			goto out;
		}
		if (!cJSON_IsString(p) || (strcmp(p->valuestring, "tcp") && strcmp(p->valuestring, "udp") &&
					   strcmp(p->valuestring, "icmp"))) {
			rc = err_set(e, -EINVAL, "%s: field \"protocol\": expected tcp, udp or icmp", where);
			goto out;
		}
		snprintf(ir->protocol, sizeof ir->protocol, "%s", p->valuestring);
		bool icmp = !strcmp(ir->protocol, "icmp");
		double d = cJSON_IsNumber(port) ? port->valuedouble : -1;
		if (port && (icmp || d != floor(d) || d < 0 || d > 65535)) {
			rc = err_set(e, -EINVAL, "%s: field \"port\": %s", where, icmp
				     ? "icmp has no ports" : "expected 0 (every port) to 65535");
			goto out;
		}
		if (!port && !icmp) {
			rc = err_set(e, -EINVAL, "%s: field \"port\": required for %s (0: every port)",
				     where, ir->protocol);
			goto out;
		}
		ir->port = port ? (int)d : 0;
		struct subnet sn = { 0, 0 };
		if (src && (!cJSON_IsString(src) || (rc = cidr_parse(src->valuestring, &sn, e)) < 0)) {
			if (!cJSON_IsString(src))
				rc = err_set(e, -EINVAL, "%s: field \"source\": expected a CIDR", where);
			else
				err_set(e, rc, "%s: %s", where, e->msg);
			goto out;
		}
		subnet_str(&sn, ir->source, sizeof ir->source);
		(*n)++;
	}
out:
	cJSON_Delete(j);
	return rc;
}

int request_parse_forward(const char *body, size_t len, struct forward *out, struct err *e)
{
	static const char *const fields[] = { "protocol", "port", "instance", "target_port", NULL };
	memset(out, 0, sizeof *out);
	cJSON *j;
	int rc = request_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (protocol, port, instance)");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "protocol");
	if ((rc = request_known_fields(j, fields, e)) < 0)
		goto out;
	if (!cJSON_IsString(p) || (strcmp(p->valuestring, "tcp") && strcmp(p->valuestring, "udp"))) {
		rc = err_set(e, -EINVAL, "field \"protocol\": expected tcp or udp");
		goto out;
	}
	snprintf(out->protocol, sizeof out->protocol, "%s", p->valuestring);
	if ((rc = get_port(j, "port", true, &out->port, e)) < 0 ||
	    (rc = get_name(j, "instance", "instance", true, out->instance, e)) < 0)
		goto out;
	out->target_port = out->port;
	rc = get_port(j, "target_port", false, &out->target_port, e);
out:
	cJSON_Delete(j);
	return rc;
}

static int get_size(const cJSON *j, long long *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "size");
	uint64_t bytes = 0;
	bool ok;
	if (!v)
		return err_set(e, -EINVAL, "field \"size\": required (bytes, or e.g. \"10G\")");
	if (cJSON_IsNumber(v))
		ok = v->valuedouble == floor(v->valuedouble) && v->valuedouble >= 0 &&
		     v->valuedouble <= (double)VOLUME_SIZE_MAX && (bytes = (uint64_t)v->valuedouble, true);
	else
		ok = cJSON_IsString(v) && parse_size(v->valuestring, 1, &bytes) == 0;
	if (!ok || bytes < (uint64_t)VOLUME_SIZE_MIN || bytes > (uint64_t)VOLUME_SIZE_MAX ||
	    bytes % 512)
		return err_set(e, -EINVAL, "field \"size\": expected bytes or a size such as \"10G\", "
			       "a multiple of 512 from 1 MiB to 16 TiB");
	*out = (long long)bytes;
	return 0;
}

int request_parse_volume(const char *body, size_t len, struct volume *out, struct err *e)
{
	static const char *const fields[] = { "name", "size", "type", "project", NULL };
	memset(out, 0, sizeof *out);
	cJSON *j;
	int rc = request_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (name, size)");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
	if ((rc = request_known_fields(j, fields, e)) == 0 &&
	    (rc = get_name(j, "name", "volume", true, out->name, e)) == 0 &&
	    (rc = get_name(j, "project", "project", false, out->project, e)) == 0 &&
	    (rc = get_size(j, &out->size, e)) == 0 && t) {
		if (!cJSON_IsString(t) || (strcmp(t->valuestring, "block") && strcmp(t->valuestring, "dir")))
			rc = err_set(e, -EINVAL, "field \"type\": expected \"block\" (a qcow2 disk for "
				     "VMs) or \"dir\" (a directory for containers)");
		else
			out->dir = !strcmp(t->valuestring, "dir");
	}
	cJSON_Delete(j);
	return rc;
}

int request_parse_size(const char *body, size_t len, long long *size, struct err *e)
{
	static const char *const fields[] = { "size", NULL };
	cJSON *j;
	int rc = request_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (size)");
	if ((rc = request_known_fields(j, fields, e)) == 0)
		rc = get_size(j, size, e);
	cJSON_Delete(j);
	return rc;
}

int request_parse_one_name(const char *body, size_t len, const char *field, const char *what,
			   char *out, struct err *e)
{
	const char *fields[] = { field, NULL };
	cJSON *j;
	int rc = request_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (%s)", field);
	if ((rc = request_known_fields(j, fields, e)) == 0)
		rc = get_name(j, field, what, true, out, e);
	cJSON_Delete(j);
	return rc;
}

int request_parse_image_owner(const char *body, size_t len, char *project, struct err *e)
{
	static const char *const fields[] = { "project", NULL };
	project[0] = 0;
	cJSON *j;
	int rc = request_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required ({\"project\": NAME or null})");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "project");
	if ((rc = request_known_fields(j, fields, e)) == 0) {
		if (!p)
			rc = err_set(e, -EINVAL, "field \"project\": required (a project, or null for "
				     "public)");
		else if (!cJSON_IsNull(p))
			rc = get_name(j, "project", "project", true, project, e);
	}
	cJSON_Delete(j);
	return rc;
}
