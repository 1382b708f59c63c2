/* kdh guest images.  The mini guest is an initramfs assembled from host
 * binaries (busybox-static, kexec, makedumpfile and the shared libraries each
 * needs), the kernel's own modules in dependency order, and images/mini/init.
 * It serves as both the first kernel's and the capture kernel's root. */
#ifndef KDH_IMAGE_H
#define KDH_IMAGE_H

#include <glib.h>

#include "guest/guest.h"
#include "kernel/kernel.h"

#define KDH_IMAGE_ERROR (kdh_image_error_quark())
GQuark kdh_image_error_quark(void);

typedef enum {
	KDH_IMAGE_ERROR_FAILED = 0,  /* making the image or module failed */
	KDH_IMAGE_ERROR_UNSUPPORTED, /* the kernel lacks what it takes (no build tree) */
} KdhImageError;

/* The modules the mini guest loads (plus what modules.dep says they need):
 * the virtio disk, ext4 and the crc32c ext4's checksums ask for by name. */
extern const char *const kdh_mini_modules[];

/* Reads MODULES_DIR/modules.dep and returns the relative paths of WANTED and
 * everything they depend on, each after its dependencies (the order insmod
 * needs).  Modules built into the kernel (modules.builtin) are left out.
 * Errors name the module that is neither a module nor built in. */
GPtrArray *kdh_modules_load_order(const char *modules_dir, const char *const *wanted,
                                  GError **error);

/* Builds (or finds in CACHE_DIR) the mini initramfs for KERNEL, with the init
 * script RECIPE_DIR/init and the files EXTRAS (NULL-terminated, may be NULL:
 * the crash module, LKDTM) in /lib/kdh/ under their own names.  Returns the
 * path of the uncompressed cpio to boot with; the entry is keyed by a hash
 * of everything that goes into it (the extras' contents too). */
char *kdh_image_mini(const KdhKernel *kernel, const char *recipe_dir, const char *const *extras,
                     const char *cache_dir, GError **error);

/* ---- the crash module (crashmod.c) ---- */

/* The cache entry name kdh_crashmod_build uses for K and the module
 * source in SOURCE_DIR: "<release>-<hash>", the hash covering every file
 * of SOURCE_DIR (names and contents), K's entry id, the host compiler and
 * the recipe.  NULL with an error when SOURCE_DIR cannot be read. */
char *kdh_crashmod_entry_name(const KdhKernel *k, const char *source_dir, GError **error);

/* Builds the crash module from SOURCE_DIR (images/crashmod: Kbuild and
 * kdh_crash.c) against K's build tree (kdh_kernel_build_tree) and returns
 * the path of CACHE_DIR/crashmod/<entry name>/kdh_crash.ko.  Built at most
 * once among all threads and processes sharing CACHE_DIR; a cached module
 * costs a hash of the sources and nothing else.  The module's vermagic is
 * checked to name K's release.  Errors: KDH_IMAGE_ERROR_UNSUPPORTED when K
 * has no build tree (the message says what is missing); otherwise
 * KDH_IMAGE_ERROR_FAILED, for a failed build with the last lines of its log
 * and the full log's path (kept in CACHE_DIR/crashmod/logs/).  No entry is
 * left behind by a failure. */
char *kdh_crashmod_build(const KdhKernel *k, const char *source_dir, const char *cache_dir,
                         GError **error);

/* ---- the Debian disk image (debian.c) ---- */

/* A full Debian 12 guest for one kernel: a cached, read-only qcow2 disk
 * (ext4 on the whole device, root=/dev/vda) with systemd, kdump-tools,
 * kexec-tools, makedumpfile, the kernel with its modules, every collector's
 * units (disabled) and kdh's own marker unit; and the initramfs the first
 * kernel boots with, beside it. */
typedef struct {
	char *id;       /* the cache entry's name: "debian-<release>-<hash>" */
	char *dir;      /* the entry: CACHE_DIR/images/<id>/ */
	char *disk;     /* the base disk every case's overlay is backed by; only read */
	char *initrd;   /* the first kernel's initramfs (from the image's /boot) */
	char *release;  /* the kernel's release, as in the image's /lib/modules */
	gboolean built; /* this call made the entry (FALSE: it was cached) */
} KdhDiskImage;

void kdh_disk_image_free(KdhDiskImage *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhDiskImage, kdh_disk_image_free)

/* Builds (or finds in CACHE_DIR) the Debian image for kernel K from the
 * recipe in RECIPE_DIR (images/debian/).  The entry is keyed by a hash of
 * everything that goes in (recipe files, the package versions apt would
 * install, K's entry) and published atomically: a second call with the
 * same inputs does nothing, and a failed build leaves no entry.  FORCE_TCG
 * tells libguestfs's appliance not to try KVM.  Errors name the step that
 * failed (the archive unreachable, the kernel's modules missing, ...). */
KdhDiskImage *kdh_image_debian(const KdhKernel *k, const char *recipe_dir, const char *cache_dir,
                               gboolean force_tcg, GError **error);

/* The mirrors of the host's apt configuration in APT_DIR (/etc/apt):
 * sources.list and sources.list.d/ *.list (one-line format) and *.sources
 * (deb822), the way apt reads them.  Only Debian 12's suites ("bookworm",
 * "bookworm-*") of type deb with the component main are kept, each as a
 * one-line "deb [signed-by=PATH] URI SUITE main" (duplicates dropped):
 * other repositories of the host (nodesource, ...) are ignored.  Errors
 * name the file and line of a malformed entry, or say that none is left. */
GPtrArray *kdh_debian_mirrors(const char *apt_dir, GError **error);

/* Adds the mirrors of one sources file's TEXT (DEB822: a .sources file,
 * else one-line) to OUT, as kdh_debian_mirrors does; WHERE names the file
 * in errors. */
gboolean kdh_debian_sources_parse(const char *text, gboolean deb822, const char *where,
                                  GPtrArray *out, GError **error);

/* The package names of RECIPE_DIR/packages (one a line, '#' comments);
 * anything that is no Debian package name is an error naming the line. */
GPtrArray *kdh_debian_packages(const char *recipe_dir, GError **error);

/* What apt would install into an empty Debian 12 system from MIRRORS:
 * the Essential set, apt and INCLUDE (names, or name=version), without
 * recommends, as sorted "name version" lines.  Resolved by apt-get -s in
 * CACHE_DIR/images/.apt-bookworm (its own sources, lists and an empty dpkg
 * status; the lists are refreshed each time, which costs seconds).  Errors
 * say the archive could not be read or the packages not resolved. */
char *kdh_debian_resolve_versions(const char *cache_dir, GPtrArray *mirrors, GPtrArray *include,
                                  GError **error);

/* The Debian image's cache key: 16 hex digits of a hash over every file of
 * RECIPE_DIR (names and contents), VERSIONS (kdh_debian_resolve_versions)
 * and K's entry id and release. */
char *kdh_image_debian_key(const char *recipe_dir, const char *versions, const KdhKernel *k,
                           GError **error);

/* One cached image, as kdh image list shows it. */
typedef struct {
	char *id;      /* the entry's folder name */
	char *kind;    /* "mini" or "debian" */
	char *release; /* the kernel's release */
	char *dir;
	guint64 size; /* bytes on disk (allocated blocks: disks are sparse) */
	gint64 mtime; /* when it was made, seconds since the epoch */
} KdhImageInfo;

void kdh_image_info_free(KdhImageInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhImageInfo, kdh_image_info_free)

/* The complete images in CACHE_DIR/images (temporary folders of builds
 * in progress and other files left out), sorted by id.  An empty array
 * when there is no images folder. */
GPtrArray *kdh_image_list(const char *cache_dir, GError **error);

/* What one case asks of the guest: instructions for kdh's marker unit and
 * the collector's configuration.  Strings are kdh's own (the trigger
 * table, a validated scenario). */
typedef struct {
	const char *trigger;     /* the trigger's name, echoed in the "trigger" marker */
	const char *action;      /* sysrq | wait | module | lkdtm | oom (images/mini/init's) */
	const char *arg;         /* the module's type= or LKDTM's point; NULL: none */
	const char *sysctls;     /* "k.a=1,k.b=2", "" for none */
	gint cpu;                /* the CPU to fire on; -1: any */
	const char *collector;   /* kdump-tools | simple-kdump | arch-wiki | manual */
	guint dump_level;        /* for collectors that filter */
	const char *compression; /* lzo | zlib | none; likewise */
} KdhGuestSettings;

/* The files (KdhGuestFile) one case writes into its overlay of IMG before
 * boot so the guest runs S: kdh's instructions (/etc/kdh/case.conf), the
 * collector's configuration and the links enabling its units.  NULL with
 * an error for a collector the image does not have. */
GPtrArray *kdh_image_debian_settings(const KdhDiskImage *img, const KdhGuestSettings *s,
                                     GError **error);

/* The kernel command line IMG's first kernel boots with, less console=,
 * crashkernel= and panic= (the runner adds those): its root and what its
 * systemd needs.  Caller frees. */
char *kdh_image_debian_cmdline(const KdhDiskImage *img);

#endif
