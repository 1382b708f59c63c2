/* Making a guest disk from a root file system's tarball. */
#include "guest/guest.h"
#include "guest/internal.h"

#include <guestfs.h>

gboolean kdh_guest_disk_from_tar(const char *tar, const char *out, gint64 size, gboolean force_tcg,
                                 GError **error)
{
	guestfs_h *g = guest_gfs_open(force_tcg, error);
	gboolean ok;

	ok = g && (guestfs_disk_create(g, out, "qcow2", size, -1) == 0 ||
	           guest_gfs_error(g, error, "creating the disk"));
	ok = ok &&
	     (guestfs_add_drive_opts(g, out, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1) == 0 ||
	      guest_gfs_error(g, error, "adding the disk"));
	ok = ok && (guestfs_launch(g) == 0 || guest_gfs_error(g, error, "launching libguestfs"));
	ok = ok && (guestfs_mkfs(g, "ext4", "/dev/sda") == 0 ||
	            guest_gfs_error(g, error, "making the ext4 file system"));
	ok =
	    ok && (guestfs_mount(g, "/dev/sda", "/") == 0 || guest_gfs_error(g, error, "mounting"));
	/* The tarball's owners are numeric (mmdebstrap writes no names), so
	 * the appliance's own user table does not remap them. */
	ok = ok && (guestfs_tar_in_opts(g, tar, "/", GUESTFS_TAR_IN_OPTS_XATTRS, 1, -1) == 0 ||
	            guest_gfs_error(g, error, "unpacking the root file system"));
	ok = ok && (guestfs_umount(g, "/") == 0 || guest_gfs_error(g, error, "unmounting"));
	ok = ok && (guestfs_shutdown(g) == 0 || guest_gfs_error(g, error, "closing the disk"));
	if (g)
		guestfs_close(g);
	return ok;
}
