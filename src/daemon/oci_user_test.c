#include "daemon/fsutil.h"
#include "daemon/oci_user.h"
#include "lib/testing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"# a comment\n"
	"broken line without colons\n"
	"www:x:33:34:web:/var/www:/bin/false\n"
	"app:x:1000:1000::/home/app:/bin/sh\n";
static const char group[] =
	"root:x:0:\n"
	"www:x:34:\n"
	"app:x:1000:\n"
	"audio:x:29:app,www\n"
	"video:x:44:www,app\n";

TEST(oci_user_names_resolve_through_the_images_passwd_and_group)
{
	struct oci_user u;
	struct err e = { 0 };
	EXPECT(oci_user_parse("", passwd, group, &u, &e) == 0 && u.uid == 0 && u.gid == 0);
	/* A name: its uid, primary gid and the groups that list it. */
	EXPECT(oci_user_parse("app", passwd, group, &u, &e) == 0);
	EXPECT(u.uid == 1000 && u.gid == 1000 && u.ngroups == 2);
	EXPECT(u.groups[0] == 29 && u.groups[1] == 44);
	/* A uid the file lists takes its primary group; one it does not, 0. */
	EXPECT(oci_user_parse("33", passwd, group, &u, &e) == 0 && u.uid == 33 && u.gid == 34);
	EXPECT(oci_user_parse("4242", passwd, group, &u, &e) == 0 && u.uid == 4242 && u.gid == 0);
	/* An explicit group, by name or number, and no supplementary groups. */
	EXPECT(oci_user_parse("www:audio", passwd, group, &u, &e) == 0);
	EXPECT(u.uid == 33 && u.gid == 29 && u.ngroups == 0);
	EXPECT(oci_user_parse("1000:7", NULL, NULL, &u, &e) == 0 && u.uid == 1000 && u.gid == 7);
}

TEST(oci_user_refuses_names_the_image_does_not_define)
{
	struct oci_user u;
	struct err e = { 0 };
	EXPECT(oci_user_parse("nobody", passwd, group, &u, &e) == -ENOENT);
	EXPECT(strstr(e.msg, "no user \"nobody\" in the image's /etc/passwd"));
	EXPECT(oci_user_parse("app:wheel", passwd, group, &u, &e) == -ENOENT);
	EXPECT(strstr(e.msg, "no group \"wheel\""));
	EXPECT(oci_user_parse("app", NULL, NULL, &u, &e) == -ENOENT);
	EXPECT(oci_user_parse("app:", passwd, group, &u, &e) == -EINVAL);
	EXPECT(oci_user_parse(":0", passwd, group, &u, &e) == -EINVAL);
	/* (uid_t)-1 is not an id; as a name it is not listed either. */
	EXPECT(oci_user_parse("4294967295", passwd, group, &u, &e) == -ENOENT);
}

TEST(oci_user_reads_the_files_inside_the_root_never_through_a_link_out)
{
	char root[] = "/tmp/nimbus-oci-user.XXXXXX";
	EXPECT(mkdtemp(root));
	char etc[128], p[160];
	snprintf(etc, sizeof etc, "%s/etc", root);
	EXPECT(mkdir(etc, 0755) == 0);
	/* An absolute link resolves inside the root: to its /x/passwd, not the host's. */
	snprintf(p, sizeof p, "%s/etc/passwd", root);
	EXPECT(symlink("/x/passwd", p) == 0);
	snprintf(p, sizeof p, "%s/x", root);
	EXPECT(mkdir(p, 0755) == 0);
	snprintf(p, sizeof p, "%s/x/passwd", root);
	EXPECT(write_file(p, "svc:x:77:78::/:/bin/sh\n", 23, 0644, NULL) == 0);
	snprintf(p, sizeof p, "%s/etc/group", root);
	EXPECT(symlink("../../../../../../etc/group", p) == 0);
	struct oci_user u;
	struct err e = { 0 };
	EXPECT(oci_user_resolve(root, "svc", &u, &e) == 0 && u.uid == 77 && u.gid == 78);
	/* The host's root exists in the host's group file, not in this image. */
	EXPECT(oci_user_resolve(root, "svc:root", &u, &e) == -ENOENT);
	EXPECT(oci_user_resolve(root, "root", &u, &e) == -ENOENT);
	rm_rf(root, NULL);
}
