/* Making a guest disk from a root file system's tarball. */
#include "guest/guest.h"
#include "guest/internal.h"

#include <guestfs.h>

gboolean kdh_guest_disk_from_tar(const char *tar, const char *out, gint64 size, gboolean force_tcg,
                                 GError **error)
{
	guestfs_h *g = guest_gfs_new_ext4(out, size, force_tcg, error);
	gboolean ok;

	if (!g)
		return FALSE;
	/* The tarball's owners are numeric (mmdebstrap writes no names), so
	 * the appliance's own user table does not remap them. */
	ok = guestfs_tar_in_opts(g, tar, "/", GUESTFS_TAR_IN_OPTS_XATTRS, 1, -1) == 0 ||
	     guest_gfs_error(g, error, "unpacking the root file system");
	ok = ok && (guestfs_umount(g, "/") == 0 || guest_gfs_error(g, error, "unmounting"));
	return guest_gfs_finish(g, ok, error);
}
