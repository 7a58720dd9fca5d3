/* Unit tests of the daemon's move (migrate.c): reaching the target's VMM. */
#include "daemon/migrate.h"
#include "lib/testing.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct late_listener {
	int fd;
	char path[108];
};

/* Binds at once, listens 200 ms later: as the target VMM does, slowly. */
static void *listen_late(void *arg)
{
	struct late_listener *l = arg;
	usleep(200000);
	listen(l->fd, 1);
	return NULL;
}

TEST(migrate_connect_target_waits_past_a_bound_socket_not_listening_yet)
{
	struct late_listener l;
	snprintf(l.path, sizeof l.path, "/tmp/nimbus-migrate-test-%d.sock", (int)getpid());
	unlink(l.path);
	l.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", l.path);
	EXPECT_EQ(bind(l.fd, (struct sockaddr *)&sa, sizeof sa), 0);
	pthread_t t;
	pthread_create(&t, NULL, listen_late, &l);
	char uri[128];
	snprintf(uri, sizeof uri, "unix:%s", l.path);
	struct err e = { 0 };
	int fd = migrate_connect_target(uri, 5000, &e);
	EXPECT(fd >= 0);
	pthread_join(t, NULL);
	if (fd >= 0)
		close(fd);
	close(l.fd);
	unlink(l.path);
}

TEST(migrate_connect_target_gives_up_after_its_wait_naming_the_uri)
{
	struct err e = { 0 };
	EXPECT_EQ(migrate_connect_target("unix:/nonexistent/nimbus-target.sock", 100, &e), -ETIMEDOUT);
	EXPECT(strstr(e.msg, "/nonexistent/nimbus-target.sock") != NULL);
}
