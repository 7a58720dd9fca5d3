#include "daemon/auth.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

TEST(token_is_prefixed_base64url_of_32_random_bytes_and_unique)
{
	char s1[TOKEN_LEN + 1], s2[TOKEN_LEN + 1], id[TOKEN_ID_LEN + 1], h[TOKEN_HASH_HEX + 1];
	EXPECT(auth_token_new(s1, id, h, NULL) == 0);
	EXPECT_EQ(strlen(s1), TOKEN_LEN);
	EXPECT(!strncmp(s1, TOKEN_PREFIX, 4));
	EXPECT(strspn(s1 + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43);
	EXPECT_EQ(strlen(id), TOKEN_ID_LEN);
	EXPECT(strspn(id, "0123456789abcdef") == TOKEN_ID_LEN);
	EXPECT(auth_token_new(s2, id, h, NULL) == 0);
	EXPECT(strcmp(s1, s2));
}

TEST(token_hash_is_sha256_hex)
{
	char h[TOKEN_HASH_HEX + 1];
	EXPECT(auth_token_hash("abc", h, NULL) == 0);   /* FIPS 180-2 appendix B.1 */
	EXPECT(!strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	char s[TOKEN_LEN + 1], id[TOKEN_ID_LEN + 1], stored[TOKEN_HASH_HEX + 1];
	EXPECT(auth_token_new(s, id, stored, NULL) == 0);
	EXPECT(auth_token_hash(s, h, NULL) == 0 && !strcmp(h, stored));
	EXPECT(!strstr(stored, s + 4));
}

TEST(bearer_header_accepts_only_a_well_formed_nimbus_token)
{
	char s[TOKEN_LEN + 1], id[TOKEN_ID_LEN + 1], h[TOKEN_HASH_HEX + 1], got[TOKEN_LEN + 1];
	char header[128];
	struct err e = { 0 };
	auth_token_new(s, id, h, NULL);
	snprintf(header, sizeof header, "Bearer %s", s);
	EXPECT(auth_bearer(header, got, &e) == 0 && !strcmp(got, s));
	snprintf(header, sizeof header, "bearer   %s  ", s);
	EXPECT(auth_bearer(header, got, &e) == 0 && !strcmp(got, s));
	EXPECT(auth_bearer("Basic dXNlcjpwYXNz", got, &e) == -EINVAL && strstr(e.msg, "Bearer"));
	EXPECT(auth_bearer("Bearer nmb_short", got, &e) == -EINVAL && strstr(e.msg, "43"));
	snprintf(header, sizeof header, "Bearer %s", s);
	header[20] = '/';
	EXPECT(auth_bearer(header, got, &e) == -EINVAL);
	EXPECT(auth_bearer("Bearer ", got, &e) == -EINVAL);
}

TEST(role_names_round_trip_and_others_are_refused)
{
	enum role r;
	struct err e = { 0 };
	EXPECT(role_parse("admin", &r, &e) == 0 && r == ROLE_ADMIN);
	EXPECT(role_parse("member", &r, &e) == 0 && r == ROLE_MEMBER);
	EXPECT(role_parse("reader", &r, &e) == 0 && r == ROLE_READER);
	EXPECT(!strcmp(role_str(ROLE_MEMBER), "member"));
	EXPECT(role_parse("root", &r, &e) == -EINVAL && strstr(e.msg, "admin, member or reader"));
	EXPECT(role_parse("Admin", &r, &e) == -EINVAL);
}
