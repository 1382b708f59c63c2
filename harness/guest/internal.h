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

#endif
