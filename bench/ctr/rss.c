/* rss CMD ARGS...: runs CMD and prints the peak RSS in KiB (wait4's
 * ru_maxrss: CMD and the children it reaped) on stderr's last line.  A small
 * launcher, so the parent's memory is not counted before exec. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	pid_t p = fork();
	if (p == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (wait4(p, &st, 0, &ru) < 0)
		return 2;
	fprintf(stderr, "\nmaxrss %ld\n", ru.ru_maxrss);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
