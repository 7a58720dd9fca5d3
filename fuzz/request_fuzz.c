/*
 * libFuzzer target: the daemon's request-body parsers (create, stop, exec,
 * empty)
 * on arbitrary bytes, as any local client can send them.  Checked besides
 * ASan/UBSan: each parser either accepts and yields valid fields (names
 * that pass name_check, a timeout in range) or refuses with -EINVAL/-E2BIG
 * and a non-empty message; nothing crashes or hangs.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct err e = { 0 };
	struct create_req cr;
	int rc = request_parse_create(body, size, &cr, &e);
	if (rc == 0) {
		if (name_check("name", cr.name, NULL) || name_check("image", cr.image, NULL))
			abort();
	} else if ((rc != -EINVAL && rc != -E2BIG) || !e.msg[0]) {
		abort();
	}
	struct stop_req sr;
	memset(&e, 0, sizeof e);
	rc = request_parse_stop(body, size, &sr, &e);
	if (rc == 0) {
		if (sr.timeout_s < 0 || sr.timeout_s > STOP_TIMEOUT_MAX)
			abort();
	} else if ((rc != -EINVAL && rc != -E2BIG) || !e.msg[0]) {
		abort();
	}
	struct exec_req xr;
	memset(&e, 0, sizeof e);
	rc = request_parse_exec(body, size, &xr, &e);
	if (rc == 0) {
		if (!xr.argv[0] || !xr.argv[0][0] || xr.timeout_s < 0)
			abort();
		request_exec_free(&xr);
	} else if ((rc != -EINVAL && rc != -E2BIG) || !e.msg[0] || xr.argv[0]) {
		abort();
	}
	memset(&e, 0, sizeof e);
	unsigned rows = 0, cols = 0;
	rc = request_parse_window(body, size, &rows, &cols, &e);
	if (rc == 0 && (rows < 1 || rows > 1000 || cols < 1 || cols > 1000))
		abort();
	if (rc != 0 && ((rc != -EINVAL && rc != -E2BIG) || !e.msg[0]))
		abort();
	memset(&e, 0, sizeof e);
	rc = request_parse_empty(body, size, &e);
	if (rc != 0 && ((rc != -EINVAL && rc != -E2BIG) || !e.msg[0]))
		abort();
	memset(&e, 0, sizeof e);
	struct config_req cf;
	rc = request_parse_config(body, size, &cf, &e);
	if (rc == 0 && ((cf.has_cpus && (cf.cpus < 0 || cf.cpus > CONFIG_CPUS_MAX)) ||
			(cf.has_memory && cf.memory_mib &&
			 (cf.memory_mib < CONFIG_MEMORY_MIN_MIB || cf.memory_mib > CONFIG_MEMORY_MAX_MIB))))
		abort();
	if (rc != 0 && ((rc != -EINVAL && rc != -E2BIG) || !e.msg[0]))
		abort();
	memset(&e, 0, sizeof e);
	struct image_import_req ir;
	rc = request_parse_image_import(body, size, &ir, &e);
	if (rc == 0 && (ir.source[0] != '/' || name_check("image", ir.name, NULL) < 0))
		abort();
	if (rc != 0 && ((rc != -EINVAL && rc != -E2BIG) || !e.msg[0]))
		abort();
	return 0;
}
