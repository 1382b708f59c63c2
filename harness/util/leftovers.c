/* What a killed process left in the shared temp folder (util.h): the socket
 * folders of libguestfs handles.  For root, libguestfs always makes them as
 * /tmp/libguestfsXXXXXX (guestfs_set_tmpdir does not move them), and only
 * guestfs_close removes them: a SIGKILL leaves them for good. */
#include "util/util.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SOCKDIR_PREFIX "libguestfs"
/* /proc/net/unix has a line per socket: bounded by the kernel, but a
 * bound keeps a broken /proc from growing our memory without end. */
#define NET_UNIX_MAX (64u << 20)

/* The paths of every bound unix socket of the host (this network
 * namespace), as a set; NULL when /proc/net/unix cannot be read (then
 * nothing may be called stale). */
static GHashTable *bound_socket_paths(void)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	GHashTable *set;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents("/proc/net/unix", &text, &len, NULL) || len > NET_UNIX_MAX)
		return NULL;
	set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	lines = g_strsplit(text, "\n", -1);
	/* "Num RefCount Protocol Flags Type St Inode Path": the path, when
	 * there is one, is the eighth field and the only one starting with '/'. */
	for (guint i = 1; lines[i]; i++) {
		const char *path = strchr(lines[i], '/');
		if (path)
			g_hash_table_add(set, g_strdup(path));
	}
	return set;
}

/* Whether DIR holds sockets only, at least one, none of them bound by a
 * living process: a socket folder whose handle died with its process.  A
 * live handle's folder always has a bound socket (or is still empty). */
static gboolean sockdir_is_dead(const char *dir, GHashTable *bound)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;
	guint sockets = 0;

	if (!d)
		return FALSE;
	while ((name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		struct stat st;

		if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode) ||
		    g_hash_table_contains(bound, path))
			return FALSE;
		sockets++;
	}
	return sockets > 0;
}

guint kdh_sweep_libguestfs_sockdirs(const char *tmp)
{
	g_autoptr(GDir) d = g_dir_open(tmp, 0, NULL);
	g_autoptr(GHashTable) bound = bound_socket_paths();
	const char *name;
	guint removed = 0;

	if (!d || !bound)
		return 0;
	while ((name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(tmp, name, NULL);
		struct stat st;

		/* mkdtemp's six characters after the prefix, ours only. */
		if (!g_str_has_prefix(name, SOCKDIR_PREFIX) ||
		    strlen(name) != strlen(SOCKDIR_PREFIX) + 6 || lstat(path, &st) != 0 ||
		    !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (sockdir_is_dead(path, bound)) {
			kdh_rm_rf(path);
			removed++;
		}
	}
	return removed;
}
