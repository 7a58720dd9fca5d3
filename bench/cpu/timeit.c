/* timeit: runs one command and reports its elapsed and CPU time.  Built for
 * the guest and for the host from this one source, so both sides measure the
 * same way (CLOCK_MONOTONIC around fork+exec+wait, rusage of the child).
 *
 *   timeit [-i IN] [-o OUT] CMD [ARGS...]
 *
 * -i/-o redirect the command's stdin/stdout (no shell in the measurement).
 * Prints `timeit real R user U sys S` (seconds) on stderr; exits with the
 * command's status (128+N if killed by signal N).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tv(struct timeval t)
{
	return (double)t.tv_sec + t.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	int c;
	while ((c = getopt(argc, argv, "+i:o:")) != -1) {
		if (c == 'i')
			in = optarg;
		else if (c == 'o')
			out = optarg;
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: timeit [-i IN] [-o OUT] CMD [ARGS...]\n");
		return 2;
	}
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		if (in) {
			int fd = open(in, O_RDONLY);
			if (fd < 0 || dup2(fd, 0) < 0) {
				perror(in);
				_exit(127);
			}
			close(fd);
		}
		if (out) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || dup2(fd, 1) < 0) {
				perror(out);
				_exit(127);
			}
			close(fd);
		}
		execvp(argv[optind], argv + optind);
		perror(argv[optind]);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) != pid) {
		perror("wait4");
		return 1;
	}
	double t1 = now();
	fprintf(stderr, "timeit real %.6f user %.6f sys %.6f\n", t1 - t0, tv(ru.ru_utime),
		tv(ru.ru_stime));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
