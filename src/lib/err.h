/*
 * Errors that say what and where.  Library functions return 0 or a negative
 * errno and fill a struct err with one human sentence naming the thing and
 * the reason ("--mem 9T: larger than host memory (23.4 GiB)").  Only the CLI
 * decides how to print it and which exit status to use.
 */
#ifndef NIMBUS_LIB_ERR_H
#define NIMBUS_LIB_ERR_H

#include <stddef.h>

struct err {
	int code;          /* negative errno, 0 when no error */
	char msg[512];
};

/* Sets e (if not NULL) and returns code, so callers can `return err_set(...)`. */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
