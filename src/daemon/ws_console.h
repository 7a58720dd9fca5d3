/*
 * An instance's console over a WebSocket (RFC 6455), for browsers, which
 * cannot use the raw `Upgrade: nimbus-console` stream: once http.c has
 * answered 101, ws_console_pump carries the console's output to the client
 * as binary messages and the payload of the client's text or binary
 * messages to the console, answers pings, and ends with a close frame when
 * either side ends (1000 when the console ends or the client closes, 1001
 * when the daemon stops, 1002/1007 for a protocol error of the client's,
 * ws.h).  It runs on the connection's own thread and owns neither socket.
 */
#ifndef NIMBUS_DAEMON_WS_CONSOLE_H
#define NIMBUS_DAEMON_WS_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

/* The subprotocol the console speaks (Sec-WebSocket-Protocol), and the
 * prefix of the one that carries a bearer token. */
#define WS_CONSOLE_PROTOCOL "nimbus-console"
#define WS_BEARER_PREFIX "bearer."

/* client: the upgraded connection; console: the relay's or conmon's socket
 * (seqpacket: conmon's, whose messages start with a stream byte); closing:
 * an fd that becomes readable when the daemon stops; pending: what the
 * client sent along with its request (the first frames, perhaps). */
void ws_console_pump(int client, int console, bool seqpacket, int closing, const char *pending,
		     size_t pending_len);

#endif
