/* See logs.h. */
#include "daemon/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

size_t logs_from_k8s(char *text, size_t len)
{
	size_t in = 0, out = 0;
	while (in < len) {
		char *nl = memchr(text + in, '\n', len - in);
		size_t end = nl ? (size_t)(nl - text) : len;
		/* TIME STREAM TAG TEXT: the text starts after the third space. */
		size_t p = in;
		int spaces = 0;
		while (p < end && spaces < 3)
			if (text[p++] == ' ')
				spaces++;
		if (spaces == 3 && p >= in + 2) {
			bool partial = text[p - 2] == 'P';
			memmove(text + out, text + p, end - p);
			out += end - p;
			if (!partial && nl)
				text[out++] = '\n';
		}
		in = nl ? end + 1 : len;
	}
	return out;
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	unsigned min;
	unsigned cp;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		need = 2, min = 0x80, cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 3, min = 0x800, cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 4, min = 0x10000, cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

void logs_make_utf8(char *text, size_t len)
{
	unsigned char *s = (unsigned char *)text;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(s + i, len - i);
		if (!n) {
			s[i++] = '?';
			continue;
		}
		i += n;
	}
}

/* An fd to path and its size; *fd -1 and size 0 when it is missing. */
static int open_sized(const char *path, int *fd, size_t *size, struct err *e)
{
	*size = 0;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0 && errno != ENOENT)
		return err_set(e, -errno, "%s: %s", path, strerror(errno));
	struct stat st;
	if (*fd >= 0 && fstat(*fd, &st) == 0 && st.st_size > 0)
		*size = (size_t)st.st_size;
	return 0;
}

/* The last n bytes of fd (of size bytes) into buf; how many it read. */
static size_t read_last(int fd, size_t size, size_t n, char *buf)
{
	size_t have = 0;
	while (fd >= 0 && have < n) {
		ssize_t r = pread(fd, buf + have, n - have, (off_t)(size - n + have));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	return have;
}

int logs_read(const char *path, bool k8s_format, size_t max, char **out, struct err *e)
{
	*out = NULL;
	/* The generation before the current one, if the log was cut (log_keep.h). */
	char prev_path[4200];
	snprintf(prev_path, sizeof prev_path, "%s" LOGS_PREVIOUS_SUFFIX, path);
	size_t size, prev_size;
	int fd, pfd, rc = open_sized(path, &fd, &size, e);
	if (rc < 0)
		return rc;
	if (open_sized(prev_path, &pfd, &prev_size, NULL) < 0)
		prev_size = 0;
	size_t want = size < max ? size : max;
	size_t want_prev = prev_size < max - want ? prev_size : max - want;
	bool cut = want_prev + want < prev_size + size;
	char *buf = malloc(want_prev + want + 1);
	size_t have = 0;
	if (buf) {
		have = read_last(pfd, prev_size, want_prev, buf);
		have += read_last(fd, size, want, buf + have);
	}
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	if (!buf)
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	/* A tail that starts mid-line starts at the next line. */
	size_t skip = 0;
	if (cut) {
		char *nl = memchr(buf, '\n', have);
		skip = nl ? (size_t)(nl - buf) + 1 : have;
	}
	memmove(buf, buf + skip, have - skip);
	have -= skip;
	if (k8s_format)
		have = logs_from_k8s(buf, have);
	logs_make_utf8(buf, have);
	buf[have] = 0;
	*out = buf;
	return 0;
}
