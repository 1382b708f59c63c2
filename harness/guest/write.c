/* Writing a case's settings into its own overlay before boot: one
 * libguestfs appliance for all of a case's files (a launch costs 10-40 s
 * under TCG, the files themselves nothing). */
#include "guest/guest.h"
#include "guest/internal.h"

#include <string.h>

KdhGuestFile *kdh_guest_file_new(const char *path, const char *content, guint mode)
{
	KdhGuestFile *f = g_new0(KdhGuestFile, 1);

	f->path = g_strdup(path);
	f->len = strlen(content);
	f->content = g_strndup(content, f->len);
	f->mode = mode;
	return f;
}

KdhGuestFile *kdh_guest_link_new(const char *path, const char *target)
{
	KdhGuestFile *f = g_new0(KdhGuestFile, 1);

	f->path = g_strdup(path);
	f->target = g_strdup(target);
	return f;
}

void kdh_guest_file_free(KdhGuestFile *f)
{
	if (!f)
		return;
	g_free(f->path);
	g_free(f->target);
	g_free(f->content);
	g_free(f);
}

/* Puts F into the mounted disk of G, replacing what is at its path. */
static gboolean write_one(guestfs_h *g, const KdhGuestFile *f, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(f->path);
	g_autofree char *what = NULL;

	if (!g_path_is_absolute(f->path)) {
		g_set_error(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_FAILED,
		            "'%s' is not an absolute guest path", f->path);
		return FALSE;
	}
	what = g_strdup_printf("writing %s into the overlay", f->path);
	if (guestfs_mkdir_p(g, dir) < 0 || guestfs_rm_f(g, f->path) < 0)
		return guest_gfs_error(g, error, what);
	if (f->target)
		return guestfs_ln_s(g, f->target, f->path) == 0 || guest_gfs_error(g, error, what);
	return (guestfs_write(g, f->path, f->content, f->len) == 0 &&
	        guestfs_chmod(g, (int)f->mode, f->path) == 0) ||
	       guest_gfs_error(g, error, what);
}

gboolean kdh_guest_disk_write(const char *disk, GPtrArray *files, gboolean force_tcg,
                              GError **error)
{
	guestfs_h *g = guest_gfs_open(force_tcg, error);
	gboolean ok;

	if (!g)
		return FALSE;
	ok = guestfs_add_drive_opts(g, disk, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2", -1) == 0 ||
	     guest_gfs_error(g, error, "adding the case's disk");
	ok = ok && (guestfs_launch(g) == 0 || guest_gfs_error(g, error, "launching libguestfs"));
	/* One file system on the whole device, as every kdh disk has it. */
	ok = ok && (guestfs_mount(g, "/dev/sda", "/") == 0 ||
	            guest_gfs_error(g, error, "mounting the case's disk"));
	for (guint i = 0; ok && i < files->len; i++)
		ok = write_one(g, g_ptr_array_index(files, i), error);
	/* The shutdown flushes the writes: without it, an error is lost. */
	return guest_gfs_finish(g, ok, error);
}
