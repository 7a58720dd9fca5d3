/*
 * The handlers of the project and token routes (their rows are in api.c's
 * table).  Each decides what its caller may do: the host admin anything;
 * a token only within its project, where another project is "no such
 * project" (404, so nothing about it leaks) and a role too low is 403.
 */
#ifndef NIMBUS_DAEMON_API_CLOUD_H
#define NIMBUS_DAEMON_API_CLOUD_H

#include "daemon/api.h"

#define API_HANDLER(fn) \
	int fn(struct service *s, const struct api_req *r, const char *name, struct api_resp *out)

/* Whose networks and volumes a request names: a token's project; the host
 * admin's ?project=P (the gate lets it through on those routes), or NULL
 * for every project's (a name then must be the only one on the host). */
const char *api_scope(const struct api_req *r);

API_HANDLER(api_project_list);
API_HANDLER(api_project_create);
API_HANDLER(api_project_get);
API_HANDLER(api_project_delete);
API_HANDLER(api_project_quota);
API_HANDLER(api_token_list);
API_HANDLER(api_token_create);
API_HANDLER(api_token_revoke);
API_HANDLER(api_placement);
API_HANDLER(api_usage);
/* api_network.c */
/* Adds "networks": [{"network", "ip", "mac", "interface"}] (eth0 first) to
 * an instance's JSON; key is its host key. */
void api_instance_networks(struct service *s, cJSON *instance_json, const char *key);
/* The same for a list (an array of instance JSON, in the order of keys). */
void api_instances_networks(struct service *s, cJSON *list, const char *const *keys, size_t n);
API_HANDLER(api_network_list);
API_HANDLER(api_network_create);
API_HANDLER(api_network_get);
API_HANDLER(api_network_delete);
API_HANDLER(api_rules_get);
API_HANDLER(api_rules_put);
API_HANDLER(api_instance_network_join);
API_HANDLER(api_instance_network_leave);
API_HANDLER(api_forward_list);
API_HANDLER(api_forward_add);
API_HANDLER(api_forward_delete);
/* api_volume.c */
API_HANDLER(api_volume_list);
API_HANDLER(api_volume_create);
API_HANDLER(api_volume_get);
API_HANDLER(api_volume_delete);
API_HANDLER(api_volume_attach);
API_HANDLER(api_volume_detach);
API_HANDLER(api_volume_resize);
API_HANDLER(api_volume_snapshot);
API_HANDLER(api_volume_clone);
/* image_owner.c */
API_HANDLER(api_image_owner);

#endif
