/*
 * Parsing of the `--net` option (grammar in opts.h) into struct net_opts,
 * and opening the backend it names.  Parsing is pure: no sockets, no
 * devices; semantic checks that need the host (is the port free, may we
 * create the tap) happen when the backend opens.
 */
#include "vmm/net/opts.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/net/slirp.h"
#include "vmm/net/tap.h"

#define FWD_SYNTAX "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"

int net_mac_parse(const char *s, uint8_t mac[6], const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	*why = "expected six hex bytes like 52:54:00:12:34:56";
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return -EINVAL;
		char hex[3] = { s[0], s[1], 0 };
		mac[i] = (uint8_t)strtoul(hex, NULL, 16);
		s += 2;
		if (*s != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		if (i < 5)
			s++;
	}
	if (mac[0] & 1) {
		*why = "a multicast address (the first byte must be even)";
		return -EINVAL;
	}
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5])) {
		*why = "the all-zero address";
		return -EINVAL;
	}
	return 0;
}

void net_default_mac(unsigned index, uint8_t mac[6])
{
	uint32_t low = 0x123456u + index;   /* 52:54:00 is QEMU's locally administered prefix */
	mac[0] = 0x52, mac[1] = 0x54, mac[2] = 0x00;
	mac[3] = (uint8_t)(low >> 16), mac[4] = (uint8_t)(low >> 8), mac[5] = (uint8_t)low;
}

/* Decimal 1..65535. */
static int parse_port(const char *s, uint16_t *out)
{
	if (!*s || strlen(s) > 5)
		return -1;
	unsigned v = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int fwd_err(struct err *err, const char *item, const char *fmt, const char *part)
{
	char why[160];
	snprintf(why, sizeof why, fmt, part);
	return err_set(err, -EINVAL, "--net %s: %s; expected hostfwd=" FWD_SYNTAX, item, why);
}

/* v is the text after "hostfwd="; item the whole "hostfwd=..." for messages. */
static int parse_hostfwd(char *v, const char *item, struct net_hostfwd *f, struct err *err)
{
	memset(f, 0, sizeof *f);
	char *colon = strchr(v, ':');
	if (!colon)
		return fwd_err(err, item, "no ':' after the protocol%s", "");
	*colon = '\0';
	if (!strcmp(v, "udp"))
		f->udp = true;
	else if (*v && strcmp(v, "tcp"))
		return fwd_err(err, item, "protocol \"%s\" is not tcp or udp", v);
	char *host = colon + 1, *dash = strchr(host, '-');
	if (!dash)
		return fwd_err(err, item, "no '-' between the host and guest side%s", "");
	*dash = '\0';
	char *guest = dash + 1;

	char *hc = strrchr(host, ':');
	if (!hc)
		return fwd_err(err, item, "host side \"%s\" has no ':' before the port", host);
	*hc = '\0';
	if (*host && inet_pton(AF_INET, host, &f->host_addr) != 1)
		return fwd_err(err, item, "host address \"%s\" is not an IPv4 address", host);
	if (parse_port(hc + 1, &f->host_port) < 0)
		return fwd_err(err, item, "host port \"%s\" is not a number in 1..65535", hc + 1);

	char *gc = strrchr(guest, ':');
	if (!gc)
		return fwd_err(err, item, "guest side \"%s\" has no ':' before the port", guest);
	*gc = '\0';
	if (!*guest)
		inet_pton(AF_INET, NET_USER_GUEST_ADDR, &f->guest_addr);
	else if (inet_pton(AF_INET, guest, &f->guest_addr) != 1)
		return fwd_err(err, item, "guest address \"%s\" is not an IPv4 address", guest);
	else if ((ntohl(f->guest_addr.s_addr) & 0xffffff00u) != 0x0a000200u)
		return fwd_err(err, item, "guest address %s is outside the user network 10.0.2.0/24",
			       guest);
	if (parse_port(gc + 1, &f->guest_port) < 0)
		return fwd_err(err, item, "guest port \"%s\" is not a number in 1..65535", gc + 1);
	return 0;
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= NET_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) || !isprint((unsigned char)*s))
			return false;
	return true;
}

static int parse_items(char *buf, struct net_opts *o, struct err *err)
{
	char *save = NULL, *kind = strtok_r(buf, ",", &save);
	if (!kind || !*kind)
		return err_set(err, -EINVAL, "--net: empty; expected user[,hostfwd=...][,mac=...] "
			       "or tap[,ifname=NAME][,mac=...]");
	if (!strcmp(kind, "user"))
		o->kind = NET_USER;
	else if (!strcmp(kind, "tap"))
		o->kind = NET_TAP;
	else
		return err_set(err, -EINVAL, "--net %s: unknown backend; expected user or tap", kind);
	const char *takes = o->kind == NET_USER ? "user takes hostfwd= and mac=" :
						  "tap takes ifname= and mac=";
	bool has_ifname = false;
	for (char *item; (item = strtok_r(NULL, ",", &save));) {
		char copy[256];
		snprintf(copy, sizeof copy, "%s", item);   /* for messages: parsing cuts item up */
		char *eq = strchr(item, '=');
		if (!eq)
			return err_set(err, -EINVAL, "--net %s: expected key=value (%s)", copy, takes);
		*eq = '\0';
		char *v = eq + 1;
		if (!strcmp(item, "mac")) {
			const char *why;
			if (o->has_mac)
				return err_set(err, -EINVAL, "--net %s: mac given twice", copy);
			if (net_mac_parse(v, o->mac, &why) < 0)
				return err_set(err, -EINVAL, "--net %s: %s", copy, why);
			o->has_mac = true;
		} else if (!strcmp(item, "hostfwd") && o->kind == NET_USER) {
			if (o->nfwd == NET_MAX_HOSTFWD)
				return err_set(err, -EINVAL, "--net %s: too many hostfwd rules (at most %d)",
					       copy, NET_MAX_HOSTFWD);
			struct net_hostfwd *f = &o->fwd[o->nfwd];
			int rc = parse_hostfwd(v, copy, f, err);
			if (rc)
				return rc;
			for (unsigned i = 0; i < o->nfwd; i++)
				if (o->fwd[i].udp == f->udp && o->fwd[i].host_port == f->host_port &&
				    (o->fwd[i].host_addr.s_addr == f->host_addr.s_addr ||
				     !o->fwd[i].host_addr.s_addr || !f->host_addr.s_addr))
					return err_set(err, -EINVAL, "--net %s: host port %u is already "
						       "forwarded", copy, f->host_port);
			o->nfwd++;
		} else if (!strcmp(item, "ifname") && o->kind == NET_TAP) {
			if (has_ifname)
				return err_set(err, -EINVAL, "--net %s: ifname given twice", copy);
			if (!valid_ifname(v))
				return err_set(err, -EINVAL, "--net %s: not an interface name (1 to %d "
					       "printable characters, no '/', ':' or spaces)",
					       copy, NET_IFNAME_MAX - 1);
			snprintf(o->ifname, sizeof o->ifname, "%s", v);
			has_ifname = true;
		} else {
			return err_set(err, -EINVAL, "--net %s: unknown option \"%s\" (%s)", copy, item,
				       takes);
		}
	}
	return 0;
}

int net_opts_parse(const char *arg, struct net_opts *o, struct err *err)
{
	memset(o, 0, sizeof *o);
	char *buf = strdup(arg);
	if (!buf)
		return err_set(err, -ENOMEM, "--net: out of memory");
	if (strstr(arg, ",,") || (*arg && arg[strlen(arg) - 1] == ',')) {
		free(buf);
		return err_set(err, -EINVAL, "--net %s: empty item between commas", arg);
	}
	int rc = parse_items(buf, o, err);
	free(buf);
	if (rc)
		memset(o, 0, sizeof *o);
	return rc;
}

int net_backend_open(const struct net_opts *o, struct net_backend **out, struct err *err)
{
	switch (o->kind) {
	case NET_USER:
		return net_slirp_open(o->fwd, o->nfwd, out, err);
	case NET_TAP:
		return net_tap_open(o->ifname, out, err);
	}
	*out = NULL;
	return err_set(err, -EINVAL, "--net: no backend given");
}
