/* kdh guest images.  The mini guest is an initramfs assembled from host
 * binaries (busybox-static, kexec, makedumpfile and the shared libraries each
 * needs), the kernel's own modules in dependency order, and images/mini/init.
 * It serves as both the first kernel's and the capture kernel's root. */
#ifndef KDH_IMAGE_H
#define KDH_IMAGE_H

#include <glib.h>

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

#endif
