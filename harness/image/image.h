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
	KDH_IMAGE_ERROR_FAILED,
	/* The kernel has no build tree to build the crash module against. */
	KDH_IMAGE_ERROR_UNSUPPORTED,
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

/* The crash module built against K (see images/crashmod/). */
char *kdh_crashmod_build(const KdhKernel *k, const char *source_dir, const char *cache_dir,
                         GError **error);

#endif
