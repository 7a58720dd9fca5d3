/*
 * libFuzzer target: an image's User resolved against its /etc/passwd and
 * /etc/group (oci_user.h), all three from a hostile image.  The input is
 * the User up to the first newline, then passwd, then after a NUL byte the
 * group file.  Checked besides ASan/UBSan: a spec is resolved (ids short of
 * (uid_t)-1, at most OCI_USER_GROUPS_MAX groups) or refused with
 * -EINVAL/-ENOENT and a message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/oci_user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 2);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = text[size + 1] = 0;
	char *passwd = strchr(text, '\n');
	if (passwd)
		*passwd++ = 0;
	const char *group = passwd ? passwd + strlen(passwd) + 1 : NULL;
	if (group && group > text + size)
		group = NULL;
	struct oci_user u;
	struct err e = { 0 };
	int rc = oci_user_parse(text, passwd, group, &u, &e);
	if (rc == 0) {
		if (u.uid == 0xffffffffu || u.gid == 0xffffffffu || u.ngroups > OCI_USER_GROUPS_MAX)
			abort();
	} else if ((rc != -EINVAL && rc != -ENOENT) || !e.msg[0]) {
		abort();
	}
	free(text);
	return 0;
}
