/*
 * Request bodies of the project and token routes, parsed as strictly as
 * request.h's: every field known, given once and of the right type.
 */
#ifndef NIMBUS_DAEMON_REQUEST_CLOUD_H
#define NIMBUS_DAEMON_REQUEST_CLOUD_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/auth.h"
#include "daemon/quota.h"

/* PATCH /1.0/projects/NAME/quota: {"instances"?, "cpus"?, "memory"?, "disk"?,
 * "networks"?}, each a whole number (bytes for memory and disk) or -1 for no
 * limit; mask has bit (1 << kind) for each one given. */
int request_parse_quota(const char *body, size_t len, struct quota *out, unsigned *mask,
			struct err *e);

/* POST /1.0/projects: {"name", "quota"?: {as above}}; the quotas not given
 * are quota_defaults(). */
struct project_req {
	char name[INSTANCE_NAME_MAX + 1];
	struct quota limit;
};
int request_parse_project(const char *body, size_t len, struct project_req *out,
			  struct err *e);

/* POST /1.0/tokens: {"project"?, "role"} ("" project: the caller's). */
struct token_req {
	char project[INSTANCE_NAME_MAX + 1];
	enum role role;
};
int request_parse_token(const char *body, size_t len, struct token_req *out, struct err *e);

/* POST /1.0/networks: {"name", "subnet"?, "nat"?, "isolated"?, "project"?} */
struct network_req;
int request_parse_network(const char *body, size_t len, struct network_req *out, struct err *e);

/* PUT /1.0/instances/NAME/rules: {"rules": [{"protocol", "port"?, "source"?}]}
 * (source default 0.0.0.0/0; port required for tcp/udp unless 0 = all,
 * absent for icmp).  At most INGRESS_RULES_MAX. */
struct ingress_rule;
int request_parse_rules(const char *body, size_t len, struct ingress_rule *out, size_t *n,
			struct err *e);
/* POST /1.0/networks/NAME/forwards: {"protocol", "port", "instance", "target_port"?}
 * (target_port default: port). */
struct forward;
int request_parse_forward(const char *body, size_t len, struct forward *out, struct err *e);

/* POST /1.0/volumes: {"name", "size", "type"?: "block"|"dir", "project"?};
 * size is bytes or a string such as "10G". */
struct volume;
int request_parse_volume(const char *body, size_t len, struct volume *out, struct err *e);
/* {"size"} (resize), {"name"} (snapshot, clone), {"instance"} (attach). */
int request_parse_size(const char *body, size_t len, long long *size, struct err *e);
int request_parse_one_name(const char *body, size_t len, const char *field, const char *what,
			   char *out, struct err *e);

/* PATCH /1.0/images/NAME: {"project": NAME} (private to it) or {"project":
 * null} (public); project is "" for null. */
int request_parse_image_owner(const char *body, size_t len, char *project, struct err *e);
#endif
