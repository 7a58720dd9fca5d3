/* See api_cloud.h. */
#include "daemon/api_cloud.h"
#include "daemon/meter.h"
#include "daemon/placement.h"
#include "daemon/project.h"
#include "daemon/request_cloud.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool is_host(const struct api_req *r)
{
	return !r->who || r->who->host_admin;
}

/* 404 for a project the caller's token does not belong to: the same
 * answer as for one that does not exist. */
static int visible(const struct api_req *r, const char *project, struct err *e)
{
	if (is_host(r) || !strcmp(r->who->project, project))
		return 0;
	return err_set(e, -ENOENT, "project \"%s\": no such project", project);
}

static int host_only(const struct api_req *r, const char *what, struct err *e)
{
	if (is_host(r))
		return 0;
	return err_set(e, -EPERM, "%s: only the host admin may do this (the Unix socket without a "
		       "token); token role %s", what, role_str(r->who->role));
}

static int token_admin(const struct api_req *r, struct err *e)
{
	if (is_host(r) || r->who->role == ROLE_ADMIN)
		return 0;
	return err_set(e, -EPERM, "tokens: managing tokens needs the admin role (this token is "
		       "a %s of project \"%s\")", role_str(r->who->role), r->who->project);
}

static cJSON *quota_json(const struct quota *q)
{
	cJSON *j = cJSON_CreateObject();
	for (int k = 0; k < QUOTA_N; k++)
		cJSON_AddNumberToObject(j, quota_name((enum quota_kind)k), (double)q->v[k]);
	return j;
}

static cJSON *project_json(struct db *db, const struct project *p, struct err *e)
{
	struct quota use;
	if (project_usage(db, p->name, &use, e) < 0)
		return NULL;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", p->name);
	cJSON_AddNumberToObject(j, "created_at", (double)p->created_at);
	cJSON_AddItemToObject(j, "quota", quota_json(&p->limit));
	cJSON_AddItemToObject(j, "usage", quota_json(&use));
	return j;
}

const char *api_scope(const struct api_req *r)
{
	if (r->who && !r->who->host_admin)
		return r->who->project;
	const char *p = r->query ? r->query(r->q, "project") : NULL;
	return p && *p ? p : NULL;
}

static int fail(struct api_resp *out, const struct err *e)
{
	api_error_from(out, e);
	return 0;
}

API_HANDLER(api_project_list)
{
	(void)name;
	struct err e = { 0 };
	struct project *v = NULL;
	size_t n = 0;
	struct db *db = service_lock(s);
	int rc;
	if (is_host(r)) {
		rc = project_list(db, &v, &n, &e);
	} else if ((v = malloc(sizeof *v))) {
		rc = project_get(db, r->who->project, v, &e);
		n = rc == 0;
	} else {
		rc = err_set(&e, -ENOMEM, "listing projects: out of memory");
	}
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; rc == 0 && i < n; i++) {
		cJSON *j = project_json(db, &v[i], &e);
		if (!j)
			rc = -EIO;
		cJSON_AddItemToArray(arr, j);
	}
	service_unlock(s);
	free(v);
	if (rc < 0) {
		cJSON_Delete(arr);
		return fail(out, &e);
	}
	out->status = 200;
	out->json = arr;
	return 0;
}

static int reply_project(struct service *s, struct db *db, const char *name, int status,
			 struct api_resp *out, struct err *e)
{
	struct project p;
	cJSON *j = NULL;
	if (project_get(db, name, &p, e) == 0)
		j = project_json(db, &p, e);
	service_unlock(s);
	if (!j)
		return fail(out, e);
	out->status = status;
	out->json = j;
	return 0;
}

API_HANDLER(api_project_create)
{
	(void)name;
	struct err e = { 0 };
	struct project_req pr;
	if (host_only(r, "projects", &e) < 0 ||
	    request_parse_project(r->body, r->body_len, &pr, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	if (project_create(db, pr.name, &pr.limit, &e) < 0) {
		service_unlock(s);
		return fail(out, &e);
	}
	return reply_project(s, db, pr.name, 201, out, &e);
}

API_HANDLER(api_project_get)
{
	struct err e = { 0 };
	if (visible(r, name, &e) < 0)
		return fail(out, &e);
	return reply_project(s, service_lock(s), name, 200, out, &e);
}

API_HANDLER(api_project_delete)
{
	struct err e = { 0 };
	char what[96];
	snprintf(what, sizeof what, "project \"%s\"", name);
	if (visible(r, name, &e) < 0 || host_only(r, what, &e) < 0 ||
	    request_parse_empty(r->body, r->body_len, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	int rc = project_delete(db, name, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 200;
	out->json = cJSON_CreateObject();
	return 0;
}

API_HANDLER(api_project_quota)
{
	struct err e = { 0 };
	char what[96];
	snprintf(what, sizeof what, "project \"%s\": quota", name);
	struct quota q;
	unsigned mask;
	if (visible(r, name, &e) < 0 || host_only(r, what, &e) < 0 ||
	    request_parse_quota(r->body, r->body_len, &q, &mask, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	if (project_set_quota(db, name, mask, &q, &e) < 0) {
		service_unlock(s);
		return fail(out, &e);
	}
	return reply_project(s, db, name, 200, out, &e);
}

static cJSON *token_json(const struct token_info *t)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", t->id);
	cJSON_AddStringToObject(j, "project", t->project);
	cJSON_AddStringToObject(j, "role", role_str(t->role));
	cJSON_AddNumberToObject(j, "created_at", (double)t->created_at);
	return j;
}

API_HANDLER(api_token_list)
{
	(void)name;
	struct err e = { 0 };
	if (token_admin(r, &e) < 0)
		return fail(out, &e);
	struct token_info *v;
	size_t n;
	struct db *db = service_lock(s);
	int rc = token_list(db, is_host(r) ? NULL : r->who->project, &v, &n, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 200;
	out->json = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(out->json, token_json(&v[i]));
	free(v);
	return 0;
}

API_HANDLER(api_token_create)
{
	(void)name;
	struct err e = { 0 };
	struct token_req tr;
	if (token_admin(r, &e) < 0 || request_parse_token(r->body, r->body_len, &tr, &e) < 0)
		return fail(out, &e);
	if (!tr.project[0]) {
		if (is_host(r)) {
			err_set(&e, -EINVAL, "field \"project\": required (the project the token is for)");
			return fail(out, &e);
		}
		snprintf(tr.project, sizeof tr.project, "%s", r->who->project);
	}
	if (visible(r, tr.project, &e) < 0)
		return fail(out, &e);
	char secret[TOKEN_LEN + 1], hash[TOKEN_HASH_HEX + 1];
	struct token_info t = { .role = tr.role };   /* created_at: as token_insert's, to the second */
	snprintf(t.project, sizeof t.project, "%s", tr.project);
	if (auth_token_new(secret, t.id, hash, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	int rc = token_insert(db, t.id, hash, t.project, t.role, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	t.created_at = (long long)time(NULL);
	out->status = 201;
	out->json = token_json(&t);
	/* The secret is in this answer only; the daemon keeps its hash. */
	cJSON_AddStringToObject(out->json, "token", secret);
	return 0;
}

API_HANDLER(api_token_revoke)
{
	struct err e = { 0 };
	if (token_admin(r, &e) < 0 || request_parse_empty(r->body, r->body_len, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	int rc = token_delete(db, name, is_host(r) ? NULL : r->who->project, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 200;
	out->json = cJSON_CreateObject();
	return 0;
}

API_HANDLER(api_placement)
{
	(void)name;
	struct err e = { 0 };
	struct placement_view v;
	if (host_only(r, "placement", &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	int rc = placement_view(db, service_placement(s), &v, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 200;
	out->json = cJSON_CreateObject();
	for (int k = 0; k < PLACE_N; k++) {
		cJSON *j = cJSON_AddObjectToObject(out->json, placement_name((enum placement_res)k));
		cJSON_AddNumberToObject(j, "total", (double)v.total[k]);
		cJSON_AddNumberToObject(j, "ratio", v.ratio[k]);
		cJSON_AddNumberToObject(j, "allocatable", (double)v.allocatable[k]);
		cJSON_AddNumberToObject(j, "allocated", (double)v.allocated[k]);
	}
	/* The measured load that may refuse a launch (host_load.h). */
	struct host_load hl;
	const struct load_limits *lim = &service_placement(s)->load;
	db = service_lock(s);
	rc = placement_load(service_placement(s), &hl, &e);
	service_unlock(s);
	if (rc == 0) {
		cJSON *l = cJSON_AddObjectToObject(out->json, "load");
		cJSON_AddNumberToObject(l, "cpus", hl.cpus);
		cJSON_AddNumberToObject(l, "loadavg1", hl.loadavg1);
		cJSON_AddNumberToObject(l, "loadavg5", hl.loadavg5);
		cJSON_AddNumberToObject(l, "cpu_load_max", lim->cpu_load);
		cJSON_AddNumberToObject(l, "psi_cpu_max", lim->psi_cpu);
		cJSON_AddNumberToObject(l, "psi_memory_max", lim->psi_memory);
		/* The running VMs' own CPU use, measured (null until a round saw
		 * every one of them twice). */
		cJSON_AddNumberToObject(l, "vm_cpu_max", lim->vm_cpu);
		if (hl.has_vm_cpu) {
			cJSON *v = cJSON_AddObjectToObject(l, "vm_cpu");
			cJSON_AddNumberToObject(v, "cpus", hl.vm_cpus);
			cJSON_AddNumberToObject(v, "vms", hl.vms);
			cJSON_AddNumberToObject(v, "window_s", hl.vm_window_s);
		} else {
			cJSON_AddNullToObject(l, "vm_cpu");
		}
		if (!hl.has_psi) {
			cJSON_AddNullToObject(l, "psi");   /* the kernel has none: load average alone */
		} else {
			cJSON *p = cJSON_AddObjectToObject(l, "psi");
			for (int k = 0; k < PSI_N; k++) {
				cJSON *q = cJSON_AddObjectToObject(p, psi_name((enum psi_res)k));
				cJSON_AddNumberToObject(q, "some_avg10", hl.psi[k].some_avg10);
				cJSON_AddNumberToObject(q, "some_avg60", hl.psi[k].some_avg60);
				if (hl.psi[k].has_full) {
					cJSON_AddNumberToObject(q, "full_avg10", hl.psi[k].full_avg10);
					cJSON_AddNumberToObject(q, "full_avg60", hl.psi[k].full_avg60);
				}
			}
		}
		struct err why = { 0 };
		if (host_load_admit(&hl, lim, &why) < 0)
			cJSON_AddStringToObject(l, "refusing", why.msg);
		else
			cJSON_AddNullToObject(l, "refusing");
	}
	/* What backs the memory overcommit (mem_pressure.h). */
	struct mem_pressure_view mp;
	mem_pressure_get(service_pressure(s), &mp);
	cJSON *j = cJSON_AddObjectToObject(out->json, "memory_pressure");
	cJSON_AddNumberToObject(j, "available", (double)mp.host_avail);
	cJSON_AddNumberToObject(j, "low", (double)mp.low);
	cJSON_AddNumberToObject(j, "high", (double)mp.high);
	cJSON_AddStringToObject(j, "verdict", balloon_verdict_str(mp.verdict));
	cJSON_AddNumberToObject(j, "ballooned", (double)mp.ballooned);
	cJSON_AddNumberToObject(j, "unmet", (double)mp.unmet);
	cJSON_AddNumberToObject(j, "vms", mp.vms);
	if (mp.psi_some10 >= 0)
		cJSON_AddNumberToObject(j, "psi_some_avg10", mp.psi_some10);
	else
		cJSON_AddNullToObject(j, "psi_some_avg10");   /* no PSI: MemAvailable alone */
	cJSON_AddNumberToObject(j, "psi_stall", mp.psi_stall);
	cJSON_AddNumberToObject(j, "idle", mp.idle);
	return 0;
}

/* A query argument of Unix seconds (fractions allowed), or def. */
static int query_time(const struct api_req *r, const char *key, long long def, long long *out_ms,
		      struct err *e)
{
	const char *v = r->query ? r->query(r->q, key) : NULL;
	if (!v) {
		*out_ms = def;
		return 0;
	}
	char *end;
	double t = strtod(v, &end);
	if (!*v || *end || !(t >= 0 && t < 1e11))
		return err_set(e, -EINVAL, "query %s=%.32s: expected Unix seconds", key, v);
	*out_ms = (long long)(t * 1000);
	return 0;
}

/* A project's bill from its usage totals t (vCPU-seconds, memory and disk
 * GiB-hours, network bytes received and sent), when the daemon has a price list. */
static void add_bill(cJSON *p, const struct price_list *prices, const double t[5])
{
	if (!prices->set)
		return;
	struct bill b;
	price_bill(prices, t[0], t[1], t[2], t[4], &b);
	cJSON *j = cJSON_AddObjectToObject(p, "bill");
	cJSON_AddStringToObject(j, "currency", prices->currency);
	cJSON_AddNumberToObject(j, "vcpu", b.v[PRICE_VCPU_HOUR]);
	cJSON_AddNumberToObject(j, "memory", b.v[PRICE_MEMORY_GIB_HOUR]);
	cJSON_AddNumberToObject(j, "disk", b.v[PRICE_DISK_GIB_HOUR]);
	cJSON_AddNumberToObject(j, "network", b.v[PRICE_NET_GIB]);
	cJSON_AddNumberToObject(j, "total", b.total);
}

API_HANDLER(api_usage)
{
	(void)name;
	struct err e = { 0 };
	const char *project = r->query ? r->query(r->q, "project") : NULL;
	long long since, until, now = meter_now_ms();
	if (project && name_check("project", project, &e) < 0)
		return fail(out, &e);
	if (query_time(r, "since", 0, &since, &e) < 0 || query_time(r, "until", now, &until, &e) < 0)
		return fail(out, &e);
	if (!is_host(r)) {
		if (project && visible(r, project, &e) < 0)
			return fail(out, &e);
		project = r->who->project;
	}
	struct usage_line *v;
	size_t n;
	struct db *db = service_lock(s);
	meter_sample_network(db, NULL);   /* the running instances' traffic so far */
	meter_sample_cpu(db, NULL);       /* and their CPU time */
	int rc = meter_usage(db, project, since, until, &v, &n, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 200;
	out->json = cJSON_CreateObject();
	cJSON_AddNumberToObject(out->json, "since", (double)since / 1000);
	cJSON_AddNumberToObject(out->json, "until", (double)until / 1000);
	const struct price_list *prices = service_prices(s);
	if (prices->set) {
		cJSON *pl = cJSON_AddObjectToObject(out->json, "prices");
		cJSON_AddStringToObject(pl, "currency", prices->currency);
		for (int k = 0; k < PRICE_N; k++)
			cJSON_AddNumberToObject(pl, price_name((enum price_kind)k), prices->v[k]);
	}
	cJSON *projects = cJSON_AddArrayToObject(out->json, "projects");
	cJSON *p = NULL, *ins = NULL, *vols = NULL;
	double t[5] = { 0 }, cpu = 0;
	for (size_t i = 0; i <= n; i++) {
		if (p && (i == n || strcmp(v[i].project, cJSON_GetObjectItem(p, "project")->valuestring))) {
			cJSON_AddNumberToObject(p, "vcpu_seconds", t[0]);
			cJSON_AddNumberToObject(p, "cpu_seconds", cpu);
			cJSON_AddNumberToObject(p, "memory_gib_hours", t[1]);
			cJSON_AddNumberToObject(p, "disk_gib_hours", t[2]);
			cJSON_AddNumberToObject(p, "net_rx_bytes", t[3]);
			cJSON_AddNumberToObject(p, "net_tx_bytes", t[4]);
			add_bill(p, service_prices(s), t);
			p = NULL;
		}
		if (i == n)
			break;
		if (!p) {
			p = cJSON_CreateObject();
			cJSON_AddItemToArray(projects, p);
			cJSON_AddStringToObject(p, "project", v[i].project);
			ins = cJSON_AddArrayToObject(p, "instances");
			vols = cJSON_AddArrayToObject(p, "volumes");
			memset(t, 0, sizeof t);
			cpu = 0;
		}
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", v[i].name);
		if (v[i].volume) {
			cJSON_AddNumberToObject(j, "disk_gib_hours", v[i].disk_gib_hours);
			cJSON_AddItemToArray(vols, j);
		} else {
			cJSON_AddNumberToObject(j, "vcpu_seconds", v[i].vcpu_seconds);
			cJSON_AddNumberToObject(j, "cpu_seconds", v[i].cpu_seconds);
			cJSON_AddNumberToObject(j, "memory_gib_hours", v[i].memory_gib_hours);
			cJSON_AddNumberToObject(j, "net_rx_bytes", round(v[i].net_rx_bytes));
			cJSON_AddNumberToObject(j, "net_tx_bytes", round(v[i].net_tx_bytes));
			cJSON_AddItemToArray(ins, j);
		}
		t[0] += v[i].vcpu_seconds;
		cpu += v[i].cpu_seconds;
		t[1] += v[i].memory_gib_hours;
		t[2] += v[i].disk_gib_hours;
		t[3] += round(v[i].net_rx_bytes);
		t[4] += round(v[i].net_tx_bytes);
	}
	free(v);
	return 0;
}
