/* kdh kernels: where a scenario's kernel comes from, and the cache holding it.
 *
 * Three sources, one cache entry shape.  Every entry lives in
 * $cache/kernels/<id>/ with boot/vmlinuz-<release>, boot/config-<release>,
 * boot/System.map-<release> (when known), boot/vmlinux-<release> (DWARF, when
 * there is one), lib/modules/<release>/ (always, with modules.dep and
 * modules.builtin, possibly empty; modules plain .ko, never compressed) and
 * kdh-kernel.ini (source, release, version, what the entry was made from).
 *
 *   debian:<abi>       Debian's linux-image-<abi>-unsigned through apt; id
 *                      <package>_<version>; "debian:default" is what
 *                      linux-image-amd64 points to.  Debug vmlinux (-dbg) in
 *                      <id>.dbg/ beside it.
 *   build:...          a kernel built from a source package or tree plus
 *                      kconfig fragments; id build-<kernelversion>-<hash> where
 *                      the hash covers source version, base config, fragment
 *                      contents, compiler and recipe: same inputs, same entry.
 *   import:...         a user's .deb, .rpm, Arch .pkg.tar.zst or folder; id
 *                      import-<hash> of the input's content.
 *
 * Builds keep their object tree in $cache/kernels/.obj-<version>-<hash> (per
 * source tree and toolchain, not per config) for incremental rebuilds.
 * An entry is used only when complete: it is made in a temporary folder and
 * renamed into place under its lock (kdh_cache_entry_ensure), so concurrent
 * kdh runs and threads sharing the cache never see half an entry and never
 * make one twice.  Packages are unpacked through libarchive with its
 * secure-extraction checks (kdh_unpack_package): a hostile package cannot
 * write outside the temporary folder.
 */
#ifndef KDH_KERNEL_H
#define KDH_KERNEL_H

#include <glib.h>

#define KDH_KERNEL_ERROR (kdh_kernel_error_quark())
GQuark kdh_kernel_error_quark(void);

typedef struct {
	char *ref;     /* as the scenario wrote it, e.g. "debian:default" */
	char *release; /* uname -r, e.g. "6.1.0-56-amd64" */
	char *package; /* e.g. "linux-image-6.1.0-56-amd64-unsigned", "linux-source-6.12" */
	char *version; /* the package version, e.g. "6.1.192-2" */
	char *root;    /* the cache entry; boot/ and lib/modules/ below it */
	char *vmlinuz;
	char *config;      /* may name a missing file: imports without a config */
	char *modules_dir; /* <root>/lib/modules/<release> */
	char *id;          /* the entry's folder name under kernels/ */
	char *source;      /* "debian", "build" or "import" */
	char *system_map;  /* NULL when the entry has none */
	char *vmlinux;     /* with DWARF debug info, or NULL */
} KdhKernel;

void kdh_kernel_free(KdhKernel *k);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhKernel, kdh_kernel_free)

/* Resolves REF to a complete kernel in the cache under CACHE_DIR, making it
 * first when needed (this may download, unpack or build for a long time):
 *   debian:default | debian:<abi>[-<flavour>]      e.g. debian:6.1.0-56-cloud-amd64
 *   build:<id>                                     a cached build, e.g. build:6.12.117-0123abcd
 *   build:<source>+<fragment>,<fragment>...        e.g. build:linux-source-6.12+kdump,virt
 *   import:<path>  | import:<id>                   a package or folder, or a cached import
 * Fragment names without '/' are kconfigs/<name>.config (see
 * kdh_kconfig_fragment_path). */
KdhKernel *kdh_kernel_resolve(const char *ref, const char *cache_dir, GError **error);

/* The Debian kernel of REF ("debian:..." or a bare ABI); with DEBUG, also its
 * -dbg package's vmlinux (hundreds of MB), kept in <id>.dbg/. */
KdhKernel *kdh_kernel_fetch_debian(const char *ref, gboolean debug, const char *cache_dir,
                                   GError **error);

/* Imports PATH: a .deb, .rpm, Arch .pkg.tar.{zst,xz}, or a folder holding a
 * bzImage/vmlinuz (and optionally System.map, config, modules in
 * lib/modules/<release>/ or <release>/).  The kernel's release is read from
 * the bzImage header.  Compressed modules (.ko.xz/.zst/.gz) are decompressed
 * and depmod is run, since the mini guest's busybox insmod needs plain .ko.
 * A package that would write outside its folder, plant device nodes or
 * unpack past the size bounds is refused with an error naming the member
 * (kdh_unpack_package).  Importing the same content twice returns the
 * existing entry. */
KdhKernel *kdh_kernel_import(const char *path, const char *cache_dir, GError **error);

/* Progress of a build, called from the building thread: STEP is a short
 * description ("configure", "CC fs/ext4/inode.o", "modules_install"),
 * ELAPSED seconds since the build started, DONE the number of build steps
 * (objects compiled, linked, ...) so far. */
typedef void (*KdhKernelProgressFunc)(const char *step, double elapsed, guint done,
                                      gpointer user_data);

typedef struct {
	/* "linux-source-6.12", "6.12" (the same), or a kernel source folder;
	 * a folder must be clean (kdh builds out of tree). */
	const char *source;
	/* kconfig fragment paths, merged in this order onto BASE. */
	const char *const *fragments;
	/* "tinyconfig" (default when NULL), "defconfig", "allnoconfig", or the
	 * path of a full .config. */
	const char *base;
	int jobs; /* make -j; 0: the number of CPUs */
	KdhKernelProgressFunc progress;
	gpointer progress_data;
} KdhKernelBuildOptions;

/* Builds (or finds in the cache) the kernel OPTS describes.  Configuration
 * is tinyconfig (or BASE) + the fragments through the kernel's own
 * scripts/kconfig/merge_config.sh and olddefconfig; then every option a
 * fragment asks for is checked in the final .config: each one dropped
 * (unmet dependency) or unknown to this kernel is an error, unless the
 * fragment marked it "# kdh: optional".  bzImage and modules are built with
 * all CPUs; the full log is kept as <entry>/build.log, or, when the build
 * fails, in $cache/kernels/logs/ (named in the error). */
KdhKernel *kdh_kernel_build(const KdhKernelBuildOptions *opts, const char *cache_dir,
                            GError **error);

/* The configuration step of kdh_kernel_build alone (seconds, not
 * minutes): base + fragments, olddefconfig, the check that every requested
 * option survived; the final .config is written to CONFIG_OUT.  Nothing is
 * added to the cache but the unpacked source. */
gboolean kdh_kernel_configure(const KdhKernelBuildOptions *opts, const char *cache_dir,
                              const char *config_out, GError **error);

/* kdh_kernel_resolve, reporting PROGRESS while a build: ref is built (which
 * can take many minutes; the runner can show it instead of a silent phase). */
KdhKernel *kdh_kernel_resolve_progress(const char *ref, const char *cache_dir,
                                       KdhKernelProgressFunc progress, gpointer progress_data,
                                       GError **error);

/* Where the fragment NAME is: NAME itself when it contains '/' or ends in
 * ".config"; else <dir>/<NAME>.config for the first existing dir of
 * $KDH_KCONFIG_DIR, ./kconfigs, <kdh binary>/../kconfigs,
 * /usr/share/kdh/kconfigs.  NULL with an error when none exists. */
char *kdh_kconfig_fragment_path(const char *name, GError **error);

/* Resolves each name of the comma-separated LIST (empty names skipped) with
 * kdh_kconfig_fragment_path and appends the paths to PATHS (which frees
 * them).  FALSE with an error at the first name that does not resolve. */
gboolean kdh_kconfig_fragment_paths(const char *list, GPtrArray *paths, GError **error);

/* A kernel .config read into a table: CONFIG_FOO=y gives "FOO" → "y",
 * "# CONFIG_FOO is not set" gives "FOO" → "n", strings keep their quotes. */
GHashTable *kdh_kconfig_parse(const char *text);

/* One option a fragment asks for. */
typedef struct {
	char *name;  /* without CONFIG_ */
	char *value; /* "y", "m", "n" for "is not set", or the literal value */
	gboolean optional;
	guint line;
} KdhKconfigRequest;

/* The requests of fragment TEXT, in order ("# kdh: optional" on the line
 * before an option marks it).  Array of KdhKconfigRequest. */
GArray *kdh_kconfig_requests(const char *text);

/* Compares what the fragment FRAGMENT_NAME (text TEXT) asks for with the
 * final configuration CONFIG.  KNOWN, when not NULL, is the set of symbols
 * the source's Kconfig files define, to tell an option that does not exist
 * from one that was dropped.  Returns one message per unmet request (an
 * empty array when all hold). */
GPtrArray *kdh_kconfig_unmet(const char *fragment_name, const char *text, GHashTable *config,
                             GHashTable *known);

typedef enum {
	KDH_OPTION_ENABLED,
	KDH_OPTION_MODULE,
	KDH_OPTION_MISSING,
} KdhOptionState;

typedef struct {
	const char *option;    /* e.g. "KEXEC", or "VMCORE_INFO|CRASH_CORE" */
	const char *why;       /* why kdump needs it */
	gboolean required;     /* FALSE: recommended, missing is a warning */
	gboolean module_ok;    /* a module (=m) counts as present */
	KdhOptionState state;  /* of the first alternative that is present */
	char present_name[48]; /* that alternative, or "" */
} KdhConfigCheck;

/* Checks CONFIG (a parsed .config) against what kdump and the kdh mini guest
 * need.  Returns an array of KdhConfigCheck in a fixed order; *MISSING_REQUIRED
 * gets the number of required options missing. */
GArray *kdh_kernel_check_config(GHashTable *config, guint *missing_required);

/* Reads the configuration at PATH: a .config, a gzip'ed one
 * (/proc/config.gz), or nothing else.  Parsed as kdh_kconfig_parse. */
GHashTable *kdh_kconfig_load(const char *path, GError **error);

/* The complete entries in the cache, each with its fields filled (ref the
 * canonical "debian:..."/"build:..."/"import:..." form). */
GPtrArray *kdh_kernel_list(const char *cache_dir, GError **error);

/* Bytes used by the entry K (and its debug and headers companions). */
guint64 kdh_kernel_size(const KdhKernel *k);

/* The release string in a bzImage's setup header ("6.12.117 (root@host) #1
 * SMP ..." → "6.12.117"), or NULL with an error when PATH is not a bzImage
 * or the release could not safely name files or be an argument ("..",
 * "--help", a '/': only 1-64 of [A-Za-z0-9._+~-], starting with a letter or
 * digit, pass). */
char *kdh_bzimage_release(const char *path, GError **error);

/* ---- build trees for out-of-tree modules (headers.c) ---- */

typedef enum {
	KDH_KERNEL_ERROR_FAILED = 0,    /* anything else */
	KDH_KERNEL_ERROR_NO_BUILD_TREE, /* the kernel has no tree to build modules against */
	KDH_KERNEL_ERROR_NO_DEBUG_INFO, /* kdh_kernel_debug_vmlinux: none to be had */
} KdhKernelError;

typedef struct {
	char *dir; /* `make -C DIR M=<module folder> modules` builds a module here */
	int lock;  /* held while the tree is in use, or -1 */
} KdhBuildTree;

/* The tree to build out-of-tree modules for K against, kept until
 * kdh_build_tree_free (which releases its lock):
 *   debian  linux-headers-<release> with its -common and linux-kbuild-*
 *           packages, downloaded once and unpacked (not installed) as the
 *           cache entry <id>.headers/ beside K's; the headers' Makefile is
 *           made relative so the tree works there.
 *   build   the object tree K was built in (per source and compiler: the
 *           kernel built there last owns it), locked against builds while
 *           in use; when it holds another kernel's .config or release now,
 *           it is first rebuilt with K's (bzImage and modules: minutes),
 *           provided the host's gcc is the one K was built with.
 *   import  K's lib/modules/<release>/build, when a folder (not a link).
 * KDH_KERNEL_ERROR_NO_BUILD_TREE, with a message saying what is missing,
 * when K has none; other errors (a download failing) are ..._FAILED. */
KdhBuildTree *kdh_kernel_build_tree(const KdhKernel *k, GError **error);
void kdh_build_tree_free(KdhBuildTree *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhBuildTree, kdh_build_tree_free)

/* ---- debug info for crash(8) (kernel/debuginfo.c) ---- */

/* The path of a vmlinux with DWARF debug info for K (caller frees): the one
 * its cache entry holds (a kernel built with CONFIG_DEBUG_INFO, which
 * kconfigs/kdump.config asks for; an import that carried one; a Debian
 * kernel whose -dbg was fetched), or, with FETCH, for a Debian kernel, its
 * linux-image-<abi>-dbg fetched first into CACHE_DIR (hundreds of MB).  The
 * file is checked to be ELF with a .debug_info section.  NULL with
 * KDH_KERNEL_ERROR_NO_DEBUG_INFO when there is none to be had (a Debian
 * kernel without FETCH, a build without DEBUG_INFO, an import without a
 * vmlinux, a vmlinux without DWARF): the message says why and what to do;
 * NULL with another code when fetching or reading failed. */
char *kdh_kernel_debug_vmlinux(const KdhKernel *k, gboolean fetch, const char *cache_dir,
                               GError **error);

#endif
