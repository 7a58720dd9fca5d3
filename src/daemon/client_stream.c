/*
 * The CLI's side of a streamed response (GET /1.0/events): libcurl over the
 * daemon's Unix socket with no overall timeout, each complete line handed to
 * a callback as it arrives.  An error status is read whole and reported as
 * client_call does.
 */
#include "daemon/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct lines {
	CURL *c;
	int (*on_line)(const char *line, void *arg);
	void *arg;
	char buf[8192];
	size_t have;
	char err[4096];     /* the body of an error reply */
	size_t errlen;
	bool stopped;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct lines *l = arg;
	size_t add = size * n;
	long code = 0;
	curl_easy_getinfo(l->c, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		size_t k = add < sizeof l->err - 1 - l->errlen ? add : sizeof l->err - 1 - l->errlen;
		memcpy(l->err + l->errlen, data, k);
		l->errlen += k;
		l->err[l->errlen] = 0;
		return add;
	}
	for (size_t i = 0; i < add; i++) {
		char ch = data[i];
		if (ch == '\n') {
			l->buf[l->have] = 0;
			l->have = 0;
			if (l->on_line(l->buf, l->arg)) {
				l->stopped = true;
				return 0;   /* ends the transfer */
			}
		} else if (l->have < sizeof l->buf - 1) {
			l->buf[l->have++] = ch;
		}
	}
	return add;
}

int client_stream(const char *sock, const char *path, const char *last_event_id,
		  int (*on_line)(const char *line, void *arg), void *arg, struct err *e)
{
	struct stat st;
	if (stat(sock, &st) < 0)
		return err_set(e, -ECONNREFUSED, "no nimbus daemon at %s (%s); start one with "
			       "`nimbus daemon` (as root), or point --socket or $NIMBUS_SOCKET at it",
			       sock, strerror(errno));
	struct lines *l = calloc(1, sizeof *l);
	CURL *c = curl_easy_init();
	if (!l || !c) {
		free(l);
		if (c)
			curl_easy_cleanup(c);
		return err_set(e, -ENOMEM, "libcurl: cannot start a request");
	}
	l->c = c;
	l->on_line = on_line;
	l->arg = arg;
	char url[1024], hdr[128];
	snprintf(url, sizeof url, "http://nimbus%s", path);
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: text/event-stream");
	if (last_event_id) {
		snprintf(hdr, sizeof hdr, "Last-Event-ID: %.64s", last_event_id);
		hdrs = curl_slist_append(hdrs, hdr);
	}
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, l);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode cc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	int rc = 0;
	if (l->stopped) {
		rc = 0;
	} else if (cc == CURLE_COULDNT_CONNECT) {
		rc = err_set(e, -ECONNREFUSED, "no nimbus daemon at %s (nothing listens there); "
			     "start one with `nimbus daemon` (as root)", sock);
	} else if (code != 200 && code != 0) {
		cJSON *j = cJSON_Parse(l->err);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
		rc = err_set(e, code == 400 ? -EINVAL : -EIO, "%s",
			     cJSON_IsString(m) ? m->valuestring : "the daemon refused the stream");
		cJSON_Delete(j);
	} else if (cc != CURLE_OK && cc != CURLE_PARTIAL_FILE && cc != CURLE_RECV_ERROR) {
		rc = err_set(e, -EIO, "GET %s via %s: %s", path, sock, curl_easy_strerror(cc));
	} else {
		rc = err_set(e, -ECONNRESET, "the daemon ended the event stream (it stopped)");
	}
	free(l);
	return rc;
}
