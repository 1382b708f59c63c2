/* Inside vm/ only: what the two files of a remote host's storage share.
 * Nothing outside this folder includes it: the public interface is vm.h.
 *   remote.c  opening the host and its pool, the volume helpers below, and
 *             a case's own volumes (overlay, clone, download, delete, sweep)
 *   upload.c  this machine's files sent to the host and cached there by
 *             content (hashes, upload slots, markers: kdh_remote_upload) */
#ifndef KDH_VM_REMOTE_INTERNAL_H
#define KDH_VM_REMOTE_INTERNAL_H

#include "vm/vm.h"

#include <libvirt/libvirt.h>

struct KdhRemote {
	char *uri;
	virConnectPtr conn;
	virStoragePoolPtr pool;
	char *pool_name;
	char *pool_path;
	/* Volumes are files there (dir, fs, netfs pools): created empty, so
	 * their size tells a complete upload from a cut one. */
	gboolean file_pool;
	GMutex lock;       /* guards SLOTS */
	GHashTable *slots; /* volume name -> UploadSlot (upload.c) */
};

/* A local file at one end of a volume's stream: upload.c sends one,
 * kdh_remote_download receives into one. */
typedef struct {
	int fd;
	guint64 bytes; /* data bytes that travelled */
} StreamFile;

/* What a volume's XML says, refreshed by libvirt from the file. */
typedef struct {
	guint64 physical; /* the file's size */
	gint64 mtime;     /* seconds since the epoch; -1: the pool gives none */
	char *format;     /* "raw", "qcow2"... or NULL */
} VolState;

/* The code of libvirt's last error in this thread, VIR_ERR_OK when none.
 * Every libvirt call clears it: ask right after the call that failed. */
int kdh_remote_last_error_code(void);

/* Sets ERROR to WHAT (a printf format) followed by libvirt's last message;
 * returns FALSE, so a failure reads `return kdh_remote_error(...)`. */
gboolean kdh_remote_error(GError **error, const char *what, ...) G_GNUC_PRINTF(2, 3);

/* Sets ERROR (G_FILE_ERROR, from SAVED, an errno value) to
 * "WHAT PATH: <SAVED's message>"; returns FALSE. */
gboolean kdh_remote_errno_error(GError **error, int saved, const char *what, const char *path);

/* VOL's size, mtime and format (libvirt's description, refreshed from the
 * file) into OUT, whose format the caller frees with
 * kdh_remote_vol_state_clear; FALSE with ERROR set when libvirt cannot
 * describe VOL (its file gone behind libvirt's back) or says no size. */
gboolean kdh_remote_vol_state(virStorageVolPtr vol, VolState *out, GError **error);
/* Frees what kdh_remote_vol_state put in S; S may be zeroed, or cleared
 * already. */
void kdh_remote_vol_state_clear(VolState *s);

/* Volume NAME of the pool; NULL with ERROR unset when there is none. */
virStorageVolPtr kdh_remote_vol_find(KdhRemote *r, const char *name, GError **error);

/* The path of VOL, or NULL with an error. */
char *kdh_remote_vol_path(KdhRemote *r, virStorageVolPtr vol, GError **error);

#endif
