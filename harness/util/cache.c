/* Cache entries: made in a temporary folder, published with one rename
 * under a lock, so readers see nothing or a complete entry. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* g_mkdtemp's XXXXXX. */
#define TMP_SUFFIX_LEN 6

static char *lock_path(const char *dir, const char *name)
{
	g_autofree char *base = g_strdup_printf(".lock-%s", name);
	return g_build_filename(dir, base, NULL);
}

/* The entry name a temporary folder ".tmp-<name>-XXXXXX" belongs to, or
 * NULL when FILE is not one. */
static char *tmp_owner(const char *file)
{
	size_t len = strlen(file);

	if (!g_str_has_prefix(file, ".tmp-") || len < strlen(".tmp-") + 2 + TMP_SUFFIX_LEN ||
	    file[len - TMP_SUFFIX_LEN - 1] != '-')
		return NULL;
	return g_strndup(file + strlen(".tmp-"), len - strlen(".tmp-") - TMP_SUFFIX_LEN - 1);
}

/* Removes what killed runs left in DIR: a temporary folder whose entry's
 * lock nobody holds belongs to no living run.  OURS is the entry whose
 * lock the caller holds (its leftovers go too). */
static void sweep_leftovers(const char *dir, const char *ours)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *file;

	while (d && (file = g_dir_read_name(d))) {
		g_autofree char *owner = tmp_owner(file);
		g_autofree char *path = NULL, *lock = NULL;
		int fd;

		if (!owner)
			continue;
		path = g_build_filename(dir, file, NULL);
		if (g_str_equal(owner, ours)) {
			kdh_rm_rf(path);
			continue;
		}
		/* Another entry's: only when its lock is free, without waiting.
		 * flock conflicts between two open()s even in one process, so a
		 * thread of ours building that entry keeps it. */
		lock = lock_path(dir, owner);
		fd = open(lock, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			kdh_rm_rf(path);
			continue;
		}
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
			kdh_rm_rf(path);
		if (fd >= 0)
			close(fd);
	}
}

/* Renames OUT to DEST.  Under the entry's lock DEST cannot appear
 * meanwhile; should someone outside kdh's locking have made it, theirs
 * stays. */
static gboolean publish(const char *out, const char *dest, GError **error)
{
	if (rename(out, dest) == 0 || errno == EEXIST || errno == ENOTEMPTY)
		return TRUE;
	int saved = errno;
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "renaming %s to %s: %s",
	            out, dest, g_strerror(saved));
	return FALSE;
}

char *kdh_cache_entry_ensure(const char *dir, const char *name, KdhCacheFillFunc fill,
                             gpointer data, GError **error)
{
	g_autofree char *dest = g_build_filename(dir, name, NULL);
	g_autofree char *lock_file = NULL, *tmp = NULL, *out = NULL, *tmp_name = NULL;
	gboolean ok;
	int lock;

	if (g_file_test(dest, G_FILE_TEST_EXISTS))
		return g_steal_pointer(&dest);
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
		            "creating cache folder %s: %s", dir, g_strerror(saved));
		return NULL;
	}
	lock_file = lock_path(dir, name);
	lock = kdh_lock(lock_file, error);
	if (lock < 0)
		return NULL;
	/* Another run made it while we waited for the lock. */
	if (g_file_test(dest, G_FILE_TEST_EXISTS)) {
		kdh_unlock(lock);
		return g_steal_pointer(&dest);
	}
	sweep_leftovers(dir, name);
	tmp_name = g_strdup_printf(".tmp-%s-XXXXXX", name);
	tmp = g_build_filename(dir, tmp_name, NULL);
	if (!g_mkdtemp(tmp)) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "creating %s: %s",
		            tmp, g_strerror(saved));
		kdh_unlock(lock);
		return NULL;
	}
	out = g_build_filename(tmp, "entry", NULL);
	ok = fill(out, tmp, data, error);
	if (ok && !g_file_test(out, G_FILE_TEST_EXISTS)) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE,
		            "making cache entry %s left nothing to publish", dest);
		ok = FALSE;
	}
	ok = ok && publish(out, dest, error);
	kdh_rm_rf(tmp);
	kdh_unlock(lock);
	return ok ? g_steal_pointer(&dest) : NULL;
}
