/* See auth.h.  GnuTLS supplies both the randomness and the hash, so the
 * daemon links one crypto library for tokens and TLS alike. */
#include "daemon/auth.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const role_names[] = { "reader", "member", "admin" };

const char *role_str(enum role r)
{
	return (unsigned)r < 3 ? role_names[r] : "?";
}

int role_parse(const char *s, enum role *out, struct err *e)
{
	for (int i = 0; i < 3; i++)
		if (s && !strcmp(s, role_names[i])) {
			*out = (enum role)i;
			return 0;
		}
	return err_set(e, -EINVAL, "role \"%.32s\": expected admin, member or reader", s ? s : "");
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = 0;
}

/* RFC 4648 section 5, without padding: 32 bytes give 43 characters. */
static void base64url(const unsigned char *b, size_t n, char *out)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | b[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = a[(acc << (6 - bits)) & 63];
	out[o] = 0;
}

int auth_token_hash(const char *secret, char hash[TOKEN_HASH_HEX + 1], struct err *e)
{
	unsigned char d[32];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, secret, strlen(secret), d) < 0)
		return err_set(e, -EIO, "token: SHA-256 failed (GnuTLS)");
	hex(d, sizeof d, hash);
	return 0;
}

int auth_token_new(char secret[TOKEN_LEN + 1], char id[TOKEN_ID_LEN + 1],
		   char hash[TOKEN_HASH_HEX + 1], struct err *e)
{
	unsigned char key[32], handle[TOKEN_ID_LEN / 2];
	if (gnutls_rnd(GNUTLS_RND_KEY, key, sizeof key) < 0 ||
	    gnutls_rnd(GNUTLS_RND_NONCE, handle, sizeof handle) < 0)
		return err_set(e, -EIO, "token: no random bytes from GnuTLS");
	memcpy(secret, TOKEN_PREFIX, 4);
	base64url(key, sizeof key, secret + 4);
	hex(handle, sizeof handle, id);
	return auth_token_hash(secret, hash, e);
}

int auth_bearer(const char *header, char secret[TOKEN_LEN + 1], struct err *e)
{
	if (strncasecmp(header, "Bearer ", 7))
		return err_set(e, -EINVAL, "Authorization: expected \"Bearer TOKEN\"");
	const char *t = header + 7;
	while (*t == ' ')
		t++;
	size_t n = strlen(t);
	while (n && t[n - 1] == ' ')
		n--;
	bool ok = n == TOKEN_LEN && !strncmp(t, TOKEN_PREFIX, 4);
	for (size_t i = 4; ok && i < n; i++)
		ok = (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
		     (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_';
	if (!ok)
		return err_set(e, -EINVAL, "Authorization: not a nimbus token (expected %s followed "
			       "by 43 characters)", TOKEN_PREFIX);
	memcpy(secret, t, n);
	secret[n] = 0;
	return 0;
}
