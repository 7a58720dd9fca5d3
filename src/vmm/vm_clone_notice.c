/*
 * The clone notice (vm_clone_notice.h): one thread that retries the agent
 * exec while the VM is paused or its agent not yet listening, then sends
 * the notice and ends.
 */
#include "vmm/vm_clone_notice.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "vmm/guest_agent.h"

#define RETRY_MS 100
#define AGENT_WAIT_MS 60000     /* running, without an agent answering: none will */
#define NOTICE_TIMEOUT_MS 10000

struct vm_clone_notice {
	struct vm *vm;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t wake;
};

/* Sleeps RETRY_MS or until stopped; false once stopped. */
static bool pause_a_while(struct vm_clone_notice *n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += RETRY_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&n->lock);
	if (!atomic_load(&n->stop))
		pthread_cond_timedwait(&n->wake, &n->lock, &until);
	pthread_mutex_unlock(&n->lock);
	return !atomic_load(&n->stop);
}

static void *notice_thread(void *arg)
{
	struct vm_clone_notice *n = arg;
	uint8_t seed[64], id[16];
	if (getrandom(seed, sizeof seed, 0) != sizeof seed || getrandom(id, sizeof id, 0) != sizeof id)
		return NULL;
	char env_gen[64] = "NIMBUS_GENERATION=";
	for (unsigned i = 0; i < sizeof id; i++)
		snprintf(env_gen + strlen(env_gen), 3, "%02x", id[i]);
	/* A fork's child: each interface still on the parent's MAC takes the
	 * child's ("WAS=NOW ...", vm_fork_nics.c), before the id changes. */
	char env_macs[16 + VM_MAX_NETS * 36] = "NIMBUS_MACS=";
	uint8_t was[VM_MAX_NETS][6], now[VM_MAX_NETS][6];
	unsigned nmacs = vm_fork_mac_changes(n->vm, was, now);
	for (unsigned i = 0; i < nmacs; i++) {
		const uint8_t *a = was[i], *b = now[i];
		snprintf(env_macs + strlen(env_macs), 37,
			 "%02x:%02x:%02x:%02x:%02x:%02x=%02x:%02x:%02x:%02x:%02x:%02x ", a[0], a[1],
			 a[2], a[3], a[4], a[5], b[0], b[1], b[2], b[3], b[4], b[5]);
	}
	/* The seed on stdin (never on a command line the guest's ps shows); the
	 * id written beside and renamed, so a reader sees an old one or the new. */
	char *const argv[] = { "/bin/sh", "-c",
			       "cat > /dev/urandom && "
			       "for p in $NIMBUS_MACS; do for d in /sys/class/net/*; do "
			       "[ \"$(cat $d/address)\" = \"${p%=*}\" ] && "
			       "ip link set dev \"${d##*/}\" address \"${p#*=}\"; done; done; "
			       "mkdir -p /run/nimbus && "
			       "echo $NIMBUS_GENERATION > " VM_GENERATION_FILE ".tmp && "
			       "mv " VM_GENERATION_FILE ".tmp " VM_GENERATION_FILE, NULL };
	char *const env[] = { env_gen, env_macs, NULL };
	struct guest_agent_exec req = { .argv = argv, .env = env, .stdin_data = seed,
					.stdin_len = sizeof seed, .timeout_ms = NOTICE_TIMEOUT_MS,
					.out_max = 256 };
	int waited_running = 0;
	while (!atomic_load(&n->stop)) {
		struct guest_agent_result res = { 0 };
		struct err e = { 0 };
		int rc = vm_exec(n->vm, &req, &res, &e);
		if (rc == 0)
			guest_agent_result_free(&res);
		/* Paused (a fork's child until resumed): wait as long as it takes;
		 * no agent yet: a while; anything else: the guest will not hear it. */
		if (rc == 0 || (rc != -EAGAIN && rc != -ENOTCONN) ||
		    (rc == -ENOTCONN && (waited_running += RETRY_MS) > AGENT_WAIT_MS))
			break;
		if (!pause_a_while(n))
			break;
	}
	explicit_bzero(seed, sizeof seed);
	return NULL;
}

int vm_clone_notice_start(struct vm *vm, struct vm_clone_notice **out, struct err *err)
{
	*out = NULL;
	struct vm_clone_notice *n = calloc(1, sizeof *n);
	if (!n)
		return err_set(err, -ENOMEM, "clone notice: out of memory");
	n->vm = vm;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->wake, NULL);
	int rc = pthread_create(&n->thread, NULL, notice_thread, n);
	if (rc) {
		pthread_cond_destroy(&n->wake);
		pthread_mutex_destroy(&n->lock);
		free(n);
		return err_set(err, -rc, "clone notice: cannot start a thread: %s", strerror(rc));
	}
	*out = n;
	return 0;
}

void vm_clone_notice_stop(struct vm_clone_notice *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	atomic_store(&n->stop, true);
	pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	pthread_cond_destroy(&n->wake);
	pthread_mutex_destroy(&n->lock);
	free(n);
}
