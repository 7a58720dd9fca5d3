/*
 * A log sink: where a device's messages go (one line each, the device naming
 * itself in `source`).  The VM gives its devices one that turns each message
 * into a device-error event and passes it to the VM's configured sink; a
 * device with no sink (unit tests, fuzzing) writes "nimbus: SOURCE: MESSAGE"
 * to stderr.
 */
#ifndef NIMBUS_VMM_LOG_H
#define NIMBUS_VMM_LOG_H

#include <stdio.h>

struct log_sink {
	void (*log)(void *ctx, const char *source, const char *msg);
	void *ctx;
};

static inline void log_emit(const struct log_sink *s, const char *source, const char *msg)
{
	if (s && s->log)
		s->log(s->ctx, source, msg);
	else
		fprintf(stderr, "nimbus: %s: %s\n", source, msg);
}

#endif
