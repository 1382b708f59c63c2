/* kdh guest disks through libguestfs: the ext4 disk the guest writes its
 * dumps to, per-case overlays of it, and retrieval of /var/crash afterwards.
 *
 * Everything read from a guest disk is guest-controlled: names are
 * sanitised and nothing is ever written outside the destination folder. */
#ifndef KDH_GUEST_H
#define KDH_GUEST_H

#include <glib.h>
#include <signal.h>

#define KDH_GUEST_ERROR (kdh_guest_error_quark())
GQuark kdh_guest_error_quark(void);

/* Returns the cached base disk (qcow2, ext4 on the whole device, with an
 * empty /var/crash), creating it through libguestfs when missing.  FORCE_TCG
 * tells libguestfs's appliance not to try KVM. */
char *kdh_guest_disk_base(const char *cache_dir, gboolean force_tcg, GError **error);

/* Creates OVERLAY, a qcow2 backed by BASE, so every case starts clean and the
 * base is never written. */
gboolean kdh_guest_disk_overlay(const char *base, const char *overlay, GError **error);

typedef struct {
	char *crash_dir;    /* the guest's folder, e.g. "/var/crash/20261126T091500Z" */
	GPtrArray *files;   /* local paths of the regular files copied */
	GPtrArray *skipped; /* "name: why" for entries not copied */
} KdhCrashFiles;

void kdh_crash_files_free(KdhCrashFiles *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhCrashFiles, kdh_crash_files_free)

/* Opens DISK read-only, finds the newest folder in /var/crash (by mtime,
 * then name) and copies its regular files into DEST_DIR, which must exist.
 * Names are made safe with kdh_safe_name (util.h).
 * Files whose (sanitised) name is in RESERVED (NULL-terminated; the names
 * the caller writes there itself) or already exists are skipped, with the
 * reason in ->skipped.  Returns NULL with KDH_GUEST_ERROR_NO_CRASH when
 * there is no dump folder. */
KdhCrashFiles *kdh_guest_fetch_crash(const char *disk, const char *dest_dir,
                                     const char *const *reserved, gboolean force_tcg,
                                     GError **error);

/* One disk of a batch read by one appliance. */
typedef struct {
	const char *disk;            /* in: a qcow2 overlay */
	const char *dest_dir;        /* in: where its files go */
	const char *const *reserved; /* in: as for kdh_guest_fetch_crash */
	KdhCrashFiles *files;        /* out: on success */
	GError *error;               /* out: this disk's own failure */
	double seconds;              /* out: this disk's own time */
} KdhGuestFetch;

/* kdh_guest_fetch_crash for N disks with one appliance.  FALSE when the
 * appliance itself failed (each item's error says so too).  Stops before
 * the next disk once *CANCELLED (may be NULL) is set. */
gboolean kdh_guest_fetch_crash_batch(KdhGuestFetch *items, guint n, gboolean force_tcg,
                                     volatile sig_atomic_t *cancelled, double *launch_seconds,
                                     GError **error);

typedef enum {
	KDH_GUEST_ERROR_FAILED,
	KDH_GUEST_ERROR_NO_CRASH,
} KdhGuestError;

#endif
