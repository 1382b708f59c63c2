/* kdh utilities shared by the layers above dump/: running host commands,
 * cache folders and their locks, copying files, unpacking packages.  No
 * policy lives here. */
#ifndef KDH_UTIL_H
#define KDH_UTIL_H

#include <glib.h>
#include <json-glib/json-glib.h>

/* Defines NAME_quark(), the error domain named STR.  GLib's G_DEFINE_QUARK
 * takes the name as a bare token, which the formatter splits at every '-'. */
#define KDH_DEFINE_QUARK(str, name)                                                                \
	GQuark name##_quark(void)                                                                  \
	{                                                                                          \
		return g_quark_from_static_string(str);                                            \
	}

#define KDH_UTIL_ERROR (kdh_util_error_quark())
GQuark kdh_util_error_quark(void);

typedef enum {
	KDH_UTIL_ERROR_COMMAND,           /* a command failed or could not start */
	KDH_UTIL_ERROR_CACHE,             /* a cache entry could not be made */
	KDH_UTIL_ERROR_UNPACK,            /* a package or compressed file was refused or broken */
	KDH_UTIL_ERROR_ELF,               /* an ELF file could not be read */
	KDH_UTIL_ERROR_CACHE_DAMAGED,     /* a cache entry differs from its manifest */
	KDH_UTIL_ERROR_CACHE_NO_MANIFEST, /* a cache entry has no manifest */
} KdhUtilError;

/* Called with each line of a command's output (without its newline, made
 * valid UTF-8), as it arrives. */
typedef void (*KdhLineFunc)(const char *line, gpointer user_data);

typedef struct {
	const char *cwd;        /* NULL: ours */
	const char *const *env; /* NULL, or NAME, VALUE, ..., NULL: set on top of ours */
	GBytes *stdin_data;     /* the command's standard input; NULL: /dev/null */
	gboolean merge_stderr;  /* standard error into the output */
	KdhLineFunc line;       /* output line by line (stderr merged); not with STDIN_DATA */
	gpointer line_data;
	gboolean any_status; /* a non-zero exit is no error (read it from *STATUS) */
} KdhRunOptions;

/* The one way kdh runs a host command: ARGV (argv[0] looked up in PATH,
 * then /usr/sbin and /sbin, where a user's PATH does not reach) as
 * an argument vector, never through a shell, with LC_ALL=C and OPTS (NULL:
 * the defaults).  Waits for it.  On success (exit status 0, or any status
 * with ANY_STATUS) returns TRUE, its standard output in *STDOUT_TEXT and
 * its status (128 + signal when killed) in *STATUS, each when not NULL.
 * Otherwise FALSE with an error naming the command line, its status and
 * the last lines of its standard error (of its output when merged). */
gboolean kdh_run_full(const char *const *argv, const KdhRunOptions *opts, char **stdout_text,
                      int *status, GError **error);

/* kdh_run_full with only a working folder CWD (NULL: ours). */
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

/* Fills OUT (a path that does not exist yet) with a cache entry: a folder
 * or a file.  SCRATCH is a private folder for anything else (downloads,
 * unpacked packages); both go away afterwards.  FALSE with an error when
 * the entry cannot be made. */
typedef gboolean (*KdhCacheFillFunc)(const char *out, const char *scratch, gpointer data,
                                     GError **error);

/* The cache entry DIR/NAME, made by FILL when it does not exist: the
 * check-lock-recheck-build-publish sequence every cache of kdh uses.  FILL
 * runs at most once among all threads and processes sharing DIR (each
 * waits on DIR/.lock-NAME), in DIR/.tmp-NAME-XXXXXX, and its result is
 * renamed into place, so nobody sees half an entry.  Temporary folders of
 * killed runs are removed by the next run holding their lock.
 *
 * Each entry has a manifest, DIR/.manifest-NAME (kdh_cache_manifest_write),
 * published just before the entry.  An existing entry is compared with it
 * the first time this process takes the entry (afterwards it is trusted):
 * one that differs (a file truncated, changed, missing or added) is
 * removed and made again by FILL, never returned; one without a manifest
 * (made by an older kdh) is trusted and given one.  Both are told to the
 * notice function (kdh_cache_set_notice).  Returns the entry's path, or
 * NULL with FILL's error (no entry is left then). */
char *kdh_cache_entry_ensure(const char *dir, const char *name, KdhCacheFillFunc fill,
                             gpointer data, GError **error);

/* Removes the libguestfs socket folders in TMP (TMP/libguestfsXXXXXX, made
 * by libguestfs for every handle of root whatever its tmpdir) that hold
 * only unix sockets no living process has bound: what a killed process's
 * handles left.  A live handle's folder (a bound socket, or still empty)
 * and anything else are left alone; other users' folders too.  Returns how
 * many were removed (0 when /proc/net/unix cannot be read). */
guint kdh_sweep_libguestfs_sockdirs(const char *tmp);

/* For an entry that cannot be made again from a recipe (a kernel built
 * or imported earlier, found by its id): TRUE when DIR/NAME matches its
 * manifest (or has none: then it is given one, as kdh_cache_entry_ensure
 * does); else FALSE with KDH_UTIL_ERROR_CACHE_DAMAGED naming the first
 * difference.  Checked once per process, like kdh_cache_entry_ensure. */
gboolean kdh_cache_entry_check(const char *dir, const char *name, GError **error);

/* DIR/.manifest-NAME, the manifest of cache entry DIR/NAME.  Caller frees. */
char *kdh_cache_manifest_path(const char *dir, const char *name);

/* Writes MANIFEST (replacing it atomically) for ENTRY, a file or a folder:
 * every folder, regular file (size, SHA-256) and symlink (target) below
 * it.  Anything else (a device, a fifo) is refused. */
gboolean kdh_cache_manifest_write(const char *entry, const char *manifest, GError **error);

/* Compares ENTRY with MANIFEST: shape and sizes first (a truncated file is
 * found without hashing), then every file's SHA-256.  FALSE with
 * KDH_UTIL_ERROR_CACHE_DAMAGED naming the first difference ("ENTRY/boot/x:
 * 1000 bytes, the manifest says 8000"), or with the error reading MANIFEST. */
gboolean kdh_cache_manifest_check(const char *entry, const char *manifest, GError **error);

/* Called with each cache notice: an entry found damaged and made again, an
 * entry adopted without a manifest.  The library never prints; the
 * command line sets one that does.  NULL: none. */
typedef void (*KdhCacheNoticeFunc)(const char *message, gpointer data);
void kdh_cache_set_notice(KdhCacheNoticeFunc func, gpointer data);

/* Forgets which entries this process has checked, so the next take of each
 * checks it again (as a new run would). */
void kdh_cache_forget_checks(void);

/* Removes PATH and everything below it; does not follow symlinks. */
void kdh_rm_rf(const char *path);

/* The names in folder DIR, sorted bytewise (an order that does not depend
 * on the file system or the locale: for hashes of a tree); NULL with an
 * error when DIR cannot be read. */
GPtrArray *kdh_dir_names_sorted(const char *dir, GError **error);

/* strcmp for g_ptr_array_sort over char*. */
gint kdh_strcmp_sort(gconstpointer a, gconstpointer b);

/* Copies the file SRC (following symlinks) to DEST, replacing DEST and
 * creating its folder when missing.  MODE: DEST's permissions, or -1 for
 * SRC's. */
gboolean kdh_copy_file(const char *src, const char *dest, int mode, GError **error);

/* Copies the folders and regular files below SRC into DEST (created when
 * missing).  Symlinks, devices and the like are left out: what kdh copies
 * this way comes from outside, and a symlink would point at the builder's
 * (or an attacker's) files. */
gboolean kdh_copy_tree(const char *src, const char *dest, GError **error);

typedef struct {
	guint64 max_bytes;   /* the members' total size */
	guint64 max_entries; /* members, counted whether extracted or not */
	const char *only;    /* NULL, or the one member to extract ("usr/lib/x", no "./") */
} KdhUnpackOptions;

/* Unpacks the package FILE into the existing folder DEST through libarchive:
 * a .deb (its data.tar.*), an .rpm (its cpio payload) or a (compressed)
 * tar such as Arch's .pkg.tar.zst, told apart by content.  Refuses, with
 * an error naming FILE and the member: absolute names, ".." components,
 * writing through a symlink, a name that comes twice (folders excepted),
 * hard links out of the package, device nodes/fifos/sockets, more than
 * OPTS' bytes or members.  Nothing is written outside DEST; what was unpacked
 * before a refusal stays in DEST for the caller to remove. */
gboolean kdh_unpack_package(const char *file, const char *dest, const KdhUnpackOptions *opts,
                            GError **error);

/* Decompresses SRC (gzip, xz, zstd, lz4, bzip2 or lzma) into the new file
 * DEST, refusing more than MAX_BYTES of output (DEST is removed then). */
gboolean kdh_decompress_file(const char *src, const char *dest, guint64 max_bytes, GError **error);

/* The decompressed content of the compressed stream at the start of DATA
 * (bytes after the stream are ignored), at most MAX_BYTES of it; NULL when
 * DATA does not start with a stream libarchive knows or yields nothing. */
GBytes *kdh_decompress_prefix(const void *data, gsize len, gsize max_bytes);

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

/* ---- ELF files (elf.c) ---- */

/* Reads the ELF file PATH (a vmlinux) through libelf: *BUILD_ID gets its
 * GNU build-id note as lowercase hex (NULL when it has none; caller frees),
 * *HAS_DEBUG_INFO whether it has a non-empty .debug_info section (DWARF).
 * FALSE with an error (KDH_UTIL_ERROR_ELF) naming PATH when it cannot be
 * opened or is not ELF; both outputs are then NULL and FALSE. */
gboolean kdh_elf_inspect(const char *path, char **build_id, gboolean *has_debug_info,
                         GError **error);

/* ---- JSON members (json.c) ---- */

/* Adds member KEY: the string VALUE, or null when VALUE is NULL. */
void kdh_json_add_string(JsonBuilder *b, const char *key, const char *value);
/* Adds member KEY: the integer VALUE. */
void kdh_json_add_int(JsonBuilder *b, const char *key, gint64 value);

#endif
