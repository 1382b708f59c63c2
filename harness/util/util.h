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

/* The kdh cache folder: $KDH_CACHE_DIR, else $XDG_CACHE_HOME/kdh (GLib's
 * g_get_user_cache_dir), created when missing.  Caller frees. */
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

/* ---- text from outside (util/text.c) ---- */

/* The longest name kdh_safe_name accepts: NAME_MAX of the file systems kdh
 * writes to. */
#define KDH_NAME_MAX 255

/* NAME (bytes from a scenario file or a guest disk) made safe as one path
 * component in a folder of kdh's: every byte outside [A-Za-z0-9._+-] becomes
 * '_', and a leading '.' or '-' becomes '_' (a hidden file, an option).  The
 * result is never "", ".", "..", or a name with '/'.  NULL with an error
 * (KDH_UTIL_ERROR) for NULL, "", "." and "..", and for names over
 * KDH_NAME_MAX bytes; the error shows NAME escaped. */
char *kdh_safe_name(const char *name, GError **error);

/* LEN bytes of guest-written TEXT (a console line, a string read from a
 * dump; LEN -1: up to its NUL) as text kdh may store, print and put in JSON:
 * valid UTF-8, each invalid byte replaced by U+FFFD, control and format
 * characters other than tab written as \xNN or \uNNNN escapes (a guest
 * must not drive the terminal), and at most MAX_BYTES bytes, ending in "…"
 * when cut.  NULL TEXT gives NULL; the result is always nul-terminated. */
char *kdh_guest_text(const char *text, gssize len, gsize max_bytes);

#endif
