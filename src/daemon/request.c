/* See request.h. */
#include "daemon/request.h"
#include "lib/size.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", s[i]))
			return false;
	return true;
}

/* Parses body as one JSON object into *out (NULL for an empty body). */
static int parse_object(const char *body, size_t len, cJSON **out, struct err *e)
{
	*out = NULL;
	if (!body || blank(body, len))
		return 0;
	if (len > REQUEST_BODY_MAX)
		return err_set(e, -E2BIG, "request body: larger than %d bytes", REQUEST_BODY_MAX);
	if (memchr(body, 0, len))
		return err_set(e, -EINVAL, "request body: contains a NUL byte");
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!j) {
		const char *at = cJSON_GetErrorPtr();
		long off = at && at >= body && at <= body + len ? (long)(at - body) : -1;
		return err_set(e, -EINVAL, "request body: malformed JSON (at byte %ld)", off);
	}
	if (end && !blank(end, len - (size_t)(end - body))) {
		cJSON_Delete(j);
		return err_set(e, -EINVAL, "request body: text after the JSON value (at byte %ld)",
			       (long)(end - body));
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return err_set(e, -EINVAL, "request body: expected a JSON object");
	}
	*out = j;
	return 0;
}

static int known_fields(const cJSON *j, const char *const *names, struct err *e)
{
	for (const cJSON *f = j ? j->child : NULL; f; f = f->next) {
		bool ok = false;
		for (const char *const *n = names; *n && !ok; n++)
			ok = !strcmp(f->string, *n);
		if (!ok)
			return err_set(e, -EINVAL, "field \"%.64s\": unknown field", f->string);
		for (const cJSON *g = f->next; g; g = g->next)
			if (!strcmp(f->string, g->string))
				return err_set(e, -EINVAL, "field \"%.64s\": given twice", f->string);
	}
	return 0;
}

static int get_name(const cJSON *j, const char *field, char *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
	if (!v)
		return err_set(e, -EINVAL, "field \"%s\": required", field);
	if (!cJSON_IsString(v))
		return err_set(e, -EINVAL, "field \"%s\": expected a string", field);
	int rc = name_check(field, v->valuestring, e);
	if (rc < 0)
		return rc;
	snprintf(out, INSTANCE_NAME_MAX + 1, "%s", v->valuestring);
	return 0;
}

static int get_bool(const cJSON *j, const char *field, bool *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return err_set(e, -EINVAL, "field \"%s\": expected true or false", field);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* "timeout": whole seconds from 0 to STOP_TIMEOUT_MAX, if present. */
static int get_timeout(const cJSON *j, int *out, struct err *e)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "timeout");
	if (!t)
		return 0;
	double v = cJSON_IsNumber(t) ? t->valuedouble : -1;
	if (!cJSON_IsNumber(t) || v != floor(v) || v < 0 || v > STOP_TIMEOUT_MAX)
		return err_set(e, -EINVAL, "field \"timeout\": expected whole seconds from 0 to %d",
			       STOP_TIMEOUT_MAX);
	*out = (int)v;
	return 0;
}

/* "cpus" and "memory", the resources a launch reserves (and counts against
 * its project's quotas). */
static int get_resources(const cJSON *j, struct create_req *out, struct err *e)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "cpus");
	if (c) {
		double v = cJSON_IsNumber(c) ? c->valuedouble : 0;
		if (v != floor(v) || v < 1 || v > INSTANCE_CPUS_MAX)
			return err_set(e, -EINVAL, "field \"cpus\": expected a whole number from 1 to %d",
				       INSTANCE_CPUS_MAX);
		out->cpus = (int)v;
	}
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "memory");
	if (m) {
		const uint64_t max = (uint64_t)INSTANCE_MEMORY_MIB_MAX << 20;
		uint64_t bytes = 0;
		bool ok;
		if (cJSON_IsNumber(m))
			ok = m->valuedouble == floor(m->valuedouble) && m->valuedouble >= 0 &&
			     m->valuedouble <= (double)max && (bytes = (uint64_t)m->valuedouble, true);
		else
			ok = cJSON_IsString(m) && parse_size(m->valuestring, 1, &bytes) == 0;
		if (!ok || bytes < ((uint64_t)INSTANCE_MEMORY_MIB_MIN << 20) || bytes > max ||
		    bytes % (1u << 20))
			return err_set(e, -EINVAL, "field \"memory\": expected bytes or a size such as "
				       "\"512M\", whole MiB from 16 MiB to 64 GiB");
		out->memory_mib = (long long)(bytes >> 20);
	}
	return 0;
}

int request_parse_create(const char *body, size_t len, struct create_req *out, struct err *e)
{
	static const char *const fields[] = { "name", "image", "type", "start", "command", "project",
					      "cpus", "memory", "network", "profile", "terminal", NULL };
	memset(out, 0, sizeof *out);
	out->start = true;
	cJSON *j;
	int rc = parse_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (name and image)");
	if ((rc = known_fields(j, fields, e)) < 0 ||
	    (rc = get_name(j, "name", out->name, e)) < 0 ||
	    (rc = get_name(j, "image", out->image, e)) < 0 ||
	    (rc = get_bool(j, "start", &out->start, e)) < 0 ||
	    (rc = get_bool(j, "terminal", &out->terminal, e)) < 0 ||
	    (rc = get_resources(j, out, e)) < 0)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(j, "project") &&
	    (rc = get_name(j, "project", out->project, e)) < 0)
		goto out;
	const cJSON *nets = cJSON_GetObjectItemCaseSensitive(j, "network");
	if (cJSON_IsArray(nets)) {
		/* several networks: a NIC on each, in this order */
		int n = cJSON_GetArraySize(nets);
		const cJSON *a;
		if (n < 1 || n > 4) {
			rc = err_set(e, -EINVAL, "field \"network\": 1 to 4 networks");
			goto out;
		}
		cJSON_ArrayForEach(a, nets) {
			char *to = a == nets->child ? out->network
						    : out->more_networks[out->nmore_networks++];
			if (!cJSON_IsString(a)) {
				rc = err_set(e, -EINVAL, "field \"network\": expected names");
				goto out;
			}
			if ((rc = name_check("network", a->valuestring, e)) < 0)
				goto out;
			snprintf(to, INSTANCE_NAME_MAX + 1, "%s", a->valuestring);
		}
	} else if (nets && (rc = get_name(j, "network", out->network, e)) < 0) {
		goto out;
	}
	if (cJSON_GetObjectItemCaseSensitive(j, "profile") &&
	    (rc = get_name(j, "profile", out->profile, e)) < 0)
		goto out;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
	if (t) {
		if (!cJSON_IsString(t) || kind_parse(t->valuestring, &out->kind) < 0) {
			rc = err_set(e, -EINVAL, "field \"type\": expected \"container\" or \"vm\"");
			goto out;
		}
		out->has_kind = true;
	}
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(j, "command");
	if (cmd) {
		int n = cJSON_IsArray(cmd) ? cJSON_GetArraySize(cmd) : -1;
		const cJSON *a;
		bool ok = n >= 1 && n <= EXEC_ARGS_MAX;
		const cJSON *items = ok ? cmd : NULL;
		cJSON_ArrayForEach(a, items)
			ok = ok && cJSON_IsString(a) && strlen(a->valuestring) <= EXEC_ARG_MAX;
		char *text = ok ? cJSON_PrintUnformatted(cmd) : NULL;
		if (!ok || !text || strlen(text) >= sizeof out->command || !*cmd->child->valuestring)
			rc = err_set(e, -EINVAL, "field \"command\": expected an array of 1 to %d strings, "
				     "a program first, %d bytes in all at most", EXEC_ARGS_MAX,
				     INSTANCE_COMMAND_MAX - 1);
		else
			strcpy(out->command, text);
		cJSON_free(text);
	}
out:
	cJSON_Delete(j);
	return rc;
}

int request_parse_stop(const char *body, size_t len, struct stop_req *out, struct err *e)
{
	static const char *const fields[] = { "timeout", "force", NULL };
	out->timeout_s = STOP_TIMEOUT_DEFAULT;
	out->force = false;
	cJSON *j;
	int rc = parse_object(body, len, &j, e);
	if (rc < 0 || !j)
		return rc;
	if ((rc = known_fields(j, fields, e)) == 0 && (rc = get_bool(j, "force", &out->force, e)) == 0)
		rc = get_timeout(j, &out->timeout_s, e);
	cJSON_Delete(j);
	return rc;
}

void request_exec_free(struct exec_req *r)
{
	for (int i = 0; i < EXEC_ARGS_MAX && r->argv[i]; i++)
		free(r->argv[i]);
	r->argv[0] = NULL;
}

/* A terminal's size, {"rows": R, "cols": C} and nothing else, each 1 to
 * 1000: false if t is not one. */
static bool window_size(const cJSON *t, unsigned *rows, unsigned *cols)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(t, "rows");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(t, "cols");
	if (!cJSON_IsObject(t) || cJSON_GetArraySize(t) != 2 || !cJSON_IsNumber(r) ||
	    !cJSON_IsNumber(c) || r->valuedouble != floor(r->valuedouble) ||
	    c->valuedouble != floor(c->valuedouble) || r->valuedouble < 1 ||
	    r->valuedouble > 1000 || c->valuedouble < 1 || c->valuedouble > 1000)
		return false;
	*rows = (unsigned)r->valuedouble;
	*cols = (unsigned)c->valuedouble;
	return true;
}

/* An exec's "tty": a window size. */
static int get_tty(const cJSON *j, struct exec_req *out, struct err *e)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "tty");
	if (t && !window_size(t, &out->tty_rows, &out->tty_cols))
		return err_set(e, -EINVAL, "field \"tty\": expected {\"rows\": 1 to 1000, "
			       "\"cols\": 1 to 1000}");
	return 0;
}

int request_parse_window(const char *body, size_t len, unsigned *rows, unsigned *cols,
			 struct err *e)
{
	cJSON *j;
	int rc = parse_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j || !window_size(j, rows, cols))
		rc = err_set(e, -EINVAL, "body: expected {\"rows\": 1 to 1000, \"cols\": 1 to 1000}");
	cJSON_Delete(j);
	return rc;
}

int request_parse_exec(const char *body, size_t len, struct exec_req *out, struct err *e)
{
	static const char *const fields[] = { "command", "timeout", "tty", NULL };
	memset(out, 0, sizeof *out);
	out->timeout_s = EXEC_TIMEOUT_DEFAULT;
	cJSON *j;
	int rc = parse_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (command)");
	if ((rc = known_fields(j, fields, e)) < 0 || (rc = get_timeout(j, &out->timeout_s, e)) < 0 ||
	    (rc = get_tty(j, out, e)) < 0)
		goto out;
	out->timeout_set = cJSON_GetObjectItemCaseSensitive(j, "timeout") != NULL;
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(j, "command");
	if (!cmd) {
		rc = err_set(e, -EINVAL, "field \"command\": required");
		goto out;
	}
	int n = cJSON_IsArray(cmd) ? cJSON_GetArraySize(cmd) : -1;
	if (n < 1 || n > EXEC_ARGS_MAX) {
		rc = err_set(e, -EINVAL, "field \"command\": expected an array of 1 to %d strings",
			     EXEC_ARGS_MAX);
		goto out;
	}
	int i = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, cmd) {
		if (!cJSON_IsString(a) || strlen(a->valuestring) > EXEC_ARG_MAX) {
			rc = err_set(e, -EINVAL, "field \"command\": item %d: expected a string of at "
				     "most %d bytes", i, EXEC_ARG_MAX);
			goto out;
		}
		if (i == 0 && !*a->valuestring) {
			rc = err_set(e, -EINVAL, "field \"command\": item 0: empty program name");
			goto out;
		}
		if (!(out->argv[i++] = strdup(a->valuestring))) {
			rc = err_set(e, -ENOMEM, "request body: out of memory");
			goto out;
		}
	}
out:
	if (rc < 0)
		request_exec_free(out);
	cJSON_Delete(j);
	return rc;
}

int request_parse_empty(const char *body, size_t len, struct err *e)
{
	static const char *const none[] = { NULL };
	cJSON *j;
	int rc = parse_object(body, len, &j, e);
	if (rc == 0)
		rc = known_fields(j, none, e);
	cJSON_Delete(j);
	return rc;
}

int request_object(const char *body, size_t len, cJSON **out, struct err *e)
{
	return parse_object(body, len, out, e);
}

int request_known_fields(const cJSON *j, const char *const *names, struct err *e)
{
	return known_fields(j, names, e);
}

static int mib_from_bytes(const char *what, const char *s, unsigned long long bytes,
			  long long *mib, struct err *e);

int request_parse_size_mib(const char *what, const char *s, long long *mib, struct err *e)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || *s == '-' || errno)
		return err_set(e, -EINVAL, "%s%.32s: expected a size such as 512M or 2G", what, s);
	static const char units[] = "KMGT";
	const char *u = *end ? strchr(units, *end == 'k' ? 'K' : *end) : NULL;
	unsigned long long bytes;
	if (!*end)
		bytes = v << 20;   /* a bare number is MiB, as everywhere in nimbus */
	else if (!u || (end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B")))
		return err_set(e, -EINVAL, "%s%.32s: unknown unit (use K, M, G or T)", what, s);
	else
		bytes = v << (10 * (u - units + 1));
	if (v > (1ULL << 40) || (bytes >> (10 * (u ? u - units + 1 : 2))) != v)
		return err_set(e, -EINVAL, "%s%.32s: too large", what, s);
	return mib_from_bytes(what, s, bytes, mib, e);
}

static int mib_from_bytes(const char *what, const char *s, unsigned long long bytes,
			  long long *mib, struct err *e)
{
	if (bytes % (1 << 20))
		return err_set(e, -EINVAL, "%s%.32s: not a whole number of MiB", what, s);
	*mib = (long long)(bytes >> 20);
	if (*mib && (*mib < CONFIG_MEMORY_MIN_MIB || *mib > CONFIG_MEMORY_MAX_MIB))
		return err_set(e, -EINVAL, "%s%.32s: expected 0 (the default) or %dM to %lldM", what,
			       s, CONFIG_MEMORY_MIN_MIB, CONFIG_MEMORY_MAX_MIB);
	return 0;
}

int request_parse_config(const char *body, size_t len, struct config_req *out, struct err *e)
{
	static const char *const fields[] = { "cpus", "memory", "disks", NULL };
	memset(out, 0, sizeof *out);
	cJSON *j;
	int rc = parse_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j || !j->child) {
		cJSON_Delete(j);
		return err_set(e, -EINVAL, "request body: nothing to set (cpus, memory, disks)");
	}
	if ((rc = known_fields(j, fields, e)) < 0)
		goto out;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "disks");
	if (d && (rc = disks_parse(d, true, out->disks, &out->ndisks, e)) < 0)
		goto out;
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "cpus");
	if (c) {
		double v = cJSON_IsNumber(c) ? c->valuedouble : -1;
		if (!cJSON_IsNumber(c) || v != floor(v) || v < 0 || v > CONFIG_CPUS_MAX) {
			rc = err_set(e, -EINVAL, "field \"cpus\": expected a whole number from 0 "
				     "(the default) to %d", CONFIG_CPUS_MAX);
			goto out;
		}
		out->has_cpus = true;
		out->cpus = (int)v;
	}
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "memory");
	if (m) {
		out->has_memory = true;
		if (cJSON_IsString(m)) {
			rc = request_parse_size_mib("field \"memory\": ", m->valuestring,
						    &out->memory_mib, e);
		} else if (cJSON_IsNumber(m) && m->valuedouble == floor(m->valuedouble) &&
			   m->valuedouble >= 0 && m->valuedouble <= 1e15) {
			char s[32];
			snprintf(s, sizeof s, "%.0f", m->valuedouble);
			rc = mib_from_bytes("field \"memory\": ", s, (unsigned long long)m->valuedouble,
					    &out->memory_mib, e);
		} else {
			rc = err_set(e, -EINVAL, "field \"memory\": expected a size such as \"512M\" "
				     "or a number of bytes");
		}
	}
out:
	cJSON_Delete(j);
	return rc;
}

int request_parse_image_import(const char *body, size_t len, struct image_import_req *out,
			       struct err *e)
{
	static const char *const fields[] = { "source", "name", NULL };
	memset(out, 0, sizeof *out);
	cJSON *j;
	int rc = parse_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j)
		return err_set(e, -EINVAL, "request body: required (source and name)");
	if ((rc = known_fields(j, fields, e)) < 0 || (rc = get_name(j, "name", out->name, e)) < 0)
		goto out;
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "source");
	if (!cJSON_IsString(src) || !*src->valuestring)
		rc = err_set(e, -EINVAL, "field \"source\": %s", src ? "expected a path" : "required");
	else if (src->valuestring[0] != '/')
		rc = err_set(e, -EINVAL, "field \"source\": %.200s: expected an absolute path on the "
			     "daemon's host", src->valuestring);
	else if (strlen(src->valuestring) >= sizeof out->source)
		rc = err_set(e, -EINVAL, "field \"source\": longer than %zu bytes",
			     sizeof out->source - 1);
	else
		strcpy(out->source, src->valuestring);
out:
	cJSON_Delete(j);
	return rc;
}
