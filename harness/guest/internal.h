/* Inside guest/ only: the libguestfs handle every file opens the same way. */
#ifndef KDH_GUEST_INTERNAL_H
#define KDH_GUEST_INTERNAL_H

#include <glib.h>
#include <guestfs.h>

/* Sets ERROR (KDH_GUEST_ERROR_FAILED) to "WHAT: <G's last error>" and
 * returns FALSE, so a chain of calls reads `ok = call() == 0 || error(...)`.
 * G may be NULL (no handle: a generic message). */
gboolean guest_gfs_error(guestfs_h *g, GError **error, const char *what);

/* A handle on the direct backend that prints nothing itself (errors reach
 * the caller through guest_gfs_error) and, with FORCE_TCG, does not try KVM.
 * NULL with ERROR set when libguestfs cannot make one. */
guestfs_h *guest_gfs_open(gboolean force_tcg, GError **error);

/* A handle with OUT, a new qcow2 disk of SIZE bytes, launched, one ext4
 * file system on the whole device mounted at /; NULL with ERROR set (the
 * handle closed) when any step fails.  The caller fills it and ends with
 * guest_gfs_finish. */
guestfs_h *guest_gfs_new_ext4(const char *out, gint64 size, gboolean force_tcg, GError **error);

/* Flushes and closes G (shutdown, so a late write error is not lost): OK
 * when everything before went well, FALSE otherwise (ERROR set by the
 * step that failed, or here). */
gboolean guest_gfs_finish(guestfs_h *g, gboolean ok, GError **error);

#endif
