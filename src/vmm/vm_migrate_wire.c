/* The migration stream's wire helpers (vm_migrate_wire.h). */
#include "vmm/vm_migrate_wire.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/zero.h"
#include "vmm/snap_stream.h"
#include "vmm/vm_migrate.h"

int mig_send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int mig_recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void mig_put32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

void mig_put64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

uint64_t mig_get64(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

uint32_t mig_get32(const uint8_t *b)
{
	return (uint32_t)mig_get64((const uint8_t[8]){ b[0], b[1], b[2], b[3] });
}

int mig_send_frame(int fd, uint8_t type, const void *payload, uint32_t len)
{
	uint8_t hdr[5] = { type };
	mig_put32(hdr + 1, len);
	uint32_t crc = snap_crc32(snap_crc32(0, hdr, 5), payload, len);
	uint8_t tail[4];
	mig_put32(tail, crc);
	int rc;
	if ((rc = mig_send_all(fd, hdr, 5)) || (rc = mig_send_all(fd, payload, len)))
		return rc;
	return mig_send_all(fd, tail, 4);
}

/* Not cryptographic: it tells a page that dirty logging missed from the one
 * the source holds.  One multiply per word. */
uint64_t mig_page_hash(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < MIG_PAGE / 8; i++)
		h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

uint64_t mig_zero_page_hash(void)
{
	static const uint8_t zero[MIG_PAGE];
	return mig_page_hash(zero);
}

bool mig_page_is_zero(const uint8_t *p)
{
	return bytes_are_zero(p, MIG_PAGE);
}

int mig_sender_flush(struct mig_sender *s)
{
	int rc = 0;
	if (s->n && !(rc = mig_send_frame(s->fd, 'P', s->buf, s->n * MIG_REC)))
		s->info->bytes_sent += (uint64_t)s->n * MIG_REC;
	s->n = 0;
	if (!rc && s->nz && !(rc = mig_send_frame(s->fd, 'Z', s->zero, s->nz * 8)))
		s->info->bytes_sent += (uint64_t)s->nz * 8;
	s->nz = 0;
	return rc;
}

int mig_sender_page(struct mig_sender *s, uint64_t pfn, bool zero)
{
	s->info->pages_sent++;
	if (zero) {
		mig_put64(s->zero + 8 * s->nz++, pfn);
	} else {
		uint8_t *r = s->buf + (size_t)s->n++ * MIG_REC;
		mig_put64(r, pfn);
		memcpy(r + 8, s->ram + pfn * MIG_PAGE, MIG_PAGE);
	}
	if (s->n == MIG_PAGES_PER_FRAME || s->nz == MIG_PAGES_PER_FRAME)
		return mig_sender_flush(s);
	return 0;
}

int mig_send_answer(int fd, int rc, const char *msg)
{
	if (rc == 0)
		return mig_send_all(fd, "K", 1);
	size_t n = strlen(msg);
	if (n > 1000)
		n = 1000;
	uint8_t h[3] = { 'F', (uint8_t)n, (uint8_t)(n >> 8) };
	int r = mig_send_all(fd, h, 3);
	return r ? r : mig_send_all(fd, msg, n);
}

int mig_read_refusal(int fd, struct err *err)
{
	uint8_t l[2];
	char msg[400] = "";
	if (!mig_recv_all(fd, l, 2)) {
		size_t n = (size_t)l[0] | (size_t)l[1] << 8;
		if (n >= sizeof msg)
			n = sizeof msg - 1;
		if (mig_recv_all(fd, msg, n))
			n = 0;
		msg[n] = 0;
	}
	return err_set(err, -EREMOTEIO, "migrate: the target refused the VM: %s",
		       msg[0] ? msg : "no reason given");
}
