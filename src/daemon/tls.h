/*
 * The TCP listener's certificate: STATE/tls/server.crt and server.key, made
 * on first start as a self-signed ECDSA P-256 certificate (GnuTLS) valid
 * for ten years, for "localhost", the host's name, 127.0.0.1, ::1 and the
 * address the daemon listens on.  Clients trust it by its file
 * (`curl --cacert STATE/tls/server.crt`, $NIMBUS_CACERT) -- or an admin
 * replaces both files with ones from a real CA; they are only read.
 * The key is written mode 0600 through a temporary file and rename, so a
 * crash never leaves half a key.
 */
#ifndef NIMBUS_DAEMON_TLS_H
#define NIMBUS_DAEMON_TLS_H

#include "lib/err.h"

/* The PEM key and certificate in dir (made if absent), each owned by the
 * caller (free()).  listen_host is added to the names it is valid for. */
int tls_load_or_make(const char *dir, const char *listen_host, char **key_pem,
		     char **cert_pem, struct err *e);

#endif
