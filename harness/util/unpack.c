/* Packages from outside, unpacked through libarchive.
 *
 * A package is hostile until proven otherwise: kdh may run as root, and a
 * crafted archive must not write outside the folder it is unpacked into,
 * write through a symlink it planted, create device nodes, or fill the disk.
 * Member names are checked here (no absolute path, no ".." component) and
 * then made absolute below the canonical destination, because
 * archive_write_disk resolves relative names against the process's working
 * directory, which a threaded program cannot change per call; that is also
 * why ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS cannot be set (every name is
 * absolute by then).  libarchive still refuses ".." (SECURE_NODOTDOT) and
 * any path through a symlink on disk (SECURE_SYMLINKS, checked from "/"
 * with fstatat, which is why the destination is canonicalised first), and
 * restores no owner, ACL, xattr, file flags or setuid bits. */
#include "util/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BLOCK ((size_t)64 << 10)

typedef struct {
	const char *label; /* the package, for messages */
	char *dest;        /* canonical */
	const KdhUnpackOptions *opts;
	struct archive *disk;
	guint64 bytes;
	guint64 entries;
	gboolean found_only;
	char *parent_error; /* why the outer archive failed under a nested one */
} Unpack;

static char *shown(const char *name)
{
	return g_strescape(name ? name : "(no name)", NULL);
}

/* NAME without "./", empty and "." components, into *CLEAN (NULL for the
 * archive's root itself).  FALSE for absolute names and ".." components:
 * those would leave the extraction folder. */
static gboolean clean_name(const char *name, char **clean, const char **why)
{
	g_auto(GStrv) parts = NULL;
	g_autoptr(GPtrArray) kept = g_ptr_array_new();

	*clean = NULL;
	if (!name || !*name) {
		*why = "has no name";
		return FALSE;
	}
	if (name[0] == '/') {
		*why = "is an absolute path";
		return FALSE;
	}
	if (strlen(name) > 4096) {
		*why = "has a name longer than 4096 bytes";
		return FALSE;
	}
	parts = g_strsplit(name, "/", -1);
	for (char **p = parts; *p; p++) {
		if (g_str_equal(*p, "..")) {
			*why = "has a '..' component (it would leave the extraction folder)";
			return FALSE;
		}
		if (**p && !g_str_equal(*p, "."))
			g_ptr_array_add(kept, *p);
	}
	g_ptr_array_add(kept, NULL);
	if (kept->len > 1)
		*clean = g_strjoinv("/", (char **)kept->pdata);
	return TRUE;
}

static gboolean refuse(Unpack *u, const char *member, const char *why, GError **error)
{
	g_autofree char *m = shown(member);
	g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_UNPACK, "unpacking %s: member '%s' %s",
	            u->label, m, why);
	return FALSE;
}

static gboolean limit_exceeded(Unpack *u, const char *member, GError **error)
{
	g_autofree char *why =
	    g_strdup_printf("takes the unpacked size past the limit of %" G_GUINT64_FORMAT " bytes",
	                    u->opts->max_bytes);
	return refuse(u, member, why, error);
}

/* Writes the entry E (its header just read from IN) below the destination. */
static gboolean extract_entry(Unpack *u, struct archive *in, struct archive_entry *e,
                              GError **error)
{
	/* Copies: setting the entry's names below frees what these point to. */
	g_autofree char *name = g_strdup(archive_entry_pathname(e));
	g_autofree char *link = g_strdup(archive_entry_hardlink(e));
	mode_t type = archive_entry_filetype(e);
	g_autofree char *clean = NULL, *clean_link = NULL, *path = NULL, *link_path = NULL;
	const char *why;
	GStatBuf st;
	int r;

	if (!clean_name(name, &clean, &why))
		return refuse(u, name, why, error);
	if (!clean)
		return TRUE; /* "./" itself: the destination exists */
	if (u->opts->only) {
		if (!g_str_equal(clean, u->opts->only))
			return TRUE;
		u->found_only = TRUE;
	}
	if (link) {
		if (!clean_name(link, &clean_link, &why) || !clean_link)
			return refuse(u, name, "is a hard link to a path outside the package",
			              error);
		link_path = g_build_filename(u->dest, clean_link, NULL);
		archive_entry_set_hardlink(e, link_path);
	} else if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
		return refuse(u, name, "is a device node, fifo or socket: refused", error);
	}
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
	    (guint64)archive_entry_size(e) > u->opts->max_bytes - u->bytes)
		return limit_exceeded(u, name, error);
	path = g_build_filename(u->dest, clean, NULL);
	/* A second member of a name already unpacked (only folders may
	 * repeat): it could replace or, through a symlink the first planted,
	 * write somewhere else. */
	if (g_lstat(path, &st) == 0 && !(S_ISDIR(st.st_mode) && type == AE_IFDIR && !link))
		return refuse(u, name, "comes twice in the package", error);
	archive_entry_set_pathname(e, path);
	r = archive_write_header(u->disk, e);
	if (r < ARCHIVE_WARN)
		return refuse(u, name, archive_error_string(u->disk), error);
	if (type == AE_IFREG && !link) {
		const void *buf;
		size_t size;
		la_int64_t offset;
		while ((r = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK) {
			u->bytes += size;
			if (u->bytes > u->opts->max_bytes)
				return limit_exceeded(u, name, error);
			if (archive_write_data_block(u->disk, buf, size, offset) < ARCHIVE_WARN)
				return refuse(u, name, archive_error_string(u->disk), error);
		}
		if (r != ARCHIVE_EOF) {
			g_autofree char *m = shown(name);
			g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_UNPACK,
			            "unpacking %s (corrupt or truncated?): member '%s': %s",
			            u->label, m,
			            u->parent_error ? u->parent_error : archive_error_string(in));
			return FALSE;
		}
	}
	if (archive_write_finish_entry(u->disk) < ARCHIVE_WARN)
		return refuse(u, name, archive_error_string(u->disk), error);
	return TRUE;
}

/* The error of IN failing to read: not a package at all (FIRST: before
 * any member was read), or a broken one. */
static gboolean read_failed(Unpack *u, struct archive *in, gboolean first, GError **error)
{
	/* libarchive's format errno is private: its message is not. */
	const char *msg = archive_error_string(in);

	if (first && msg && strstr(msg, "Unrecognized archive format"))
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_UNPACK,
		            "%s is not a .deb, .rpm or .pkg.tar.{zst,xz,gz} (%s)", u->label, msg);
	else
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_UNPACK,
		            "unpacking %s (corrupt or truncated?): %s", u->label,
		            u->parent_error ? u->parent_error : msg);
	return FALSE;
}

/* Every entry of IN, counted against the limit; DEB_OUTER: IN is a .deb's
 * ar archive, whose data.tar.* member is read as an archive itself. */
static gboolean extract_all(Unpack *u, struct archive *in, gboolean deb_outer, GError **error);

static la_ssize_t read_parent(struct archive *self, void *data, const void **buf)
{
	Unpack *u = ((void **)data)[0];
	struct archive *parent = ((void **)data)[1];
	size_t size;
	la_int64_t offset;
	int r = archive_read_data_block(parent, buf, &size, &offset);

	(void)self;
	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK) {
		g_free(u->parent_error);
		u->parent_error = g_strdup(archive_error_string(parent));
		return -1;
	}
	return (la_ssize_t)size;
}

/* The .deb member data.tar[.gz|.xz|.zst|.bz2|.lzma]: a tar in the ar. */
static gboolean extract_deb_data(Unpack *u, struct archive *ar, GError **error)
{
	struct archive *tar = archive_read_new();
	void *pair[] = {u, ar};
	gboolean ok;

	archive_read_support_filter_gzip(tar);
	archive_read_support_filter_xz(tar);
	archive_read_support_filter_zstd(tar);
	archive_read_support_filter_bzip2(tar);
	archive_read_support_filter_lzma(tar);
	archive_read_support_format_tar(tar);
	if (archive_read_open(tar, pair, NULL, read_parent, NULL) != ARCHIVE_OK) {
		read_failed(u, tar, FALSE, error);
		archive_read_free(tar);
		return FALSE;
	}
	ok = extract_all(u, tar, FALSE, error);
	archive_read_free(tar);
	return ok;
}

static gboolean extract_all(Unpack *u, struct archive *in, gboolean deb_outer, GError **error)
{
	struct archive_entry *e;
	gboolean deb_data = FALSE;
	int r;

	while ((r = archive_read_next_header(in, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return read_failed(u, in, u->entries == 0, error);
		if (++u->entries > u->opts->max_entries) {
			g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_UNPACK,
			            "unpacking %s: more than %" G_GUINT64_FORMAT " members",
			            u->label, u->opts->max_entries);
			return FALSE;
		}
		if (!deb_outer &&
		    (archive_format(in) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_AR)
			deb_outer = TRUE;
		if (deb_outer) {
			/* ar member names may end in '/' (System V style). */
			const char *name = archive_entry_pathname(e);
			if (!name || !g_str_has_prefix(name, "data.tar"))
				continue;
			if (deb_data)
				return refuse(u, name, "is a second data member", error);
			deb_data = TRUE;
			if (!extract_deb_data(u, in, error))
				return FALSE;
			continue;
		}
		if (!extract_entry(u, in, e, error))
			return FALSE;
	}
	if (deb_outer && !deb_data) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_UNPACK,
		            "%s is an ar archive without a data.tar member: not a .deb", u->label);
		return FALSE;
	}
	return TRUE;
}

gboolean kdh_unpack_package(const char *file, const char *dest, const KdhUnpackOptions *opts,
                            GError **error)
{
	Unpack u = {.label = file, .opts = opts};
	struct archive *in = archive_read_new();
	gboolean ok = FALSE;

	u.dest = realpath(dest, NULL);
	if (!u.dest) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
		            "unpacking %s: %s: %s", file, dest, g_strerror(saved));
		archive_read_free(in);
		return FALSE;
	}
	u.disk = archive_write_disk_new();
	archive_write_disk_set_options(u.disk, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	                                           ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	                                           ARCHIVE_EXTRACT_NO_OVERWRITE);
	/* .deb (ar), .rpm (its header skipped by the rpm filter, then a cpio
	 * payload), .pkg.tar.* and plain tars. */
	archive_read_support_filter_gzip(in);
	archive_read_support_filter_xz(in);
	archive_read_support_filter_zstd(in);
	archive_read_support_filter_bzip2(in);
	archive_read_support_filter_lzma(in);
	archive_read_support_filter_rpm(in);
	archive_read_support_format_ar(in);
	archive_read_support_format_tar(in);
	archive_read_support_format_cpio(in);
	if (archive_read_open_filename(in, file, BLOCK) != ARCHIVE_OK) {
		read_failed(&u, in, TRUE, error);
	} else {
		ok = extract_all(&u, in, FALSE, error);
	}
	if (ok && opts->only && !u.found_only) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_UNPACK, "%s holds no %s", file,
		            opts->only);
		ok = FALSE;
	}
	if (archive_write_close(u.disk) != ARCHIVE_OK && ok) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_UNPACK, "unpacking %s: %s", file,
		            archive_error_string(u.disk));
		ok = FALSE;
	}
	archive_write_free(u.disk);
	archive_read_free(in);
	free(u.dest);
	g_free(u.parent_error);
	return ok;
}

/* A reader of one compressed stream (gzip, xz, zstd, lz4, bzip2, lzma). */
static struct archive *raw_reader(void)
{
	struct archive *a = archive_read_new();

	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_lz4(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_format_raw(a);
	return a;
}

gboolean kdh_decompress_file(const char *src, const char *dest, guint64 max_bytes, GError **error)
{
	struct archive *a = raw_reader();
	struct archive_entry *e;
	g_autofree char *buf = g_malloc(BLOCK);
	guint64 total = 0;
	la_ssize_t n;
	FILE *out = NULL;
	gboolean ok = FALSE;

	if (archive_read_open_filename(a, src, BLOCK) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK ||
	    archive_filter_count(a) < 2 /* only "none": not compressed */) {
		g_set_error(
		    error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_UNPACK, "decompressing %s: %s", src,
		    archive_error_string(a) ? archive_error_string(a) : "not a compressed file");
		goto out;
	}
	out = fopen(dest, "wbx");
	if (!out) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "creating %s: %s",
		            dest, g_strerror(saved));
		goto out;
	}
	while ((n = archive_read_data(a, buf, BLOCK)) > 0) {
		total += (guint64)n;
		if (total > max_bytes) {
			g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_UNPACK,
			            "decompressing %s: more than %" G_GUINT64_FORMAT " bytes", src,
			            max_bytes);
			goto out;
		}
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
			int saved = errno;
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
			            "writing %s: %s", dest, g_strerror(saved));
			goto out;
		}
	}
	if (n < 0) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_UNPACK,
		            "decompressing %s (corrupt or truncated?): %s", src,
		            archive_error_string(a));
		goto out;
	}
	ok = TRUE;
out:
	if (out && fclose(out) != 0 && ok) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "writing %s: %s",
		            dest, g_strerror(saved));
		ok = FALSE;
	}
	if (out && !ok)
		remove(dest);
	archive_read_free(a);
	return ok;
}

GBytes *kdh_decompress_prefix(const void *data, gsize len, gsize max_bytes)
{
	struct archive *a = raw_reader();
	struct archive_entry *e;
	GByteArray *out = g_byte_array_new();
	g_autofree char *buf = g_malloc(BLOCK);
	la_ssize_t n;

	if (archive_read_open_memory(a, data, len) == ARCHIVE_OK &&
	    archive_read_next_header(a, &e) == ARCHIVE_OK && archive_filter_count(a) >= 2) {
		/* A stream followed by other bytes ends in an error after its
		 * data: what came before it counts. */
		while (out->len < max_bytes && (n = archive_read_data(a, buf, BLOCK)) > 0)
			g_byte_array_append(out, (const guint8 *)buf,
			                    (guint)MIN((gsize)n, max_bytes - out->len));
	}
	archive_read_free(a);
	if (out->len == 0) {
		g_byte_array_unref(out);
		return NULL;
	}
	return g_byte_array_free_to_bytes(out);
}
