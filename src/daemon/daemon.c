/* See daemon.h. */
#include "daemon/daemon.h"
#include "daemon/fsutil.h"
#include "daemon/http.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

int daemon_run(const struct daemon_opts *o, struct err *e)
{
	/* Signals are taken by sigwait below, never by a server thread. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* conmon daemonizes: as a subreaper we get its orphans and can reap them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	char dir[4096];
	snprintf(dir, sizeof dir, "%s", o->socket_path);
	int rc = mkdir_p(dirname(dir), 0700, e);
	if (rc < 0)
		return rc;
	struct service *s;
	if ((rc = service_open(&o->svc, &s, e)) < 0)
		return rc;
	struct http_server *h;
	if ((rc = http_start(s, o->socket_path, &h, e)) < 0) {
		service_close(s);
		return rc;
	}
	struct http_server *tls = NULL;
	char tls_dir[4200];
	snprintf(tls_dir, sizeof tls_dir, "%s/tls", o->svc.state_dir);
	if (o->listen && (rc = http_start_tls(s, o->listen, tls_dir, &tls, e)) < 0) {
		http_stop(h);
		service_close(s);
		return rc;
	}
	if (tls)
		fprintf(stderr, "nimbus daemon: HTTPS on %s for token holders (certificate "
			"%s/server.crt)\n", o->listen, tls_dir);
	int adopted, lost, rolled_back;
	int finished, undone;
	service_reconcile_counts(s, &adopted, &lost, &rolled_back);
	service_journal_counts(s, &finished, &undone);
	fprintf(stderr, "nimbus daemon: listening on %s (state %s; %d running instance%s "
		"re-adopted, %d found stopped, %d unfinished start%s rolled back, %d journaled "
		"instance operation%s finished and %d undone, %d interrupted operation%s failed)\n",
		o->socket_path, o->svc.state_dir, adopted, adopted == 1 ? "" : "s", lost,
		rolled_back, rolled_back == 1 ? "" : "s", finished, finished == 1 ? "" : "s", undone,
		service_interrupted_operations(s), service_interrupted_operations(s) == 1 ? "" : "s");
	int sig = 0;
	while (sigwait(&stop, &sig) != 0)
		;
	fprintf(stderr, "nimbus daemon: %s, stopping (instances keep running)\n", strsignal(sig));
	service_shutdown(s);   /* ends the event streams, or the server would wait on them */
	http_stop(tls);
	http_stop(h);
	service_close(s);
	return 0;
}
