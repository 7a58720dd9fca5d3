/* See image_import.h.  Specs: OCI image-spec v1.0 (image-layout.md,
 * manifest.md, layer.md "Whiteouts"); docker-archive is `docker save`'s
 * manifest.json format. */
#include "daemon/image_import.h"
#include "daemon/fsutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_LAYERS 128
#define JSON_MAX (4 << 20)

struct ctx {
	const char *state;
	FILE *out;
	struct err *e;
};

int image_digest_ok(const char *s)
{
	if (strncmp(s, "sha256:", 7) || strlen(s) != 71)
		return 0;
	for (const char *p = s + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

static void progress(struct ctx *x, int pct, const char *fmt, const char *arg)
{
	fprintf(x->out, "progress %d ", pct);
	fprintf(x->out, fmt, arg);
	fputc('\n', x->out);
	fflush(x->out);
}

/* Ends the sha256 in m (freed) as "sha256:HEX" into dig (72 bytes). */
static void digest_final(EVP_MD_CTX *m, char *dig)
{
	unsigned char md[32];
	EVP_DigestFinal_ex(m, md, NULL);
	EVP_MD_CTX_free(m);
	strcpy(dig, "sha256:");
	for (int i = 0; i < 32; i++)
		sprintf(dig + 7 + 2 * i, "%02x", md[i]);
}

/* sha256 of a file as "sha256:HEX" into dig (72 bytes); its size too. */
static int hash_file(const char *path, char *dig, long long *size, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "%s: %s", path, strerror(errno));
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_DigestInit_ex(m, EVP_sha256(), NULL);
	char buf[1 << 14];
	ssize_t n;
	long long total = 0;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		EVP_DigestUpdate(m, buf, (size_t)n);
		total += n;
	}
	int rc = n < 0 ? err_set(e, -errno, "%s: %s", path, strerror(errno)) : 0;
	close(fd);
	digest_final(m, dig);
	if (size)
		*size = total;
	return rc;
}

/* The sha256 of the blob's content once decompressed (gzip, zstd or
 * none): the layer's diff_id (image-spec config.md, rootfs.diff_ids),
 * which names it whatever compression carried it. */
static int hash_uncompressed(const char *path, char *dig, struct err *e)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	struct archive_entry *en;
	int rc = 0;
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(a, &en) != ARCHIVE_OK) {
		rc = err_set(e, -EINVAL, "layer %s: %s", path,
			     archive_error_string(a) ? archive_error_string(a) : "empty");
		archive_read_free(a);
		return rc;
	}
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_DigestInit_ex(m, EVP_sha256(), NULL);
	char buf[1 << 14];
	la_ssize_t n;
	while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
		EVP_DigestUpdate(m, buf, (size_t)n);
	if (n < 0)
		rc = err_set(e, -EINVAL, "layer %s: %s", path, archive_error_string(a));
	digest_final(m, dig);
	archive_read_free(a);
	return rc;
}

static cJSON *read_json(const char *path, struct err *e)
{
	char *buf = malloc(JSON_MAX + 1);
	if (!buf) {
		err_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	ssize_t n = read_file(path, buf, JSON_MAX + 1);
	if (n < 0 || n > JSON_MAX) {
		err_set(e, -EINVAL, "%s: %s", path, n < 0 ? "cannot be read" : "larger than 4 MiB");
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	cJSON *j = cJSON_Parse(buf);
	free(buf);
	if (!j)
		err_set(e, -EINVAL, "%s: not valid JSON", path);
	return j;
}

/* A member path made relative and checked: no absolute, no "..". */
static const char *safe_rel(const char *p)
{
	while (*p == '/' || (p[0] == '.' && p[1] == '/'))
		p += p[0] == '/' ? 1 : 2;
	for (const char *s = p; *s;) {
		size_t n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return NULL;
		s += n;
		while (*s == '/')
			s++;
	}
	return p;
}

/* Unpacks the archive at path into the current directory.  layer: a
 * container layer (whiteouts, owners, devices); else an outer archive
 * (regular files and directories only). */
static int unpack(const char *path, bool layer, struct err *e)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (!layer)
		archive_read_support_format_gnutar(a);
	struct archive *w = archive_write_disk_new();
	int flags = ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
		    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_TIME |
		    ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_UNLINK;
	if (layer)
		flags |= ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR;
	archive_write_disk_set_options(w, flags);
	int rc = 0;
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		rc = err_set(e, -EINVAL, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	struct archive_entry *en;
	int r;
	while ((r = archive_read_next_header(a, &en)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *rel = safe_rel(archive_entry_pathname(en));
		if (!rel) {
			rc = err_set(e, -EINVAL, "%s: member %.200s: a '..' in the path", path,
				     archive_entry_pathname(en));
			goto out;
		}
		if (!*rel)
			continue;
		char name[PATH_MAX];
		snprintf(name, sizeof name, "%s", rel);
		mode_t type = archive_entry_filetype(en);
		if (!layer && type != AE_IFREG && type != AE_IFDIR)
			continue;
		char *slash = strrchr(name, '/');
		const char *base = slash ? slash + 1 : name;
		if (layer && !strncmp(base, ".wh.", 4)) {
			if (slash) {
				*slash = 0;
				mkdir_p(name, 0755, NULL);
				*slash = '/';
			}
			if (!strcmp(base, ".wh..wh..opq")) {
				char dir[PATH_MAX];
				snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - name) : 1,
					 slash ? name : ".");
				if (setxattr(dir, "trusted.overlay.opaque", "y", 1, 0) < 0) {
					rc = err_set(e, -errno, "%s: opaque whiteout: %s", dir, strerror(errno));
					goto out;
				}
			} else {
				char target[PATH_MAX];
				snprintf(target, sizeof target, "%.*s%s", slash ? (int)(slash - name + 1) : 0,
					 name, base + 4);
				if (!*(base + 4) || !safe_rel(target)) {
					rc = err_set(e, -EINVAL, "%s: bad whiteout %.200s", path, name);
					goto out;
				}
				rm_rf(target, NULL);
				if (mknod(target, S_IFCHR | 0000, makedev(0, 0)) < 0) {
					rc = err_set(e, -errno, "%s: whiteout: %s", target, strerror(errno));
					goto out;
				}
			}
			continue;
		}
		archive_entry_set_pathname(en, name);
		const char *hl = archive_entry_hardlink(en);
		if (hl) {
			const char *h = safe_rel(hl);
			if (!h) {
				rc = err_set(e, -EINVAL, "%s: hard link to %.200s", path, hl);
				goto out;
			}
			char hbuf[PATH_MAX];
			snprintf(hbuf, sizeof hbuf, "%s", h);
			archive_entry_set_hardlink(en, hbuf);
		}
		r = archive_write_header(w, en);
		if (r < ARCHIVE_WARN) {
			rc = err_set(e, -EIO, "%s: %.200s: %s", path, name, archive_error_string(w));
			goto out;
		}
		if (archive_entry_size(en) > 0) {
			const void *buf;
			size_t len;
			la_int64_t off;
			while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
				if (archive_write_data_block(w, buf, len, off) < ARCHIVE_OK) {
					rc = err_set(e, -EIO, "%s: %.200s: %s", path, name,
						     archive_error_string(w));
					goto out;
				}
			if (r != ARCHIVE_EOF) {
				rc = err_set(e, -EINVAL, "%s: %.200s: %s", path, name,
					     archive_error_string(a));
				goto out;
			}
		}
		archive_write_finish_entry(w);
	}
	if (r != ARCHIVE_EOF)
		rc = err_set(e, -EINVAL, "%s: %s", path, archive_error_string(a));
out:
	archive_read_free(a);
	archive_write_free(w);
	return rc;
}

/* Unpacks the layer at blob (its digest already checked) into
 * STATE/images/layers/sha256-HEX, unless that is there. */
static int layer_store(struct ctx *x, const char *blob, const char *digest, char *dir, size_t len)
{
	snprintf(dir, len, "%s/images/layers/sha256-%s", x->state, digest + 7);
	struct stat st;
	if (stat(dir, &st) == 0)
		return 0;   /* unpacked once, shared */
	char tmp[PATH_MAX + 32], cwd[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s.tmp-%d", dir, (int)getpid());
	int rc = rm_rf(tmp, x->e);
	if (rc == 0)
		rc = mkdir_p(tmp, 0755, x->e);
	if (rc < 0)
		return rc;
	if (!getcwd(cwd, sizeof cwd) || chdir(tmp) < 0)
		return err_set(x->e, -errno, "%s: %s", tmp, strerror(errno));
	rc = unpack(blob, true, x->e);
	if (chdir(cwd) < 0 && rc == 0)
		rc = err_set(x->e, -errno, "%s: %s", cwd, strerror(errno));
	if (rc == 0 && rename(tmp, dir) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		rc = err_set(x->e, -errno, "%s: %s", dir, strerror(errno));
	rm_rf(tmp, NULL);
	return rc;
}

/* The manifest of an OCI layout at dir: index.json's first linux/amd64
 * (or only) manifest, following nested indexes. */
static cJSON *oci_manifest(struct ctx *x, const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/index.json", dir);
	cJSON *idx = read_json(path, x->e);
	for (int depth = 0; idx && depth < 4; depth++) {
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(idx, "manifests");
		const cJSON *pick = NULL, *m;
		cJSON_ArrayForEach(m, ms) {
			const cJSON *pl = cJSON_GetObjectItemCaseSensitive(m, "platform");
			const cJSON *arch = cJSON_GetObjectItemCaseSensitive(pl, "architecture");
			if (!pick || (cJSON_IsString(arch) && !strcmp(arch->valuestring, "amd64")))
				pick = m;
		}
		const cJSON *dg = cJSON_GetObjectItemCaseSensitive(pick, "digest");
		const cJSON *mt = cJSON_GetObjectItemCaseSensitive(pick, "mediaType");
		if (!cJSON_IsString(dg) || !image_digest_ok(dg->valuestring)) {
			err_set(x->e, -EINVAL, "%s: no manifest with a sha256 digest", path);
			cJSON_Delete(idx);
			return NULL;
		}
		char blob[PATH_MAX], got[72];
		snprintf(blob, sizeof blob, "%s/blobs/sha256/%s", dir, dg->valuestring + 7);
		if (hash_file(blob, got, NULL, x->e) < 0 || strcmp(got, dg->valuestring)) {
			if (!x->e->code)
				err_set(x->e, -EINVAL, "%s: content does not match its digest", blob);
			cJSON_Delete(idx);
			return NULL;
		}
		bool nested = cJSON_IsString(mt) && strstr(mt->valuestring, "index");
		cJSON_Delete(idx);
		idx = read_json(blob, x->e);
		if (!nested)
			return idx;
	}
	if (idx)
		err_set(x->e, -EINVAL, "%s: indexes nested too deep", path);
	cJSON_Delete(idx);
	return NULL;
}

/* Writes STATE/images/oci/sha256-CONFIG from a config file and the layer
 * blobs (bottom first), each checked against digests[i] (or hashed, when
 * that is NULL, as docker-archive gives none), and its content once
 * decompressed against the config's rootfs.diff_ids[i], by which it is
 * stored: a layer is unpacked once whether it came compressed or not. */
static int store_image(struct ctx *x, const char *config, char *const blobs[],
		       const char *const digests[], int n)
{
	char cdig[72], dir[PATH_MAX], lower[65536] = "", list[16384] = "";
	long long size = 0, sz;
	int rc = hash_file(config, cdig, &sz, x->e);
	if (rc < 0)
		return rc;
	size += sz;
	cJSON *cfg = read_json(config, x->e);
	if (!cfg)
		return x->e->code;
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cfg, "rootfs"), "diff_ids");
	if (cJSON_GetArraySize(ids) != n) {
		cJSON_Delete(cfg);
		return err_set(x->e, -EINVAL, "%s: the config lists %d layers (rootfs.diff_ids), the "
			       "manifest %d", config, cJSON_GetArraySize(ids), n);
	}
	for (int i = 0; i < n && rc == 0; i++) {
		char got[72], diff[72], ldir[PATH_MAX];
		const cJSON *id = cJSON_GetArrayItem(ids, i);
		progress(x, 10 + 85 * i / n, "layer %s", blobs[i]);
		if ((rc = hash_file(blobs[i], got, &sz, x->e)) < 0)
			break;
		size += sz;
		/* The blob first: a tampered one is named as such, not as bad gzip. */
		if (digests[i] && strcmp(digests[i], got))
			rc = err_set(x->e, -EINVAL, "layer %s: content does not match its digest %s",
				     blobs[i], digests[i]);
		else if ((rc = hash_uncompressed(blobs[i], diff, x->e)) == 0 &&
			 (!cJSON_IsString(id) || strcmp(id->valuestring, diff)))
			rc = err_set(x->e, -EINVAL, "layer %s: its content, decompressed, does not match "
				     "the config's diff_id %.71s", blobs[i],
				     cJSON_IsString(id) ? id->valuestring : "(none)");
		if (rc == 0)
			rc = layer_store(x, blobs[i], diff, ldir, sizeof ldir);
		if (rc < 0)
			break;
		/* overlayfs lists the top layer first. */
		size_t ll = strlen(lower), dl = strlen(ldir);
		if (dl + 1 + ll + 1 > sizeof lower) {
			rc = err_set(x->e, -E2BIG, "image: too many layers for one overlay mount");
			break;
		}
		memmove(lower + dl + (ll ? 1 : 0), lower, ll + 1);
		memcpy(lower, ldir, dl);
		if (ll)
			lower[dl] = ':';
		size_t used = strlen(list);
		snprintf(list + used, sizeof list - used, "%s\n", diff);
	}
	snprintf(dir, sizeof dir, "%s/images/oci/sha256-%s", x->state, cdig + 7);
	if (rc < 0 || (rc = mkdir_p(dir, 0700, x->e)) < 0) {
		cJSON_Delete(cfg);
		return rc;
	}
	char path[PATH_MAX + 16];
	char *cs = cJSON_PrintUnformatted(cfg);
	cJSON_Delete(cfg);
	snprintf(path, sizeof path, "%s/config.json", dir);
	rc = write_file(path, cs, strlen(cs), 0600, x->e);
	cJSON_free(cs);
	snprintf(path, sizeof path, "%s/layers", dir);
	if (rc == 0)
		rc = write_file(path, list, strlen(list), 0600, x->e);
	snprintf(path, sizeof path, "%s/lower", dir);
	if (rc == 0)
		rc = write_file(path, lower, strlen(lower), 0600, x->e);
	if (rc == 0)
		fprintf(x->out, "result {\"kind\":\"container\",\"digest\":\"%s\",\"path\":\"%s\","
			"\"size\":%lld}\n", cdig, dir, size);
	return rc;
}

static int import_oci(struct ctx *x, const char *dir)
{
	cJSON *man = oci_manifest(x, dir);
	if (!man)
		return x->e->code ? x->e->code : -EINVAL;
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(man, "config"), "digest");
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(man, "layers");
	int n = cJSON_GetArraySize(layers), rc = 0;
	char *blobs[MAX_LAYERS] = { 0 };
	const char *digests[MAX_LAYERS] = { 0 };
	char config[PATH_MAX];
	if (!cJSON_IsString(cfg) || !image_digest_ok(cfg->valuestring) || !cJSON_IsArray(layers) ||
	    n > MAX_LAYERS) {
		rc = err_set(x->e, -EINVAL, "%s: the manifest has no config digest or layers "
			     "(or more than %d layers)", dir, MAX_LAYERS);
		goto out;
	}
	snprintf(config, sizeof config, "%s/blobs/sha256/%s", dir, cfg->valuestring + 7);
	char got[72];
	if ((rc = hash_file(config, got, NULL, x->e)) < 0)
		goto out;
	if (strcmp(got, cfg->valuestring)) {
		rc = err_set(x->e, -EINVAL, "%s: content does not match its digest", config);
		goto out;
	}
	int i = 0;
	const cJSON *l;
	cJSON_ArrayForEach(l, layers) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(l, "digest");
		if (!cJSON_IsString(d) || !image_digest_ok(d->valuestring)) {
			rc = err_set(x->e, -EINVAL, "%s: layer %d has no sha256 digest", dir, i);
			goto out;
		}
		digests[i] = d->valuestring;
		if (asprintf(&blobs[i], "%s/blobs/sha256/%s", dir, d->valuestring + 7) < 0) {
			rc = err_set(x->e, -ENOMEM, "out of memory");
			goto out;
		}
		i++;
	}
	rc = store_image(x, config, blobs, digests, n);
out:
	for (int k = 0; k < MAX_LAYERS; k++)
		free(blobs[k]);
	cJSON_Delete(man);
	return rc;
}

static int import_docker(struct ctx *x, const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/manifest.json", dir);
	cJSON *man = read_json(path, x->e);
	if (!man)
		return x->e->code;
	const cJSON *m0 = cJSON_GetArrayItem(man, 0);
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(m0, "Config");
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(m0, "Layers");
	int n = cJSON_GetArraySize(layers), rc = 0;
	char *blobs[MAX_LAYERS] = { 0 };
	const char *digests[MAX_LAYERS] = { 0 };
	char config[PATH_MAX];
	if (!cJSON_IsString(cfg) || !safe_rel(cfg->valuestring) || !cJSON_IsArray(layers) ||
	    n > MAX_LAYERS) {
		rc = err_set(x->e, -EINVAL, "%s: expected [{\"Config\", \"Layers\"}] (at most %d "
			     "layers)", path, MAX_LAYERS);
		goto out;
	}
	snprintf(config, sizeof config, "%s/%s", dir, safe_rel(cfg->valuestring));
	int i = 0;
	const cJSON *l;
	cJSON_ArrayForEach(l, layers) {
		if (!cJSON_IsString(l) || !safe_rel(l->valuestring)) {
			rc = err_set(x->e, -EINVAL, "%s: layer %d: not a path inside the archive", path, i);
			goto out;
		}
		if (asprintf(&blobs[i], "%s/%s", dir, safe_rel(l->valuestring)) < 0) {
			rc = err_set(x->e, -ENOMEM, "out of memory");
			goto out;
		}
		i++;
	}
	rc = store_image(x, config, blobs, digests, n);
out:
	for (int k = 0; k < MAX_LAYERS; k++)
		free(blobs[k]);
	cJSON_Delete(man);
	return rc;
}

static int import_dir(struct ctx *x, const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/index.json", dir);
	if (access(path, F_OK) == 0)
		return import_oci(x, dir);
	snprintf(path, sizeof path, "%s/manifest.json", dir);
	if (access(path, F_OK) == 0)
		return import_docker(x, dir);
	return err_set(x->e, -EINVAL, "%s: neither an OCI image layout (index.json) nor a "
		       "docker-archive (manifest.json)", dir);
}

/* A disk image: qcow2 (magic "QFI\xfb") or raw; copied into the store. */
static int import_disk(struct ctx *x, const char *source, bool qcow2)
{
	char dig[72], dir[PATH_MAX], dst[PATH_MAX + 16];
	long long size;
	progress(x, 5, "hashing %s", source);
	int rc = hash_file(source, dig, &size, x->e);
	if (rc < 0)
		return rc;
	snprintf(dir, sizeof dir, "%s/images/disk/sha256-%s", x->state, dig + 7);
	snprintf(dst, sizeof dst, "%s/disk.%s", dir, qcow2 ? "qcow2" : "raw");
	struct stat st;
	if (stat(dst, &st) != 0) {
		if ((rc = mkdir_p(dir, 0700, x->e)) < 0)
			return rc;
		progress(x, 50, "copying %s", source);
		char tmp[PATH_MAX + 32];
		snprintf(tmp, sizeof tmp, "%s.tmp", dst);
		int in = open(source, O_RDONLY | O_CLOEXEC);
		int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (in < 0 || out < 0) {
			rc = err_set(x->e, -errno, "%s: %s", in < 0 ? source : tmp, strerror(errno));
		} else {
			char buf[1 << 14];
			ssize_t n;
			while ((n = read(in, buf, sizeof buf)) > 0)
				if (write(out, buf, (size_t)n) != n) {
					rc = err_set(x->e, -EIO, "%s: short write", tmp);
					break;
				}
			if (n < 0)
				rc = err_set(x->e, -errno, "%s: %s", source, strerror(errno));
			if (fsync(out) < 0 && rc == 0)
				rc = err_set(x->e, -errno, "%s: %s", tmp, strerror(errno));
		}
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
		if (rc == 0 && rename(tmp, dst) < 0)
			rc = err_set(x->e, -errno, "%s: %s", dst, strerror(errno));
		if (rc < 0) {
			unlink(tmp);
			return rc;
		}
	}
	fprintf(x->out, "result {\"kind\":\"vm\",\"digest\":\"%s\",\"path\":\"%s\",\"size\":%lld,"
		"\"format\":\"%s\"}\n", dig, dst, size, qcow2 ? "qcow2" : "raw");
	return 0;
}

int image_import_run(const char *source, const char *state_dir, FILE *out, struct err *e)
{
	struct ctx x = { state_dir, out, e };
	char path[PATH_MAX];
	static const char *const dirs[] = { "layers", "oci", "disk", "tmp", NULL };
	for (const char *const *d = dirs; *d; d++) {
		snprintf(path, sizeof path, "%s/images/%s", state_dir, *d);
		int rc = mkdir_p(path, 0700, e);
		if (rc < 0)
			return rc;
	}
	struct stat st;
	if (stat(source, &st) < 0)
		return err_set(e, errno == ENOENT ? -EINVAL : -errno, "%s: %s", source,
			       strerror(errno));
	if (S_ISDIR(st.st_mode))
		return import_dir(&x, source);
	if (!S_ISREG(st.st_mode))
		return err_set(e, -EINVAL, "%s: not a file or directory", source);
	unsigned char magic[512] = { 0 };
	int fd = open(source, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "%s: %s", source, strerror(errno));
	ssize_t n = read(fd, magic, sizeof magic);
	close(fd);
	if (n >= 4 && !memcmp(magic, "QFI\xfb", 4))
		return import_disk(&x, source, true);
	bool tar = n >= 262 && !memcmp(magic + 257, "ustar", 5);
	bool gz = n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;
	if (!tar && !gz) {
		/* Not an archive: a raw disk, which must be whole sectors. */
		if (st.st_size == 0 || st.st_size % 512)
			return err_set(e, -EINVAL, "%s: neither an image archive (tar), a qcow2 image, "
				       "nor a raw disk (a multiple of 512 bytes)", source);
		return import_disk(&x, source, false);
	}
	/* An archive: unpacked into a scratch directory, then read as a directory. */
	snprintf(path, sizeof path, "%s/images/tmp/import-%d", state_dir, (int)getpid());
	int rc = rm_rf(path, e);
	if (rc == 0)
		rc = mkdir_p(path, 0700, e);
	char cwd[PATH_MAX];
	if (rc == 0 && (!getcwd(cwd, sizeof cwd) || chdir(path) < 0))
		rc = err_set(e, -errno, "%s: %s", path, strerror(errno));
	if (rc == 0) {
		progress(&x, 2, "reading %s", source);
		char abs[PATH_MAX];
		if (source[0] != '/' && snprintf(abs, sizeof abs, "%s/%s", cwd, source) < (int)sizeof abs)
			source = abs;
		rc = unpack(source, false, e);
		if (chdir(cwd) < 0 && rc == 0)
			rc = err_set(e, -errno, "%s: %s", cwd, strerror(errno));
		if (rc == 0)
			rc = import_dir(&x, path);
	}
	rm_rf(path, NULL);
	return rc;
}
