/* See client.h. */
#include "daemon/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *client_socket_path(const char *opt)
{
	if (opt && *opt)
		return opt;
	const char *env = getenv("NIMBUS_SOCKET");
	return env && *env ? env : NIMBUS_SOCKET_DEFAULT;
}

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t add = size * n;
	if (b->len + add > (16u << 20))
		return 0;   /* a reply this big is not the daemon's */
	char *np = realloc(b->p, b->len + add + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, data, add);
	b->p = np;
	b->len += add;
	b->p[b->len] = 0;
	return add;
}

static int not_running(const char *sock, const char *why, struct err *e)
{
	return err_set(e, -ECONNREFUSED, "no nimbus daemon at %s (%s); start one with "
		       "`nimbus daemon` (as root), or point --socket or $NIMBUS_SOCKET at it",
		       sock, why);
}

int client_call(const char *sock, const char *method, const char *path, const char *body,
		long *status, cJSON **reply, struct err *e)
{
	if (status)
		*status = 0;
	if (reply)
		*reply = NULL;
	/* An https:// URL is the daemon's TCP listener (--listen). */
	bool remote = !strncmp(sock, "https://", 8);
	struct stat st;
	if (remote)
		;
	else if (stat(sock, &st) < 0)
		return errno == ENOENT ? not_running(sock, "no such socket", e)
				       : err_set(e, -errno, "%s: %s", sock, strerror(errno));
	if (!remote && access(sock, R_OK | W_OK) < 0 && errno == EACCES)
		return err_set(e, -EACCES, "%s: permission denied (the daemon's socket is root-only)",
			       sock);
	CURL *c = curl_easy_init();
	if (!c)
		return err_set(e, -ENOMEM, "libcurl: cannot start a request");
	char url[1024];
	struct buf b = { 0 };
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	const char *token = getenv("NIMBUS_TOKEN");
	if (token && *token) {
		char h[256];
		snprintf(h, sizeof h, "Authorization: Bearer %.200s", token);
		hdrs = curl_slist_append(hdrs, h);
	}
	if (remote) {
		size_t n = strlen(sock);
		snprintf(url, sizeof url, "%.*s%s", (int)(n && sock[n - 1] == '/' ? n - 1 : n), sock,
			 path);
		const char *ca = getenv("NIMBUS_CACERT");
		if (ca && *ca)
			curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	} else {
		snprintf(url, sizeof url, "http://nimbus%s", path);
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* Longer than the longest stop a request may ask for (an hour). */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 3700L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	CURLcode cc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	int rc = 0;
	if (cc == CURLE_COULDNT_CONNECT) {
		rc = not_running(sock, "nothing listens there", e);
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = err_set(e, -EIO, "%s %s via %s: %s", method, path, sock, curl_easy_strerror(cc));
		goto out;
	}
	if (status)
		*status = code;
	cJSON *j = b.p ? cJSON_Parse(b.p) : NULL;
	if (code >= 200 && code < 300) {
		if (reply)
			*reply = j;
		else
			cJSON_Delete(j);
		goto out;
	}
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
	int neg = code == 400 || code == 413 ? -EINVAL : code == 404 ? -ENOENT
		: code == 409 ? -EBUSY : code == 401 ? -EACCES : code == 403 ? -EPERM : -EIO;
	if (cJSON_IsString(msg))
		rc = err_set(e, neg, "%s", msg->valuestring);
	else
		rc = err_set(e, neg, "%s %s: HTTP status %ld from the daemon", method, path, code);
	cJSON_Delete(j);
out:
	free(b.p);
	return rc;
}
