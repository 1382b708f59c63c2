/* Cache entries: made in a temporary folder, published with one rename
 * under a lock, so readers see nothing or a complete entry; each with a
 * manifest (manifest.c) checked when the entry is taken, once per process. */
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

char *kdh_cache_manifest_path(const char *dir, const char *name)
{
	g_autofree char *base = g_strdup_printf(".manifest-%s", name);
	return g_build_filename(dir, base, NULL);
}

/* ---- what this process has checked, and who hears about damage ---- */

static GMutex checked_lock;
static GHashTable *checked; /* entry paths whose manifest matched */
static KdhCacheNoticeFunc notice_func;
static gpointer notice_data;

static gboolean was_checked(const char *dest)
{
	gboolean yes;

	g_mutex_lock(&checked_lock);
	yes = checked && g_hash_table_contains(checked, dest);
	g_mutex_unlock(&checked_lock);
	return yes;
}

static void mark_checked(const char *dest)
{
	g_mutex_lock(&checked_lock);
	if (!checked)
		checked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_hash_table_add(checked, g_strdup(dest));
	g_mutex_unlock(&checked_lock);
}

void kdh_cache_forget_checks(void)
{
	g_mutex_lock(&checked_lock);
	if (checked)
		g_hash_table_remove_all(checked);
	g_mutex_unlock(&checked_lock);
}

void kdh_cache_set_notice(KdhCacheNoticeFunc func, gpointer data)
{
	notice_func = func;
	notice_data = data;
}

static void notice(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void notice(const char *fmt, ...)
{
	g_autofree char *text = NULL;
	va_list ap;

	if (!notice_func)
		return;
	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	notice_func(text, notice_data);
}

/* Whether DIR/NAME (DEST) matches its manifest; FALSE with the first
 * difference, or KDH_UTIL_ERROR_CACHE_NO_MANIFEST when it has none. */
static gboolean entry_sound(const char *dir, const char *name, const char *dest, GError **error)
{
	g_autofree char *manifest = kdh_cache_manifest_path(dir, name);

	if (!g_file_test(manifest, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE_NO_MANIFEST,
		            "%s has no manifest", dest);
		return FALSE;
	}
	if (!kdh_cache_manifest_check(dest, manifest, error))
		return FALSE;
	mark_checked(dest);
	return TRUE;
}

/* An entry without a manifest was made by a kdh before manifests (its
 * publish was as atomic as ours): it is trusted as it is and given one.
 * Rebuilding it instead could cost hours (a kernel build) or be impossible
 * (an import whose file is gone).  The entry's lock is held. */
static gboolean adopt(const char *dir, const char *name, const char *dest, GError **error)
{
	g_autofree char *manifest = kdh_cache_manifest_path(dir, name);

	if (!kdh_cache_manifest_write(dest, manifest, error)) {
		g_prefix_error(error, "writing the manifest of %s: ", dest);
		return FALSE;
	}
	mark_checked(dest);
	notice("cache entry %s had no manifest (made by an older kdh): trusted as it is, "
	       "manifest written",
	       dest);
	return TRUE;
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

typedef enum {
	ENTRY_ABSENT,
	ENTRY_SOUND,   /* matches its manifest, or was adopted */
	ENTRY_DAMAGED, /* differs from its manifest */
	ENTRY_FAILED,  /* could not be adopted: ERROR set */
} EntryState;

/* DEST's state, with the entry's lock held (an entry without a manifest is
 * adopted here); *DAMAGE says how a damaged one differs. */
static EntryState locked_check(const char *dir, const char *name, const char *dest, char **damage,
                               GError **error)
{
	g_autoptr(GError) why = NULL;

	if (!g_file_test(dest, G_FILE_TEST_EXISTS) && !g_file_test(dest, G_FILE_TEST_IS_SYMLINK))
		return ENTRY_ABSENT;
	if (entry_sound(dir, name, dest, &why))
		return ENTRY_SOUND;
	if (g_error_matches(why, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE_NO_MANIFEST))
		return adopt(dir, name, dest, error) ? ENTRY_SOUND : ENTRY_FAILED;
	*damage = g_strdup(why->message);
	return ENTRY_DAMAGED;
}

char *kdh_cache_entry_ensure(const char *dir, const char *name, KdhCacheFillFunc fill,
                             gpointer data, GError **error)
{
	g_autofree char *dest = g_build_filename(dir, name, NULL);
	g_autofree char *lock_file = NULL, *tmp = NULL, *out = NULL, *tmp_name = NULL;
	g_autofree char *damage = NULL, *manifest = NULL, *manifest_tmp = NULL, *aside = NULL;
	EntryState state;
	gboolean ok;
	int lock;

	/* Once checked in this process, an entry is taken as it is: the check
	 * reads every byte (see README, Cache). */
	if (was_checked(dest) ||
	    (g_file_test(dest, G_FILE_TEST_EXISTS) && entry_sound(dir, name, dest, NULL)))
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
	/* Another run may have made (or mended) it while we waited. */
	state = locked_check(dir, name, dest, &damage, error);
	if (state == ENTRY_SOUND || state == ENTRY_FAILED) {
		kdh_unlock(lock);
		return state == ENTRY_SOUND ? g_steal_pointer(&dest) : NULL;
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
	/* A damaged entry goes with the temporary folder; it is never handed
	 * out, and made again below. */
	aside = g_build_filename(tmp, "damaged", NULL);
	if (state == ENTRY_DAMAGED && rename(dest, aside) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
		            "cache entry %s is damaged (%s) and cannot be moved away: %s", dest,
		            damage, g_strerror(saved));
		kdh_rm_rf(tmp);
		kdh_unlock(lock);
		return NULL;
	}
	if (damage)
		notice("cache entry %s is damaged (%s): made again", dest, damage);
	out = g_build_filename(tmp, "entry", NULL);
	ok = fill(out, tmp, data, error);
	if (ok && !g_file_test(out, G_FILE_TEST_EXISTS)) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE,
		            "making cache entry %s left nothing to publish", dest);
		ok = FALSE;
	}
	/* The manifest goes first: whoever sees the entry sees its manifest. */
	manifest = kdh_cache_manifest_path(dir, name);
	manifest_tmp = g_build_filename(tmp, "manifest", NULL);
	ok = ok && kdh_cache_manifest_write(out, manifest_tmp, error);
	if (ok && rename(manifest_tmp, manifest) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
		            "publishing %s: %s", manifest, g_strerror(saved));
		ok = FALSE;
	}
	ok = ok && publish(out, dest, error);
	if (ok)
		mark_checked(dest);
	kdh_rm_rf(tmp);
	kdh_unlock(lock);
	return ok ? g_steal_pointer(&dest) : NULL;
}

gboolean kdh_cache_entry_check(const char *dir, const char *name, GError **error)
{
	g_autofree char *dest = g_build_filename(dir, name, NULL);
	g_autofree char *lock_file = NULL;
	g_autoptr(GError) why = NULL;
	gboolean ok;
	int lock;

	if (was_checked(dest) || entry_sound(dir, name, dest, NULL))
		return TRUE;
	lock_file = lock_path(dir, name);
	if ((lock = kdh_lock(lock_file, error)) < 0)
		return FALSE;
	ok = entry_sound(dir, name, dest, &why);
	if (!ok && g_error_matches(why, KDH_UTIL_ERROR, KDH_UTIL_ERROR_CACHE_NO_MANIFEST))
		ok = adopt(dir, name, dest, error);
	else if (!ok)
		g_propagate_error(error, g_steal_pointer(&why));
	kdh_unlock(lock);
	return ok;
}
