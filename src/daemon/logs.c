/* See logs.h. */
#include "daemon/logs.h"

#include <errno.h>
#include <fcntl.h>
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

int logs_read(const char *path, bool k8s_format, size_t max, char **out, struct err *e)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return err_set(e, -errno, "%s: %s", path, strerror(errno));
	struct stat st;
	size_t size = 0;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0)
		size = (size_t)st.st_size;
	size_t want = size < max ? size : max;
	char *buf = malloc(want + 1);
	if (!buf) {
		if (fd >= 0)
			close(fd);
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	}
	size_t have = 0;
	if (fd >= 0) {
		off_t from = (off_t)(size - want);
		while (have < want) {
			ssize_t n = pread(fd, buf + have, want - have, from + (off_t)have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			have += (size_t)n;
		}
		close(fd);
	}
	/* A tail that starts mid-line starts at the next line. */
	size_t skip = 0;
	if (want < size) {
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
