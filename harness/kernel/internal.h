/* Shared between the files of harness/kernel/ only; other layers include
 * kernel/kernel.h. */
#ifndef KDH_KERNEL_INTERNAL_H
#define KDH_KERNEL_INTERNAL_H

#include "kernel/kernel.h"

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

/* A fresh temporary folder DIR/.tmp-<PURPOSE>-XXXXXX.  HOLDING_LOCK: the
 * caller holds the lock that covers PURPOSE, so earlier .tmp-<PURPOSE>-*
 * folders are leftovers of killed runs and are removed first. */
char *kernel_make_tmp(const char *dir, const char *purpose, gboolean holding_lock, GError **error);

/* The value of FIELD in apt-cache's record for PACKAGE's candidate. */
char *kernel_apt_field(const char *package, const char *field, GError **error);

/* apt-get download PACKAGE=VERSION into DIR; returns the .deb's path. */
char *kernel_apt_download(const char *package, const char *version, const char *dir,
                          GError **error);

/* Makes LIB/modules/RELEASE usable by the image builder: decompresses
 * .ko.{xz,zst,gz}, makes sure modules.builtin and modules.order exist, runs
 * depmod -b ROOT. */
gboolean kernel_finish_modules(const char *root, const char *release, GError **error);

/* Copies SRC to DEST (a file). */
gboolean kernel_copy_file(const char *src, const char *dest, GError **error);

/* Runs "bash -o pipefail -c SCRIPT" in CWD. */
gboolean kernel_sh(const char *script, const char *cwd, GError **error);

#endif
