/* Shared between the files of harness/kernel/ only; other layers include
 * kernel/kernel.h. */
#ifndef KDH_KERNEL_INTERNAL_H
#define KDH_KERNEL_INTERNAL_H

#include "kernel/kernel.h"
#include "util/util.h"

/* The metadata file of every entry. */
#define KDH_KERNEL_META "kdh-kernel.ini"

/* $cache/kernels, created when missing. */
char *kernel_cache_kernels(const char *cache_dir, GError **error);

/* Loads the complete entry ID under KERNELS; REF is what the caller asked
 * for (NULL: the entry's canonical ref). */
KdhKernel *kernel_entry_load(const char *kernels, const char *id, const char *ref, GError **error);

/* Writes ROOT/kdh-kernel.ini.  KEYS and VALUES are NULL-terminated pairs. */
gboolean kernel_entry_write_meta(const char *root, const char *const *keys,
                                 const char *const *values, GError **error);

/* The value of FIELD in apt-cache's record for PACKAGE's candidate. */
char *kernel_apt_field(const char *package, const char *field, GError **error);

/* apt-get download PACKAGE=VERSION into DIR; returns the .deb's path. */
char *kernel_apt_download(const char *package, const char *version, const char *dir,
                          GError **error);

/* Makes LIB/modules/RELEASE usable by the image builder: decompresses
 * .ko.{xz,zst,gz}, makes sure modules.builtin and modules.order exist, runs
 * depmod -b ROOT. */
gboolean kernel_finish_modules(const char *root, const char *release, GError **error);

/* TRUE when RELEASE can name files and be a command's argument: 1-64
 * characters (uname's limit) of [A-Za-z0-9._+~-], starting with a letter
 * or digit (so never "..", "-x" or ".hidden").  Otherwise FALSE with an
 * error naming WHERE it came from. */
gboolean kernel_release_check(const char *release, const char *where, GError **error);

/* Bounds for unpacking a kernel package: Debian's amd64 image package is
 * ~400 MB in ~4,500 files, the -dbg vmlinux ~600 MB. */
extern const KdhUnpackOptions kernel_package_limits;

/* A decompressed module larger than this is refused (the largest real
 * ones are tens of MB, even with DWARF). */
#define KERNEL_MODULE_MAX_BYTES ((guint64)512 << 20)

#endif
