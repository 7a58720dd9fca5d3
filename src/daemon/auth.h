/*
 * Who is asking: the caller of one API request, and the bearer tokens that
 * name one.  A token is "nmb_" + 43 characters of base64url (32 bytes from
 * GnuTLS's key-grade random generator); the daemon keeps only its SHA-256,
 * so a copy of the database lets nobody in.  A token belongs to one project
 * with one role; without a token the root-only Unix socket is the host
 * admin, who sees every project.
 *
 * Roles, from least to most: reader (GET only), member (manages the
 * project's instances), admin (also its tokens).  Creating and deleting
 * projects and setting quotas is the host admin's alone, so a project
 * cannot raise its own limits.
 */
#ifndef NIMBUS_DAEMON_AUTH_H
#define NIMBUS_DAEMON_AUTH_H

#include <stdbool.h>

#include "daemon/instance.h"
#include "lib/err.h"

enum role { ROLE_READER, ROLE_MEMBER, ROLE_ADMIN };

#define TOKEN_PREFIX "nmb_"
#define TOKEN_LEN (4 + 43)          /* prefix + base64url of 32 bytes, unpadded */
#define TOKEN_ID_LEN 12             /* hex: the public handle for list and revoke */
#define TOKEN_HASH_HEX 64

struct caller {
	bool host_admin;            /* the Unix socket without a token: every project */
	char project[INSTANCE_NAME_MAX + 1];   /* the token's project (host admin: "") */
	enum role role;
	char token_id[TOKEN_ID_LEN + 1];
};

const char *role_str(enum role r);
/* -EINVAL (e names the accepted roles) for anything but the three names. */
int role_parse(const char *s, enum role *out, struct err *e);

/* A new token: the secret (shown once), its public id and its hash. */
int auth_token_new(char secret[TOKEN_LEN + 1], char id[TOKEN_ID_LEN + 1],
		   char hash[TOKEN_HASH_HEX + 1], struct err *e);
/* The SHA-256 of secret as lowercase hex. */
int auth_token_hash(const char *secret, char hash[TOKEN_HASH_HEX + 1], struct err *e);

/* The token in an Authorization header value ("Bearer nmb_..."); -EINVAL
 * (e says why) for another scheme or a malformed token. */
int auth_bearer(const char *header, char secret[TOKEN_LEN + 1], struct err *e);

#endif
