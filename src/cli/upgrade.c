/* See upgrade.h. */
#include "cli/upgrade.h"
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define HEAD_MAX 8192

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int cli_upgrade(const char *verb, const char *sock, const char *method, const char *path,
		const char *body, const char *proto, char *extra, size_t *extra_len,
		int *exit_code)
{
	*exit_code = 1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = -1;
	if (strlen(sock) < sizeof sa.sun_path) {
		strcpy(sa.sun_path, sock);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			int saved = errno;
			close(fd);
			fd = -1;
			errno = saved;
		}
	} else {
		errno = ENAMETOOLONG;
	}
	if (fd < 0) {
		cli_error("%s: no nimbus daemon at %s (%s); start one with `nimbus daemon` (as "
			  "root), or point --socket or $NIMBUS_SOCKET at it", verb, sock,
			  strerror(errno));
		return -1;
	}
	size_t blen = body ? strlen(body) : 0;
	char head[1024];
	const char *token = getenv("NIMBUS_TOKEN");
	char auth[600] = "";
	if (token && *token && strlen(token) < 512)
		snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
	int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: nimbus\r\nConnection: Upgrade\r\n"
			 "Upgrade: %s\r\n%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			 method, path, proto, auth, blen);
	char *buf = malloc(HEAD_MAX + 1);
	if (!buf || n < 0 || (size_t)n >= sizeof head || send_all(fd, head, (size_t)n) < 0 ||
	    (blen && send_all(fd, body, blen) < 0)) {
		cli_error("%s: the daemon at %s closed the connection", verb, sock);
		free(buf);
		close(fd);
		return -1;
	}
	size_t have = 0;
	char *end = NULL;
	while (!end && have < HEAD_MAX) {
		ssize_t r = read(fd, buf + have, HEAD_MAX - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = 0;
		end = strstr(buf, "\r\n\r\n");
	}
	int status = 0;
	if (!end || sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
		cli_error("%s: the daemon did not answer the upgrade", verb);
		free(buf);
		close(fd);
		return -1;
	}
	char *rest = end + 4;
	size_t rest_len = have - (size_t)(rest - buf);
	if (status == 101) {
		size_t k = rest_len < *extra_len ? rest_len : *extra_len;
		memcpy(extra, rest, k);
		*extra_len = k;
		free(buf);
		return fd;
	}
	/* An error document: read its Content-Length, no more (the connection
	 * stays open). */
	*end = 0;
	long clen = -1;
	const char *h = strcasestr(buf, "\r\ncontent-length:");
	if (h)
		clen = strtol(h + 17, NULL, 10);
	memmove(buf, rest, rest_len);
	have = rest_len;
	while (have < HEAD_MAX && (clen < 0 || (long)have < clen)) {
		ssize_t r = read(fd, buf + have, HEAD_MAX - have);
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	buf[have] = 0;
	close(fd);
	cJSON *j = cJSON_Parse(buf);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
	cli_error("%s: %s", verb, cJSON_IsString(m) ? m->valuestring : "the daemon refused");
	cJSON_Delete(j);
	free(buf);
	*exit_code = status == 400 || status == 413 ? 2 : 1;
	return -1;
}
