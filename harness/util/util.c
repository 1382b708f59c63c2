/* Host commands, cache folders, locks. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

KDH_DEFINE_QUARK("kdh-util-error-quark", kdh_util_error)

/* The last few lines of a command's standard error: enough to say why. */
static char *tail_lines(const char *text, guint n)
{
	g_autofree char *copy = g_strstrip(g_strdup(text ? text : ""));
	const char *p = copy + strlen(copy);

	while (p > copy && n > 0) {
		p--;
		if (*p == '\n')
			n--;
	}
	if (*p == '\n')
		p++;
	return g_strdup(p);
}

gboolean kdh_run(const char *const *argv, const char *cwd, char **stdout_text, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GBytes) out = NULL, err_bytes = NULL;
	g_autofree char *err = NULL;
	g_autofree char *cmd = g_strjoinv(" ", (char **)argv);

	if (cwd)
		g_subprocess_launcher_set_cwd(launcher, cwd);
	g_subprocess_launcher_setenv(launcher, "LC_ALL", "C", TRUE);
	proc = g_subprocess_launcher_spawnv(launcher, argv, error);
	if (!proc) {
		g_prefix_error(error, "running %s: ", argv[0]);
		return FALSE;
	}
	if (!g_subprocess_communicate(proc, NULL, NULL, &out, &err_bytes, error)) {
		g_prefix_error(error, "running %s: ", cmd);
		return FALSE;
	}
	err = g_strndup(g_bytes_get_data(err_bytes, NULL), g_bytes_get_size(err_bytes));
	if (!g_subprocess_get_if_exited(proc) || g_subprocess_get_exit_status(proc) != 0) {
		g_autofree char *why = tail_lines(err, 5);
		g_set_error(error, KDH_UTIL_ERROR, 0, "%s failed (%s %d)%s%s", cmd,
		            g_subprocess_get_if_exited(proc) ? "exit status" : "signal",
		            g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc)
		                                             : g_subprocess_get_term_sig(proc),
		            *why ? ": " : "", why);
		return FALSE;
	}
	if (stdout_text)
		*stdout_text = g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
	return TRUE;
}

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

gboolean kdh_publish_dir(const char *tmp, const char *dest, GError **error)
{
	if (rename(tmp, dest) == 0)
		return TRUE;
	if (errno == EEXIST || errno == ENOTEMPTY) {
		kdh_rm_rf(tmp);
		return TRUE;
	}
	int saved = errno;
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "renaming %s to %s: %s",
	            tmp, dest, g_strerror(saved));
	kdh_rm_rf(tmp);
	return FALSE;
}
