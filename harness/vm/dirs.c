/* The folders a run's VMs keep their own files in: one per run, locked
 * while it lives, reachable by QEMU's user, and what killed runs left. */
#include "vm/vm.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean set_error_errno(GError **error, const char *what, const char *path)
{
	int saved = errno;

	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s %s: %s", what, path,
	            g_strerror(saved));
	return FALSE;
}

/* mkdir then chmod: the umask must not take away the others' search bit. */
gboolean kdh_vm_dir_new(const char *path, GError **error)
{
	if (g_mkdir(path, 0711) != 0 && errno != EEXIST)
		return set_error_errno(error, "creating", path);
	if (g_chmod(path, 0711) != 0)
		return set_error_errno(error, "setting the mode of", path);
	return TRUE;
}

/* Removes the folders in VM_ROOT no run holds: their kdh was killed. */
static void prune_run_dirs(const char *vm_root)
{
	g_autoptr(GDir) dir = g_dir_open(vm_root, 0, NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		g_autofree char *path = g_build_filename(vm_root, name, NULL);
		int fd;

		if (name[0] == '.')
			continue;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			kdh_rm_rf(path);
		close(fd);
	}
}

KdhVmRunDir *kdh_vm_run_dir_new(const char *cache_dir, GError **error)
{
	g_autofree char *vm_root = g_build_filename(cache_dir, "vm", NULL);
	g_autofree char *lock_path = g_build_filename(vm_root, ".lock", NULL);
	g_autofree char *tmpl = g_build_filename(vm_root, "run-XXXXXX", NULL);
	g_autoptr(KdhVmRunDir) d = g_new0(KdhVmRunDir, 1);
	int lock;

	d->lock_fd = -1;
	if (!kdh_vm_dir_new(vm_root, error))
		return NULL;
	/* Held while creating and locking ours, so a pruning run never sees
	 * our folder before we hold it. */
	lock = kdh_lock(lock_path, error);
	if (lock < 0)
		return NULL;
	prune_run_dirs(vm_root);
	if (!g_mkdtemp_full(tmpl, 0711)) {
		set_error_errno(error, "creating", tmpl);
		kdh_unlock(lock);
		return NULL;
	}
	d->path = g_steal_pointer(&tmpl);
	d->lock_fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->lock_fd < 0 || flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0 ||
	    g_chmod(d->path, 0711) != 0) {
		set_error_errno(error, "locking", d->path);
		kdh_unlock(lock);
		return NULL;
	}
	kdh_unlock(lock);
	return g_steal_pointer(&d);
}

void kdh_vm_run_dir_free(KdhVmRunDir *d)
{
	if (!d)
		return;
	if (d->path)
		kdh_rm_rf(d->path);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	g_free(d->path);
	g_free(d);
}

char *kdh_vm_unreachable(const char *path, gboolean need_read)
{
	g_autofree char *abs = g_canonicalize_filename(path, NULL);
	g_auto(GStrv) parts = g_strsplit(abs, "/", -1);
	g_autoptr(GString) at = g_string_new("/");
	struct stat st = {0};

	for (guint i = 0; parts[i]; i++) {
		if (*parts[i]) {
			if (at->len > 1)
				g_string_append_c(at, '/');
			g_string_append(at, parts[i]);
		}
		if (stat(at->str, &st) != 0)
			return g_strdup_printf("%s: %s", at->str, g_strerror(errno));
		if (S_ISDIR(st.st_mode) && !(st.st_mode & S_IXOTH))
			return g_strdup_printf("folder %s (mode %04o) is not searchable by others",
			                       at->str, st.st_mode & 07777);
	}
	if (need_read && !(st.st_mode & S_IROTH))
		return g_strdup_printf("%s (mode %04o) is not readable by others", abs,
		                       st.st_mode & 07777);
	return NULL;
}
