/* GET /metrics (metrics.h): the exposition text, the host admin's (gate.c:
 * it names every project's instances). */
#include "daemon/api.h"
#include "daemon/metrics.h"

int api_h_metrics(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out)
{
	(void)name;
	static const struct http_stats none;   /* read-only: no server (a test's api_dispatch) */
	struct err e = { 0 };
	if (metrics_render(s, r->stats ? r->stats : &none, &out->text, &e) < 0) {
		api_error_from(out, &e);
		return 0;
	}
	out->status = 200;
	return 0;
}
