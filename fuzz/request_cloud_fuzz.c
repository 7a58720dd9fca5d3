/*
 * libFuzzer target: the cloud routes' request-body parsers (projects,
 * quotas, tokens, networks, ingress rules, forwards, volumes, image
 * owners) on arbitrary
 * bytes, as any token holder can send them over HTTPS.  Checked besides
 * ASan/UBSan: each parser either accepts and yields valid fields (names that
 * pass name_check, quotas from -1 up, ports in range, a CIDR with no host
 * bits, a size in range) or refuses with -EINVAL/-E2BIG and a non-empty
 * message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/network.h"
#include "daemon/request_cloud.h"
#include "daemon/volume.h"

static void refused_well(int rc, const struct err *e)
{
	if ((rc != -EINVAL && rc != -E2BIG) || !e->msg[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct err e = { 0 };
	struct project_req pr;
	int rc = request_parse_project(body, size, &pr, &e);
	if (rc == 0) {
		if (name_check("project", pr.name, NULL))
			abort();
		for (int k = 0; k < QUOTA_N; k++)
			if (pr.limit.v[k] < -1)
				abort();
	} else {
		refused_well(rc, &e);
	}
	struct quota q;
	unsigned mask;
	memset(&e, 0, sizeof e);
	if ((rc = request_parse_quota(body, size, &q, &mask, &e)) == 0) {
		if (!mask)
			abort();
	} else {
		refused_well(rc, &e);
	}
	struct token_req tr;
	memset(&e, 0, sizeof e);
	if ((rc = request_parse_token(body, size, &tr, &e)) == 0) {
		if (tr.project[0] && name_check("project", tr.project, NULL))
			abort();
	} else {
		refused_well(rc, &e);
	}
	struct network_req nr;
	memset(&e, 0, sizeof e);
	if ((rc = request_parse_network(body, size, &nr, &e)) == 0) {
		if (name_check("network", nr.name, NULL) || (nr.nat && nr.isolated) ||
		    (nr.has_subnet && (nr.subnet.prefix < SUBNET_PREFIX_MIN ||
				       nr.subnet.prefix > SUBNET_PREFIX_MAX)))
			abort();
	} else {
		refused_well(rc, &e);
	}
	struct ingress_rule rules[INGRESS_RULES_MAX];
	size_t n;
	memset(&e, 0, sizeof e);
	if ((rc = request_parse_rules(body, size, rules, &n, &e)) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct subnet s;
			if (rules[i].port < 0 || rules[i].port > 65535 ||
			    cidr_parse(rules[i].source, &s, NULL) < 0)
				abort();
		}
	} else {
		refused_well(rc, &e);
	}
	struct forward f;
	memset(&e, 0, sizeof e);
	if ((rc = request_parse_forward(body, size, &f, &e)) == 0) {
		if (f.port < 1 || f.port > 65535 || f.target_port < 1 || f.target_port > 65535 ||
		    name_check("instance", f.instance, NULL))
			abort();
	} else {
		refused_well(rc, &e);
	}
	struct volume v;
	memset(&e, 0, sizeof e);
	if ((rc = request_parse_volume(body, size, &v, &e)) == 0) {
		if (v.size < VOLUME_SIZE_MIN || v.size > VOLUME_SIZE_MAX || v.size % 512 ||
		    name_check("volume", v.name, NULL))
			abort();
	} else {
		refused_well(rc, &e);
	}
	char owner[INSTANCE_NAME_MAX + 1];
	memset(&e, 0, sizeof e);
	if ((rc = request_parse_image_owner(body, size, owner, &e)) == 0) {
		if (owner[0] && name_check("project", owner, NULL))
			abort();
	} else {
		refused_well(rc, &e);
	}
	return 0;
}
