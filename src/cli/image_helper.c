/* `nimbus image-import-helper SOURCE STATE_DIR`: the daemon's image import
 * in a process of its own (see src/daemon/image_import.h); not for people.
 * Progress and the result on stdout; on failure `error MESSAGE` and exit 1
 * (2 when the file itself is at fault). */
#include "cli/cli.h"
#include "daemon/image_import.h"

#include <errno.h>
#include <stdio.h>

int cmd_image_import_helper(int argc, char **argv)
{
	if (argc != 3) {
		cli_error("image-import-helper: the daemon's; usage: SOURCE STATE_DIR");
		return 2;
	}
	struct err e = { 0 };
	int rc = image_import_run(argv[1], argv[2], stdout, &e);
	if (rc < 0) {
		printf("error %s\n", e.msg[0] ? e.msg : "import failed");
		return rc == -EINVAL ? 2 : 1;
	}
	return 0;
}
