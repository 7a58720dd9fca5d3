/* See disks.h: the parsing half (sizes, the API's "disks" object), apart
 * from the table and the files so that the request parsers, and their fuzz
 * target, need no database. */
#include "daemon/disks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int disk_size_parse(const char *what, const char *s, bool allow_remove, long long *mib,
		    struct err *e)
{
	if (allow_remove && !strcmp(s, "none")) {
		*mib = 0;
		return 0;
	}
	char *end;
	errno = 0;
	long long v = s[0] >= '0' && s[0] <= '9' ? strtoll(s, &end, 10) : -1;
	int shift = -1;
	if (v >= 0 && !errno) {
		if (!*end)
			shift = 0;
		else if (!strcmp(end, "M") || !strcmp(end, "MiB"))
			shift = 0;
		else if (!strcmp(end, "G") || !strcmp(end, "GiB"))
			shift = 10;
		else if (!strcmp(end, "T") || !strcmp(end, "TiB"))
			shift = 20;
	}
	if (shift < 0)
		return err_set(e, -EINVAL, "%s%.32s: expected a size such as 512M, 2G or 1T%s", what,
			       s, allow_remove ? " (or none to remove the disk)" : "");
	if (v > DISK_SIZE_MAX_MIB >> shift || (v << shift) < DISK_SIZE_MIN_MIB)
		return err_set(e, -EINVAL, "%s%.32s: a disk is %dM to 1T", what, s,
			       DISK_SIZE_MIN_MIB);
	*mib = v << shift;
	return 0;
}

int disks_parse(const cJSON *obj, bool allow_remove, struct disk *out, size_t *n, struct err *e)
{
	*n = 0;
	if (!cJSON_IsObject(obj))
		return err_set(e, -EINVAL, "field \"disks\": expected an object of disk names and "
			       "sizes ({\"data\": \"2G\"%s})", allow_remove ? ", null removes one" : "");
	const cJSON *d;
	cJSON_ArrayForEach(d, obj) {
		if (*n == DISKS_MAX)
			return err_set(e, -EINVAL, "field \"disks\": more than %d disks", DISKS_MAX);
		struct disk *k = &out[*n];
		if (name_check("disk", d->string, e) < 0)
			return -EINVAL;
		for (size_t i = 0; i < *n; i++)
			if (!strcmp(out[i].name, d->string))
				return err_set(e, -EINVAL, "field \"disks\": disk \"%s\" given twice",
					       d->string);
		snprintf(k->name, sizeof k->name, "%s", d->string);
		char what[128];
		snprintf(what, sizeof what, "field \"disks\": \"%s\": ", k->name);
		if (cJSON_IsNull(d) && allow_remove)
			k->size_mib = 0;
		else if (!cJSON_IsString(d))
			return err_set(e, -EINVAL, "%sexpected a size such as \"2G\"%s", what,
				       allow_remove ? " or null (remove it)" : "");
		else if (disk_size_parse(what, d->valuestring, false, &k->size_mib, e) < 0)
			return -EINVAL;
		(*n)++;
	}
	return 0;
}

cJSON *disks_json(const struct disk *d, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < n; i++)
		cJSON_AddNumberToObject(o, d[i].name, (double)d[i].size_mib);
	return o;
}
