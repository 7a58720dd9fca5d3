/*
 * The jail directory's lifetime: a jail its launcher no longer holds (killed
 * by SIGKILL) is swept by the next start; a held, fresh, non-empty or
 * foreign one is not.
 */
#include "vmm/sandbox/jail_dir.h"
#include "lib/testing.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void age(const char *path, int seconds)
{
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= seconds;
	tv[1] = tv[0];
	utimes(path, tv);
}

TEST(jail_dir_sweep_removes_only_jails_no_launcher_holds)
{
	char tmp[] = "/tmp/nimbus-jailtest-XXXXXX";
	if (!mkdtemp(tmp))
		abort();
	char held[256], killed[256], fresh[256], full[256], file[300], other[300];
	int held_fd, killed_fd, fresh_fd, full_fd;
	struct err e = { 0 };
	EXPECT(jail_dir_make(tmp, held, sizeof held, &held_fd, &e) == 0);
	EXPECT(jail_dir_make(tmp, killed, sizeof killed, &killed_fd, &e) == 0);
	EXPECT(jail_dir_make(tmp, fresh, sizeof fresh, &fresh_fd, &e) == 0);
	EXPECT(jail_dir_make(tmp, full, sizeof full, &full_fd, &e) == 0);
	EXPECT(strncmp(held + strlen(tmp) + 1, JAIL_DIR_PREFIX, strlen(JAIL_DIR_PREFIX)) == 0);
	/* A launcher killed by SIGKILL: its lock went with it. */
	close(killed_fd);
	close(fresh_fd);
	close(full_fd);
	snprintf(file, sizeof file, "%s/x", full);
	close(open(file, O_CREAT | O_WRONLY, 0600));
	snprintf(other, sizeof other, "%s/" JAIL_DIR_PREFIX "notadir", tmp);
	close(open(other, O_CREAT | O_WRONLY, 0600));
	age(held, 100);
	age(killed, 100);
	age(full, 100);
	age(other, 100);
	/* The lock is the launcher's even from another process. */
	pid_t child = fork();
	if (child == 0)
		_exit(jail_dir_sweep(tmp, JAIL_DIR_MIN_AGE_S));
	int ws;
	waitpid(child, &ws, 0);
	EXPECT(WIFEXITED(ws) && WEXITSTATUS(ws) == 1);
	EXPECT(access(killed, F_OK) != 0);
	EXPECT(access(held, F_OK) == 0);    /* its launcher lives */
	EXPECT(access(fresh, F_OK) == 0);   /* may not be locked yet */
	EXPECT(access(full, F_OK) == 0);    /* not empty: not a jail of ours */
	EXPECT(access(other, F_OK) == 0);
	/* Once its launcher is gone too, the held one goes. */
	close(held_fd);
	EXPECT_EQ(jail_dir_sweep(tmp, JAIL_DIR_MIN_AGE_S), 1);
	EXPECT(access(held, F_OK) != 0);
	unlink(file);
	unlink(other);
	rmdir(full);
	rmdir(fresh);
	EXPECT(rmdir(tmp) == 0);
}

TEST(jail_dir_make_fails_cleanly_in_a_missing_directory)
{
	char out[128];
	int fd = -1;
	struct err e = { 0 };
	EXPECT(jail_dir_make("/nonexistent-nimbus-dir", out, sizeof out, &fd, &e) < 0);
	EXPECT(strstr(e.msg, "/nonexistent-nimbus-dir") != NULL);
	EXPECT_EQ(fd, -1);
}
