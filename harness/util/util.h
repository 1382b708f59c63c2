/* kdh utilities shared by the layers above dump/: running host commands,
 * cache folders and their locks, content hashes.  No policy lives here. */
#ifndef KDH_UTIL_H
#define KDH_UTIL_H

#include <glib.h>

/* Defines NAME_quark(), the error domain named STR.  GLib's G_DEFINE_QUARK
 * takes the name as a bare token, which the formatter splits at every '-'. */
#define KDH_DEFINE_QUARK(str, name)                                                                \
	GQuark name##_quark(void)                                                                  \
	{                                                                                          \
		return g_quark_from_static_string(str);                                            \
	}

#define KDH_UTIL_ERROR (kdh_util_error_quark())
GQuark kdh_util_error_quark(void);

/* Runs ARGV (argv[0] looked up in PATH) in CWD (NULL: ours) and waits.
 * On exit status 0 returns TRUE and, when STDOUT_TEXT is not NULL, its
 * standard output.  Otherwise FALSE with an error naming the command, its
 * status and the last lines of its standard error. */
gboolean kdh_run(const char *const *argv, const char *cwd, char **stdout_text, GError **error);

/* Root's default cache folder (FHS: an application's cache of data it can
 * rebuild), open to QEMU's unprivileged user. */
#define KDH_SYSTEM_CACHE_DIR "/var/cache/kdh"

/* The kdh cache folder: $KDH_CACHE_DIR, else KDH_SYSTEM_CACHE_DIR for root
 * (mode 0755) and $XDG_CACHE_HOME/kdh (GLib's g_get_user_cache_dir) for
 * anyone else, created when missing.  Caller frees. */
char *kdh_cache_dir(GError **error);

/* Takes an exclusive lock on PATH (created when missing), waiting for other
 * kdh processes that hold it.  Returns the descriptor to pass to
 * kdh_unlock, or -1 with an error. */
int kdh_lock(const char *path, GError **error);
void kdh_unlock(int fd);

/* Publishes the finished folder TMP as DEST with one rename, so a reader sees
 * either nothing or a complete entry.  When DEST already exists (another
 * process won the race) TMP is removed and TRUE returned. */
gboolean kdh_publish_dir(const char *tmp, const char *dest, GError **error);

/* Removes PATH and everything below it; does not follow symlinks. */
void kdh_rm_rf(const char *path);

#endif
