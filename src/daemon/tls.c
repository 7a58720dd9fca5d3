/* See tls.h. */
#include "daemon/tls.h"
#include "daemon/fsutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int slurp(const char *path, char **out, struct err *e)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return err_set(e, -errno, "%s: %s", path, strerror(errno));
	char *buf = malloc(65537);
	size_t n = buf ? fread(buf, 1, 65536, f) : 0;
	fclose(f);
	if (!buf)
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	if (n == 0 || n == 65536) {
		free(buf);
		return err_set(e, -EINVAL, "%s: empty or larger than 64 KiB", path);
	}
	buf[n] = 0;
	*out = buf;
	return 0;
}

static int write_atomic(const char *path, const gnutls_datum_t *d, mode_t mode, struct err *e)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return err_set(e, -errno, "%s: %s", tmp, strerror(errno));
	ssize_t w = write(fd, d->data, d->size);
	int rc = (w == (ssize_t)d->size && fsync(fd) == 0) ? 0 : -EIO;
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return err_set(e, rc, "%s: cannot write it", path);
	}
	return 0;
}

static void add_name(gnutls_x509_crt_t crt, const char *name)
{
	unsigned char ip[16];
	if (inet_pton(AF_INET, name, ip) == 1)
		gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
						     GNUTLS_FSAN_APPEND);
	else if (inet_pton(AF_INET6, name, ip) == 1)
		gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16,
						     GNUTLS_FSAN_APPEND);
	else if (*name)
		gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name,
						     (unsigned)strlen(name), GNUTLS_FSAN_APPEND);
}

static int make(const char *key_path, const char *crt_path, const char *listen_host,
		struct err *e)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kd = { 0 }, cd = { 0 };
	unsigned char serial[16], kid[64];
	size_t kid_len = sizeof kid;
	int rc = -EIO;
	time_t now = time(NULL);
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	if (gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial) < 0)
		goto out;
	serial[0] &= 0x7f;   /* a positive serial number (RFC 5280 4.1.2.2) */
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
	gnutls_x509_crt_set_activation_time(crt, now - 3600);
	gnutls_x509_crt_set_expiration_time(crt, now + 10L * 365 * 86400);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "nimbus", 6);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "nimbusd", 7);
	add_name(crt, "localhost");
	add_name(crt, "127.0.0.1");
	add_name(crt, "::1");
	if (strcmp(host, "localhost"))
		add_name(crt, host);
	if (listen_host && strcmp(listen_host, "127.0.0.1") && strcmp(listen_host, "::1") &&
	    strcmp(listen_host, "localhost") && strcmp(listen_host, host))
		add_name(crt, listen_host);
	/* Its own issuer, so clients may pin it as a trust anchor (CA:TRUE). */
	if (gnutls_x509_crt_set_key(crt, key) < 0 ||
	    gnutls_x509_crt_set_basic_constraints(crt, 1, 0) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
					  GNUTLS_KEY_KEY_CERT_SIGN) < 0 ||
	    gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0 ||
	    gnutls_x509_crt_get_key_id(crt, 0, kid, &kid_len) < 0 ||
	    gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len) < 0 ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0 ||
	    gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kd) < 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cd) < 0)
		goto out;
	if ((rc = write_atomic(key_path, &kd, 0600, e)) == 0)
		rc = write_atomic(crt_path, &cd, 0644, e);
	if (rc < 0)
		unlink(key_path);
out:
	if (rc == -EIO && e && !e->code)
		err_set(e, rc, "%s: cannot make a self-signed certificate (GnuTLS)", crt_path);
	gnutls_free(kd.data);
	gnutls_free(cd.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

int tls_load_or_make(const char *dir, const char *listen_host, char **key_pem,
		     char **cert_pem, struct err *e)
{
	char key_path[4200], crt_path[4200];
	int rc = mkdir_p(dir, 0700, e);
	if (rc < 0)
		return rc;
	snprintf(key_path, sizeof key_path, "%s/server.key", dir);
	snprintf(crt_path, sizeof crt_path, "%s/server.crt", dir);
	bool have_key = access(key_path, F_OK) == 0, have_crt = access(crt_path, F_OK) == 0;
	if (have_key != have_crt)
		return err_set(e, -EINVAL, "%s: has only one of server.key and server.crt (remove it "
			       "to make a new pair, or add the other)", dir);
	if (!have_key && (rc = make(key_path, crt_path, listen_host, e)) < 0)
		return rc;
	if ((rc = slurp(key_path, key_pem, e)) < 0)
		return rc;
	if ((rc = slurp(crt_path, cert_pem, e)) < 0) {
		free(*key_pem);
		*key_pem = NULL;
	}
	return rc;
}
