/* See profile.h: the parsing half (request bodies, JSON, applying one to a
 * launch), apart from the table so that it can be fuzzed without a database. */
#include "daemon/profile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_cpus(const cJSON *c, struct profile *p, struct err *e)
{
	if (cJSON_IsNull(c)) {
		p->cpus = 0;
		return 0;
	}
	double v = cJSON_IsNumber(c) ? c->valuedouble : 0;
	if (v != floor(v) || v < 1 || v > INSTANCE_CPUS_MAX)
		return err_set(e, -EINVAL, "field \"cpus\": expected a whole number from 1 to %d "
			       "(or null to unset it)", INSTANCE_CPUS_MAX);
	p->cpus = (int)v;
	return 0;
}

static int parse_memory(const cJSON *m, struct profile *p, struct err *e)
{
	if (cJSON_IsNull(m)) {
		p->memory_mib = 0;
		return 0;
	}
	if (!cJSON_IsString(m))
		return err_set(e, -EINVAL, "field \"memory\": expected a size such as \"512M\" (or "
			       "null to unset it)");
	int rc = request_parse_size_mib("field \"memory\": ", m->valuestring, &p->memory_mib, e);
	if (rc == 0 && !p->memory_mib)
		rc = err_set(e, -EINVAL, "field \"memory\": 0: give a size (or null to unset it)");
	return rc;
}

/* Merges a "disks" object into p: a size adds or replaces, null removes. */
static int merge_disks(const cJSON *d, struct profile *p, struct err *e)
{
	struct disk chg[DISKS_MAX];
	size_t n;
	int rc = disks_parse(d, true, chg, &n, e);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < p->ndisks && strcmp(p->disks[k].name, chg[i].name))
			k++;
		if (!chg[i].size_mib) {
			if (k < p->ndisks)
				p->disks[k] = p->disks[--p->ndisks];
			continue;
		}
		if (k == p->ndisks) {
			if (p->ndisks == DISKS_MAX)
				return err_set(e, -EINVAL, "field \"disks\": more than %d disks in all",
					       DISKS_MAX);
			p->ndisks++;
		}
		p->disks[k] = chg[i];
	}
	return 0;
}

int profile_parse(const char *body, size_t len, bool create, struct profile *p,
		  struct err *e)
{
	static const char *const known[] = { "name", "description", "cpus", "memory", "network",
					     "disks", NULL };
	cJSON *j;
	int rc = request_object(body, len, &j, e);
	if (rc < 0)
		return rc;
	if (!j || (!create && !j->child)) {
		cJSON_Delete(j);
		return err_set(e, -EINVAL, "request body: %s", create ? "required (name)"
			       : "nothing to set (description, cpus, memory, network, disks)");
	}
	const cJSON *f;
	cJSON_ArrayForEach(f, j) {
		const char *const *k = known;
		while (*k && strcmp(*k, f->string))
			k++;
		if (!*k || (!create && !strcmp(f->string, "name"))) {
			rc = err_set(e, -EINVAL, "field \"%.64s\": %s", f->string, *k
				     ? "a profile is renamed by making a new one" : "unknown field");
			goto out;
		}
	}
	if (create) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
		if (!cJSON_IsString(n)) {
			rc = err_set(e, -EINVAL, "field \"name\": %s", n ? "expected a string" : "required");
			goto out;
		}
		if ((rc = name_check("profile", n->valuestring, e)) < 0)
			goto out;
		snprintf(p->name, sizeof p->name, "%s", n->valuestring);
	}
	if ((f = cJSON_GetObjectItemCaseSensitive(j, "description"))) {
		if (!cJSON_IsString(f) || strlen(f->valuestring) > PROFILE_DESCRIPTION_MAX ||
		    strpbrk(f->valuestring, "\n\r\t")) {
			rc = err_set(e, -EINVAL, "field \"description\": expected one line of at most "
				     "%d bytes", PROFILE_DESCRIPTION_MAX);
			goto out;
		}
		snprintf(p->description, sizeof p->description, "%s", f->valuestring);
	}
	if ((f = cJSON_GetObjectItemCaseSensitive(j, "cpus")) && (rc = parse_cpus(f, p, e)) < 0)
		goto out;
	if ((f = cJSON_GetObjectItemCaseSensitive(j, "memory")) && (rc = parse_memory(f, p, e)) < 0)
		goto out;
	if ((f = cJSON_GetObjectItemCaseSensitive(j, "network"))) {
		if (cJSON_IsNull(f)) {
			p->network[0] = 0;
		} else if (!cJSON_IsString(f)) {
			rc = err_set(e, -EINVAL, "field \"network\": expected a network's name (or "
				     "null to unset it)");
			goto out;
		} else if ((rc = name_check("network", f->valuestring, e)) < 0) {
			goto out;
		} else {
			snprintf(p->network, sizeof p->network, "%s", f->valuestring);
		}
	}
	if ((f = cJSON_GetObjectItemCaseSensitive(j, "disks")))
		rc = merge_disks(f, p, e);
out:
	cJSON_Delete(j);
	return rc;
}

/* The config column: what is set, nothing else. */
cJSON *profile_config_json(const struct profile *p)
{
	cJSON *o = cJSON_CreateObject();
	if (p->cpus)
		cJSON_AddNumberToObject(o, "cpus", p->cpus);
	if (p->memory_mib)
		cJSON_AddNumberToObject(o, "memory_mib", (double)p->memory_mib);
	if (p->network[0])
		cJSON_AddStringToObject(o, "network", p->network);
	if (p->ndisks)
		cJSON_AddItemToObject(o, "disks", disks_json(p->disks, p->ndisks));
	return o;
}

cJSON *profile_json(const struct profile *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "description", p->description);
	cJSON_AddItemToObject(o, "config", profile_config_json(p));
	cJSON_AddNumberToObject(o, "created_at", (double)p->created_at);
	return o;
}

void profile_apply(const struct profile *p, struct create_req *r)
{
	if (!r->cpus)
		r->cpus = p->cpus;
	if (!r->memory_mib)
		r->memory_mib = p->memory_mib;
	if (!r->network[0])
		snprintf(r->network, sizeof r->network, "%s", p->network);
}
