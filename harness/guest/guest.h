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

/* Makes OUT, a new qcow2 disk of SIZE bytes (sparse) holding one ext4 file
 * system on the whole device, filled with the tarball TAR (numeric owners,
 * as mmdebstrap writes them), with one libguestfs appliance.  On failure
 * OUT may be left half made: the caller's cache entry discards it. */
gboolean kdh_guest_disk_from_tar(const char *tar, const char *out, gint64 size, gboolean force_tcg,
                                 GError **error);

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

/* Reads one disk as kdh_guest_fetch_crash_batch reads each of its disks:
 * finds the newest folder in /var/crash of DISK (by mtime, then name) and
 * copies its regular files into DEST_DIR, which must exist.  Returns NULL
 * with KDH_GUEST_ERROR_NO_CRASH when there is no dump folder. */
KdhCrashFiles *kdh_guest_fetch_crash(const char *disk, const char *dest_dir,
                                     const char *const *reserved, gboolean force_tcg,
                                     GError **error);

/* The most disks one batch reads.  Measured with bench/retrieve.sh (README):
 * retrieval per case fell from 32 s alone to 17, 12 and 10 s with 2, 4 and 8
 * disks per appliance; past 8 the launch's share shrinks little against a
 * disk's own 3-4 s, while a batch holds its first case's result until its
 * last disk is read.  libguestfs itself takes up to 255 drives; the
 * appliance keeps its default memory (1280 MiB): one disk is mounted at a
 * time and files are streamed out. */
#define KDH_GUEST_BATCH_MAX 8

/* Caps on what one disk's retrieval examines and copies: a guest decides
 * what its disk holds.  A folder whose directory file is larger than
 * KDH_GUEST_DIR_BYTES_MAX is not listed at all: libguestfs lists a folder
 * of a million names (measured: its whole list, tens of MiB, in kdh's
 * memory, for a dump folder that holds a few files), and a directory's
 * size bounds the names it holds before any is read (ext4 takes at least
 * 8 bytes more than each name, btrfs counts each name twice); 1 MiB is
 * tens of thousands of names.  At most KDH_GUEST_ENTRIES_MAX entries of a
 * folder are looked at (more: an error, since the dump could be any of
 * them), at most KDH_GUEST_FILES_MAX files copied (more: skipped). */
#define KDH_GUEST_DIR_BYTES_MAX ((gint64)1 << 20)
#define KDH_GUEST_ENTRIES_MAX   4096
#define KDH_GUEST_FILES_MAX     64
/* What a dump folder may hold in all when the caller gives no cap (it
 * knows the guest's memory: kdh_guest_dump_cap). */
#define KDH_GUEST_DUMP_MAX_DEFAULT ((guint64)16 << 30)
/* Room always left free on the host beside a copy. */
#define KDH_GUEST_HOST_RESERVE ((guint64)64 << 20)

/* The most a dump of a guest of MEMORY bytes takes, with what lies beside
 * it (headers, dmesg, logs): its memory plus a quarter and 64 MiB.  A
 * vmcore holds at most the guest's memory and its ELF headers. */
guint64 kdh_guest_dump_cap(guint64 memory);

/* Whether DIR's file system has room for BYTES more with
 * KDH_GUEST_HOST_RESERVE left over (statvfs); FALSE with an error naming
 * WHAT, DIR, the size and the room there is. */
gboolean kdh_guest_room_for(const char *dir, guint64 bytes, const char *what, GError **error);

/* One disk of a batch: the caller fills the inputs, the batch the outputs
 * (release those with kdh_guest_fetch_clear). */
typedef struct {
	const char *disk;            /* in: a qcow2 file, opened read-only */
	const char *dest_dir;        /* in: an existing folder, this disk's files only */
	const char *const *reserved; /* in: NULL-terminated names kdh writes in DEST_DIR, or NULL */
	/* in: NULL: the dump is in the newest folder of /var/crash; else it is
	 * the newest regular file directly in /var/crash whose name starts with
	 * this (the Arch wiki's crashdump-<date>) */
	const char *file_prefix;
	/* in: the most bytes its files may take in all (each file too); 0:
	 * KDH_GUEST_DUMP_MAX_DEFAULT */
	guint64 max_bytes;
	KdhCrashFiles *files; /* out: what was copied, or NULL with ERROR set */
	GError *error;        /* out: KDH_GUEST_ERROR_NO_CRASH: no dump folder */
	double seconds;       /* out: this disk's own time (mount, look, copy, unmount) */
} KdhGuestFetch;

/* Releases ITEM's outputs (files, error) and zeroes them; inputs untouched. */
void kdh_guest_fetch_clear(KdhGuestFetch *item);

/* Reads the N (1..KDH_GUEST_BATCH_MAX) disks of ITEMS with one libguestfs
 * appliance: every disk is added read-only before launch, then each is
 * mounted in turn, its newest /var/crash folder copied into its own dest_dir
 * and unmounted before the next.  Guest names are made safe with
 * kdh_safe_name (util.h); a file whose safe name is in the item's reserved
 * list or already exists in dest_dir (two names that sanitise alike) is not
 * copied, with the reason in ->skipped; only regular files of that one
 * folder are copied, never links, subfolders, devices, FIFOs or sockets,
 * and never through a link (/var, /var/crash and the folder itself must be
 * real folders).  The caps above hold: a file over the item's max_bytes,
 * or one that would take the total past it, and files past
 * KDH_GUEST_FILES_MAX are skipped saying so; a folder too large to list
 * or with more than KDH_GUEST_ENTRIES_MAX entries fails the item naming
 * the folder and the cap; a copy that would leave the host's folder
 * without KDH_GUEST_HOST_RESERVE free fails the item before it starts.
 *
 * Each item gets its own outcome: a disk without a file system, without a
 * dump folder or whose copy fails fails that item only.  Returns FALSE with
 * ERROR when the appliance itself fails (launch, or it dies on a disk): the
 * items not read yet get that error too.  When *CANCELLED (may be NULL)
 * becomes non-zero, no further disk is started: the items not read get
 * KDH_GUEST_ERROR_CANCELLED and so does ERROR.  LAUNCH_SECONDS (may be
 * NULL) receives the appliance's launch time, shared by all items. */
gboolean kdh_guest_fetch_crash_batch(KdhGuestFetch *items, guint n, gboolean force_tcg,
                                     volatile sig_atomic_t *cancelled, double *launch_seconds,
                                     GError **error);

/* Makes every libguestfs handle this process creates from now on keep its
 * temporary folder in DIR (the run's own VM folder), so a killed run's are
 * removed with that folder by the next run (kdh_vm_run_dir_new); NULL
 * restores libguestfs's default.  Call before any handle exists: handles
 * are created from several threads. */
void kdh_guest_set_tmpdir(const char *dir);

/* Kills the appliance of every batch running in this process, so each
 * returns within moments instead of finishing a launch or a copy (it then
 * fails as an appliance failure: set the batch's *cancelled first to have it
 * reported as a cancellation).  Async-signal-safe: a SIGINT handler may
 * call it.  A batch whose appliance has not started yet is not stopped by
 * it; it notices *cancelled when its launch returns. */
void kdh_guest_cancel(void);

/* ---- writing into a disk (write.c) ---- */

/* One file (or symlink) to put into a guest disk. */
typedef struct {
	char *path;    /* absolute, in the guest; its folders are made */
	char *target;  /* non-NULL: a symlink to TARGET; CONTENT unused */
	char *content; /* LEN bytes */
	gsize len;
	guint mode; /* e.g. 0644 */
} KdhGuestFile;

KdhGuestFile *kdh_guest_file_new(const char *path, const char *content, guint mode);
KdhGuestFile *kdh_guest_link_new(const char *path, const char *target);
void kdh_guest_file_free(KdhGuestFile *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhGuestFile, kdh_guest_file_free)

/* Writes FILES (KdhGuestFile*) into DISK (a case's own overlay, never a
 * base), replacing what is there, with one libguestfs appliance. */
gboolean kdh_guest_disk_write(const char *disk, GPtrArray *files, gboolean force_tcg,
                              GError **error);

typedef enum {
	KDH_GUEST_ERROR_FAILED,
	KDH_GUEST_ERROR_NO_CRASH,
	KDH_GUEST_ERROR_CANCELLED,
} KdhGuestError;

#endif
