/*
 * Instance routes added after the first cut: pause, resume (POST
 * /1.0/instances/NAME/pause|resume, an empty body) and `config set` (PATCH
 * /1.0/instances/NAME with {"cpus"?, "memory"?, "disks"?}).  Each answers with the
 * instance.
 */
#include "daemon/api.h"
#include "daemon/api_profiles.h"

static int reply(struct api_resp *out, int rc, const struct err *e, const struct instance *in)
{
	if (rc < 0) {
		api_error_from(out, e);
		return 0;
	}
	out->status = 200;
	out->json = api_instance_json(in);
	return 0;
}

static int pause_or_resume(struct service *s, const struct api_req *r, const char *name,
			   bool pause, struct api_resp *out)
{
	struct err e = { 0 };
	struct instance in;
	int rc = request_parse_empty(r->body, r->body_len, &e);
	if (rc == 0)
		rc = service_pause(s, name, pause, &in, &e);
	return reply(out, rc, &e, &in);
}

int api_h_pause(struct service *s, const struct api_req *r, const char *name,
		struct api_resp *out)
{
	return pause_or_resume(s, r, name, true, out);
}

int api_h_resume(struct service *s, const struct api_req *r, const char *name,
		 struct api_resp *out)
{
	return pause_or_resume(s, r, name, false, out);
}

int api_h_config(struct service *s, const struct api_req *r, const char *name,
		 struct api_resp *out)
{
	struct err e = { 0 };
	struct config_req cr;
	struct instance in;
	int rc = request_parse_config(r->body, r->body_len, &cr, &e);
	if (rc == 0)
		rc = service_config(s, name, &cr, &in, &e);
	reply(out, rc, &e, &in);
	if (rc == 0)
		api_instance_disks(s, out->json, name);
	return 0;
}
