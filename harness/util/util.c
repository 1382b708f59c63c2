/* Cache folders, locks, removing and copying files. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <unistd.h>

KDH_DEFINE_QUARK("kdh-util-error-quark", kdh_util_error)

char *kdh_cache_dir(GError **error)
{
	const char *env = g_getenv("KDH_CACHE_DIR");
	/* Root's cache is the system's: QEMU, which libvirt runs as another
	 * user, must reach the base disk and the VMs' folders in it, and
	 * /root is closed to it (mode 0700). */
	gboolean system = !(env && *env) && geteuid() == 0;
	g_autofree char *dir = env && *env ? g_strdup(env)
	                       : system    ? g_strdup(KDH_SYSTEM_CACHE_DIR)
	                                   : g_build_filename(g_get_user_cache_dir(), "kdh", NULL);

	if (g_mkdir_with_parents(dir, 0755) != 0 || (system && g_chmod(dir, 0755) != 0)) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
		            "creating cache folder %s: %s", dir, g_strerror(saved));
		return NULL;
	}
	return g_steal_pointer(&dir);
}

int kdh_lock(const char *path, GError **error)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "locking %s: %s",
		            path, g_strerror(saved));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

void kdh_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

void kdh_rm_rf(const char *path)
{
	nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

gboolean kdh_copy_file(const char *src, const char *dest, int mode, GError **error)
{
	g_autoptr(GFile) from = g_file_new_for_path(src);
	g_autoptr(GFile) to = g_file_new_for_path(dest);
	g_autofree char *parent = g_path_get_dirname(dest);

	if (g_mkdir_with_parents(parent, 0755) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
		            "copying %s: creating %s: %s", src, parent, g_strerror(saved));
		return FALSE;
	}
	/* g_file_copy uses copy_file_range/splice where it can, and replaces
	 * DEST without following a symlink there. */
	if (!g_file_copy(from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error)) {
		g_prefix_error(error, "copying %s to %s: ", src, dest);
		return FALSE;
	}
	if (mode >= 0 && g_chmod(dest, mode) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "chmod %s: %s",
		            dest, g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

gboolean kdh_copy_tree(const char *src, const char *dest, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(src, 0, error);
	const char *name;

	if (!d || g_mkdir_with_parents(dest, 0755) != 0) {
		if (d) {
			int saved = errno;
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
			            "creating %s: %s", dest, g_strerror(saved));
		}
		return FALSE;
	}
	while ((name = g_dir_read_name(d))) {
		g_autofree char *from = g_build_filename(src, name, NULL);
		g_autofree char *to = g_build_filename(dest, name, NULL);
		GStatBuf st;

		if (g_lstat(from, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (!kdh_copy_tree(from, to, error))
				return FALSE;
		} else if (S_ISREG(st.st_mode) && !kdh_copy_file(from, to, -1, error)) {
			return FALSE;
		}
	}
	return TRUE;
}

gint kdh_strcmp_sort(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *kdh_dir_names_sorted(const char *dir, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, error);
	GPtrArray *names;
	const char *name;

	if (!d)
		return NULL;
	names = g_ptr_array_new_with_free_func(g_free);
	while ((name = g_dir_read_name(d)))
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, kdh_strcmp_sort);
	return names;
}
