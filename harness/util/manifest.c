/* Cache entry manifests: every folder, file (size and SHA-256) and symlink
 * (target) of an entry, written when the entry is published and compared
 * when it is taken, so a damaged entry is found before anything boots it. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_HEADER "kdh-cache-manifest 1"
#define HASH_BUF        ((gsize)1 << 20)
/* A manifest is ours, but a damaged one must be refused, not trusted. */
#define MANIFEST_MAX_BYTES ((gsize)64 << 20)

/* One thing in an entry, as a manifest line: "d PATH", "f SIZE SHA256
 * PATH", "l TARGET PATH"; PATH and TARGET URI-escaped (no spaces, any
 * bytes), PATH "." for the entry itself. */
typedef struct {
	char kind;
	guint64 size;
	char *sha256; /* NULL until hashed */
	char *target;
} Item;

static void item_free(gpointer p)
{
	Item *it = p;

	g_free(it->sha256);
	g_free(it->target);
	g_free(it);
}

static char *escape(const char *s)
{
	return g_uri_escape_string(s, "/", FALSE);
}

static gboolean errno_error(GError **error, const char *what, const char *path)
{
	int saved = errno;

	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s %s: %s", what, path,
	            g_strerror(saved));
	return FALSE;
}

/* The SHA-256 of the file PATH as lowercase hex, through OpenSSL (SHA-NI:
 * ~1.5 GB/s here, against GLib's ~0.25). */
static char *file_sha256(const char *path, GError **error)
{
	g_autofree guint8 *buf = g_malloc(HASH_BUF);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *ctx;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		errno_error(error, "opening", path);
		return NULL;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE, "SHA-256 is unavailable");
		EVP_MD_CTX_free(ctx);
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf, HASH_BUF)) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	if (n < 0)
		errno_error(error, "reading", path);
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	close(fd);
	if (n < 0)
		return NULL;
	GString *hex = g_string_sized_new((gsize)len * 2);
	for (unsigned int i = 0; i < len; i++)
		g_string_append_printf(hex, "%02x", md[i]);
	return g_string_free(hex, FALSE);
}

/* Adds PATH (REL inside the entry) and, for a folder, what is below it to
 * ITEMS (REL -> Item) and ORDER (RELs in walk order); sizes and targets
 * only, no hashing. */
static gboolean walk(const char *path, const char *rel, GHashTable *items, GPtrArray *order,
                     GError **error)
{
	GStatBuf st;
	Item *it = g_new0(Item, 1);

	if (g_lstat(path, &st) != 0) {
		g_free(it);
		return errno_error(error, "reading", path);
	}
	g_ptr_array_add(order, g_strdup(rel));
	g_hash_table_insert(items, g_strdup(rel), it);
	if (S_ISLNK(st.st_mode)) {
		it->kind = 'l';
		it->target = g_file_read_link(path, error);
		return it->target != NULL;
	}
	if (S_ISREG(st.st_mode)) {
		it->kind = 'f';
		it->size = (guint64)st.st_size;
		return TRUE;
	}
	if (!S_ISDIR(st.st_mode)) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE,
		            "%s is neither a file, a folder nor a symlink", path);
		return FALSE;
	}
	it->kind = 'd';
	g_autoptr(GPtrArray) names = kdh_dir_names_sorted(path, error);
	for (guint i = 0; names && i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		g_autofree char *child = g_build_filename(path, name, NULL);
		g_autofree char *child_rel =
		    g_str_equal(rel, ".") ? g_strdup(name) : g_build_filename(rel, name, NULL);
		if (!walk(child, child_rel, items, order, error))
			return FALSE;
	}
	return names != NULL;
}

static char *abs_of(const char *entry, const char *rel)
{
	return g_str_equal(rel, ".") ? g_strdup(entry) : g_build_filename(entry, rel, NULL);
}

gboolean kdh_cache_manifest_write(const char *entry, const char *manifest, GError **error)
{
	g_autoptr(GHashTable) items =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, item_free);
	g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) text = g_string_new(MANIFEST_HEADER "\n");
	g_autofree char *tmp = g_strconcat(manifest, ".new", NULL);

	if (!walk(entry, ".", items, order, error))
		return FALSE;
	for (guint i = 0; i < order->len; i++) {
		const char *rel = g_ptr_array_index(order, i);
		Item *it = g_hash_table_lookup(items, rel);
		g_autofree char *path = escape(rel);
		if (it->kind == 'f') {
			g_autofree char *abs = abs_of(entry, rel);
			g_autofree char *sum = file_sha256(abs, error);
			if (!sum)
				return FALSE;
			g_string_append_printf(text, "f %" G_GUINT64_FORMAT " %s %s\n", it->size,
			                       sum, path);
		} else if (it->kind == 'l') {
			g_autofree char *target = escape(it->target);
			g_string_append_printf(text, "l %s %s\n", target, path);
		} else {
			g_string_append_printf(text, "d %s\n", path);
		}
	}
	/* Written whole, then renamed: a reader never sees half a manifest. */
	if (!g_file_set_contents(tmp, text->str, (gssize)text->len, error))
		return FALSE;
	if (g_rename(tmp, manifest) != 0) {
		errno_error(error, "renaming", tmp);
		g_unlink(tmp);
		return FALSE;
	}
	return TRUE;
}

/* Reads MANIFEST into ITEMS (REL -> Item with the recorded sha256) and
 * ORDER; FALSE with an error naming the line that is not one. */
static gboolean manifest_read(const char *manifest, GHashTable *items, GPtrArray *order,
                              GError **error)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	gsize len = 0;

	if (!g_file_get_contents(manifest, &text, &len, error))
		return FALSE;
	if (len > MANIFEST_MAX_BYTES || strlen(text) != len) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE_DAMAGED,
		            "its manifest %s is not text", manifest);
		return FALSE;
	}
	lines = g_strsplit(text, "\n", -1);
	if (!lines[0] || !g_str_equal(lines[0], MANIFEST_HEADER)) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE_DAMAGED,
		            "its manifest %s does not start with '" MANIFEST_HEADER "'", manifest);
		return FALSE;
	}
	for (guint i = 1; lines[i]; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], " ", -1);
		guint n = g_strv_length(f);
		Item *it;
		char *rel;
		guint64 size = 0;
		gboolean ok;

		if (!*lines[i] && !lines[i + 1])
			break; /* the last newline */
		ok = n >= 2 && strlen(f[0]) == 1 &&
		     ((f[0][0] == 'd' && n == 2) || (f[0][0] == 'l' && n == 3) ||
		      (f[0][0] == 'f' && n == 4 && strlen(f[2]) == 64 &&
		       g_ascii_string_to_unsigned(f[1], 10, 0, G_MAXUINT64, &size, NULL)));
		rel = ok ? g_uri_unescape_string(f[n - 1], NULL) : NULL;
		if (!rel || g_hash_table_contains(items, rel)) {
			g_free(rel);
			g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE_DAMAGED,
			            "%s:%u: not a manifest line", manifest, i + 1);
			return FALSE;
		}
		it = g_new0(Item, 1);
		it->kind = f[0][0];
		it->size = size;
		if (it->kind == 'f')
			it->sha256 = g_strdup(f[2]);
		if (it->kind == 'l' && !(it->target = g_uri_unescape_string(f[1], NULL))) {
			g_free(rel);
			item_free(it);
			g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE_DAMAGED,
			            "%s:%u: not a manifest line", manifest, i + 1);
			return FALSE;
		}
		g_ptr_array_add(order, g_strdup(rel));
		g_hash_table_insert(items, rel, it);
	}
	return TRUE;
}

static const char *kind_name(char kind)
{
	return kind == 'f' ? "a file" : kind == 'l' ? "a symlink" : "a folder";
}

static gboolean damaged(GError **error, const char *entry, const char *rel, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static gboolean damaged(GError **error, const char *entry, const char *rel, const char *fmt, ...)
{
	g_autofree char *why = NULL;
	va_list ap;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (g_str_equal(rel, "."))
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE_DAMAGED, "%s: %s", entry,
		            why);
	else
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE_DAMAGED, "%s/%s: %s", entry,
		            rel, why);
	return FALSE;
}

gboolean kdh_cache_manifest_check(const char *entry, const char *manifest, GError **error)
{
	g_autoptr(GHashTable) want =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, item_free);
	g_autoptr(GHashTable) have =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, item_free);
	g_autoptr(GPtrArray) want_order = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) have_order = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) local = NULL;

	if (!manifest_read(manifest, want, want_order, error))
		return FALSE;
	if (!walk(entry, ".", have, have_order, &local))
		return damaged(error, entry, ".", "%s", local ? local->message : "cannot be read");
	/* Shape and sizes first: a truncated file is found without reading a
	 * byte of the others. */
	for (guint i = 0; i < want_order->len; i++) {
		const char *rel = g_ptr_array_index(want_order, i);
		const Item *w = g_hash_table_lookup(want, rel), *h = g_hash_table_lookup(have, rel);
		if (!h)
			return damaged(error, entry, rel, "missing");
		if (h->kind != w->kind)
			return damaged(error, entry, rel, "%s, the manifest says %s",
			               kind_name(h->kind), kind_name(w->kind));
		if (w->kind == 'f' && h->size != w->size)
			return damaged(error, entry, rel,
			               "%" G_GUINT64_FORMAT
			               " bytes, the manifest says %" G_GUINT64_FORMAT,
			               h->size, w->size);
		if (w->kind == 'l' && !g_str_equal(h->target, w->target))
			return damaged(error, entry, rel, "a symlink to %s, the manifest says %s",
			               h->target, w->target);
	}
	for (guint i = 0; i < have_order->len; i++) {
		const char *rel = g_ptr_array_index(have_order, i);
		if (!g_hash_table_contains(want, rel))
			return damaged(error, entry, rel, "not in the manifest");
	}
	for (guint i = 0; i < want_order->len; i++) {
		const char *rel = g_ptr_array_index(want_order, i);
		const Item *w = g_hash_table_lookup(want, rel);
		g_autofree char *abs = NULL, *sum = NULL;
		if (w->kind != 'f')
			continue;
		abs = abs_of(entry, rel);
		if (!(sum = file_sha256(abs, &local)))
			return damaged(error, entry, rel, "%s",
			               local ? local->message : "cannot be read");
		if (!g_str_equal(sum, w->sha256))
			return damaged(error, entry, rel,
			               "content changed (SHA-256 %.12s..., the "
			               "manifest says %.12s...)",
			               sum, w->sha256);
	}
	return TRUE;
}
