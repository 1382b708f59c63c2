/* This machine's files on a remote host (remote.c opens it): uploaded
 * through the pool's API and cached there by content.
 *
 * Cache entries are volumes named by content (kdh_remote_volume_name).  A
 * volume only counts as cached with its marker volume ("<name>.ok", empty,
 * made after a complete upload) and its full size: on a file pool a volume
 * is created empty and grows as the (sequential) upload writes it, so an
 * upload cut short leaves it short.  libvirt cannot rename a volume, nor
 * lock one across clients, so a volume found without these is either being
 * uploaded by another kdh or left by a killed one; it is waited for while
 * it changes and uploaded again once it has stopped (REMOTE_STALE_*). */
#include "vm/remote_internal.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER_SUFFIX ".ok"
#define HASH_BLOCK    (1 << 20)

/* A volume without its marker is someone's upload while it changes.  It is
 * a leftover once its mtime is REMOTE_STALE_AGE seconds old by our clock
 * (the fast answer for a killed run's volume; wrong only under a clock skew
 * that large), or once it has not changed while we watched for
 * REMOTE_STALE_WATCH seconds (clock-independent). */
#define REMOTE_STALE_AGE   300
#define REMOTE_STALE_WATCH 60
/* How often a volume another kdh uploads is looked at again. */
#define REMOTE_POLL_MS 500

/* Serialises this process's uploads of one volume. */
typedef struct {
	GMutex mutex;
	guint refs;
} UploadSlot;

/* ---- names ---- */

char *kdh_remote_volume_name(const char *sha256, const char *basename)
{
	GString *name;
	gsize len;

	if (!sha256 || strlen(sha256) != 64)
		return NULL;
	for (const char *c = sha256; *c; c++)
		if (!g_ascii_isdigit(*c) && !(*c >= 'a' && *c <= 'f'))
			return NULL;
	if (!basename)
		basename = "";
	len = MIN(strlen(basename), 64);
	name = g_string_new("kdh-");
	g_string_append_len(name, sha256, 32);
	g_string_append_c(name, '-');
	for (gsize i = 0; i < len; i++) {
		char c = basename[i];
		g_string_append_c(name, g_ascii_isalnum(c) || strchr("._-", c) ? c : '_');
	}
	return g_string_free(name, FALSE);
}

/* ---- volumes ---- */

/* Deletes volume NAME when it exists. */
static gboolean vol_remove(KdhRemote *r, const char *name, GError **error)
{
	GError *local = NULL;
	virStorageVolPtr vol = kdh_remote_vol_find(r, name, &local);
	gboolean ok;

	if (!vol) {
		if (local) {
			g_propagate_error(error, local);
			return FALSE;
		}
		return TRUE;
	}
	ok = virStorageVolDelete(vol, 0) == 0 ||
	     kdh_remote_last_error_code() == VIR_ERR_NO_STORAGE_VOL;
	if (!ok)
		kdh_remote_error(error, "deleting volume %s in pool %s on %s", name, r->pool_name,
		                 r->uri);
	virStorageVolFree(vol);
	return ok;
}

/* ---- streams ---- */

static int source_read(virStreamPtr st, char *data, size_t nbytes, void *opaque)
{
	StreamFile *f = opaque;
	ssize_t n;

	(void)st;
	do
		n = read(f->fd, data, nbytes);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		f->bytes += n;
	return (int)n;
}

/* Where the file's current section (data or hole) ends, as libvirt's own
 * virFileInData: the trailing hole, and the end, are a hole. */
static int source_hole(virStreamPtr st, int *in_data, long long *length, void *opaque)
{
	StreamFile *f = opaque;
	off_t cur = lseek(f->fd, 0, SEEK_CUR), data, next;

	(void)st;
	if (cur < 0)
		return -1;
	data = lseek(f->fd, cur, SEEK_DATA);
	if (data < 0) {
		if (errno != ENXIO)
			return -1;
		next = lseek(f->fd, 0, SEEK_END);
		*in_data = 0;
	} else if (data > cur) {
		next = data;
		*in_data = 0;
	} else {
		next = lseek(f->fd, cur, SEEK_HOLE);
		*in_data = 1;
	}
	if (next < 0 || lseek(f->fd, cur, SEEK_SET) < 0)
		return -1;
	*length = next - cur;
	return 0;
}

static int source_skip(virStreamPtr st, long long length, void *opaque)
{
	StreamFile *f = opaque;

	(void)st;
	return lseek(f->fd, length, SEEK_CUR) < 0 ? -1 : 0;
}

/* Sends SRC into VOL (sparse); *SENT gets the data bytes. */
static gboolean upload_file(KdhRemote *r, virStorageVolPtr vol, const char *src, guint64 *sent,
                            GError **error)
{
	StreamFile f = {.fd = open(src, O_RDONLY | O_CLOEXEC)};
	const char *name = virStorageVolGetName(vol); /* first: see kdh_remote_vol_state */
	virStreamPtr st = NULL;
	gboolean ok = FALSE;

	if (f.fd < 0)
		return kdh_remote_errno_error(error, errno, "opening", src);
	st = virStreamNew(r->conn, 0);
	if (!st || virStorageVolUpload(vol, st, 0, 0, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0) {
		kdh_remote_error(error, "uploading %s to volume %s on %s", src, name, r->uri);
	} else if (virStreamSparseSendAll(st, source_read, source_hole, source_skip, &f) < 0) {
		kdh_remote_error(error, "uploading %s to volume %s on %s", src, name, r->uri);
		virStreamAbort(st);
	} else if (virStreamFinish(st) < 0) {
		kdh_remote_error(error, "finishing the upload of %s to volume %s on %s", src, name,
		                 r->uri);
	} else {
		ok = TRUE;
	}
	if (st)
		virStreamFree(st);
	close(f.fd);
	*sent = f.bytes;
	return ok;
}

/* ---- uploads ---- */

static UploadSlot *slot_take(KdhRemote *r, const char *name)
{
	UploadSlot *slot;

	g_mutex_lock(&r->lock);
	slot = g_hash_table_lookup(r->slots, name);
	if (!slot) {
		slot = g_new0(UploadSlot, 1);
		g_mutex_init(&slot->mutex);
		g_hash_table_insert(r->slots, g_strdup(name), slot);
	}
	slot->refs++;
	g_mutex_unlock(&r->lock);
	g_mutex_lock(&slot->mutex);
	return slot;
}

static void slot_release(KdhRemote *r, const char *name, UploadSlot *slot)
{
	g_mutex_unlock(&slot->mutex);
	g_mutex_lock(&r->lock);
	if (--slot->refs == 0) {
		g_hash_table_remove(r->slots, name);
		g_mutex_clear(&slot->mutex);
		g_free(slot);
	}
	g_mutex_unlock(&r->lock);
}

/* The SHA-256 of the file PATH (lowercase hex) and its size, through
 * OpenSSL as util/manifest.c (SHA-NI: ~1.5 GB/s here, GLib's ~0.25). */
static char *file_sha256(const char *path, guint64 *size, GError **error)
{
	g_autofree guchar *buf = g_malloc(HASH_BLOCK);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	guint64 total = 0;
	EVP_MD_CTX *ctx;
	GString *hex;
	gboolean ok;
	ssize_t n;

	if (fd < 0) {
		kdh_remote_errno_error(error, errno, "opening", path);
		return NULL;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED, "SHA-256 is unavailable");
		EVP_MD_CTX_free(ctx);
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf, HASH_BLOCK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			EVP_MD_CTX_free(ctx);
			close(fd);
			kdh_remote_errno_error(error, saved, "reading", path);
			return NULL;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			break;
		total += n;
	}
	ok = n == 0 && EVP_DigestFinal_ex(ctx, md, &len) == 1;
	EVP_MD_CTX_free(ctx);
	close(fd);
	if (!ok) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED, "hashing %s failed", path);
		return NULL;
	}
	*size = total;
	hex = g_string_sized_new((gsize)len * 2);
	for (unsigned int i = 0; i < len; i++)
		g_string_append_printf(hex, "%02x", md[i]);
	return g_string_free(hex, FALSE);
}

/* What was sent for a local file, so the next upload of the same file
 * (every case of a run boots the same kernel from the same image, and a
 * run may spread them over several hosts) hashes nothing.  Keyed by the
 * file and the backing reference its copy got; valid while the file's
 * identity and times are those seen around its hashing. */
typedef struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
} FileStamp;

typedef struct {
	FileStamp stamp;
	char *sha256; /* of what is sent: LOCAL, or its copy with the new backing */
	guint64 size;
} HashMemo;

G_LOCK_DEFINE_STATIC(memo);
static GHashTable *memo_table; /* "LOCAL\nBACKING" -> HashMemo */

static gboolean file_stamp(const char *path, FileStamp *out)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return FALSE;
	*out = (FileStamp){.dev = st.st_dev,
	                   .ino = st.st_ino,
	                   .size = st.st_size,
	                   .mtime = st.st_mtim,
	                   .ctime = st.st_ctim};
	return TRUE;
}

static gboolean stamp_equal(const FileStamp *a, const FileStamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void memo_free(gpointer data)
{
	HashMemo *m = data;

	g_free(m->sha256);
	g_free(m);
}

/* The memo of KEY when STAMP still holds: its hash (caller frees). */
static char *memo_get(const char *key, const FileStamp *stamp, guint64 *size)
{
	HashMemo *m;
	char *sha = NULL;

	G_LOCK(memo);
	m = memo_table ? g_hash_table_lookup(memo_table, key) : NULL;
	if (m && stamp_equal(&m->stamp, stamp)) {
		sha = g_strdup(m->sha256);
		*size = m->size;
	}
	G_UNLOCK(memo);
	return sha;
}

static void memo_put(const char *key, const FileStamp *stamp, const char *sha, guint64 size)
{
	HashMemo *m = g_new0(HashMemo, 1);

	m->stamp = *stamp;
	m->sha256 = g_strdup(sha);
	m->size = size;
	G_LOCK(memo);
	if (!memo_table)
		memo_table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, memo_free);
	g_hash_table_replace(memo_table, g_strdup(key), m);
	G_UNLOCK(memo);
}

static char *volume_xml(const char *name, guint64 capacity, const char *mode)
{
	return g_markup_printf_escaped("<volume><name>%s</name>"
	                               "<capacity unit='bytes'>%" G_GUINT64_FORMAT "</capacity>"
	                               "<allocation unit='bytes'>0</allocation>"
	                               "<target><format type='raw'/><permissions><mode>%s</mode>"
	                               "</permissions></target></volume>",
	                               name, capacity, mode);
}

/* The file to send, as it was when hashed. */
typedef struct {
	const char *path;
	guint64 size;
	FileStamp stamp;
} Source;

/* Whether SRC is still the file that was hashed: one written meanwhile
 * would be cached under another content's name. */
static gboolean unchanged(const Source *src, const char *while_, GError **error)
{
	FileStamp now;

	if (file_stamp(src->path, &now) && stamp_equal(&now, &src->stamp))
		return TRUE;
	g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
	            "%s changed while it was %s; nothing was cached", src->path, while_);
	return FALSE;
}

typedef enum {
	FRESH_UPLOADED,
	FRESH_EXISTS, /* made by another kdh meanwhile */
	FRESH_FAILED,
} FreshResult;

/* Creates volume NAME and uploads SRC (SIZE bytes) into it, then its
 * marker. */
static FreshResult upload_fresh(KdhRemote *r, const char *name, const Source *src, guint64 *sent,
                                GError **error)
{
	g_autofree char *marker = g_strconcat(name, MARKER_SUFFIX, NULL);
	/* On a file pool the volume starts empty and grows with the upload
	 * (see the top); the data is the file as it is, raw to libvirt, so it
	 * runs no converter over it (a qcow2 stays the same bytes). */
	g_autofree char *xml = volume_xml(name, r->file_pool ? 0 : src->size, "0644");
	g_autofree char *marker_xml = volume_xml(marker, 0, "0644");
	virStorageVolPtr vol, mark;

	/* A marker left without its volume would vouch for ours too early. */
	if (!vol_remove(r, marker, error))
		return FRESH_FAILED;
	vol = virStorageVolCreateXML(r->pool, xml, 0);
	if (!vol) {
		if (kdh_remote_last_error_code() == VIR_ERR_STORAGE_VOL_EXIST)
			return FRESH_EXISTS;
		kdh_remote_error(error, "creating volume %s in pool %s on %s", name, r->pool_name,
		                 r->uri);
		return FRESH_FAILED;
	}
	if (!upload_file(r, vol, src->path, sent, error) || !unchanged(src, "uploaded", error)) {
		virStorageVolDelete(vol, 0);
		virStorageVolFree(vol);
		return FRESH_FAILED;
	}
	virStorageVolFree(vol);
	mark = virStorageVolCreateXML(r->pool, marker_xml, 0);
	if (!mark && kdh_remote_last_error_code() != VIR_ERR_STORAGE_VOL_EXIST) {
		kdh_remote_error(error, "creating volume %s in pool %s on %s", marker, r->pool_name,
		                 r->uri);
		return FRESH_FAILED;
	}
	if (mark)
		virStorageVolFree(mark);
	return FRESH_UPLOADED;
}

/* Whether volume NAME holds SIZE bytes and has its marker: complete. */
static gboolean vol_complete(KdhRemote *r, const char *name, const VolState *st, guint64 size,
                             GError **error)
{
	g_autofree char *marker = g_strconcat(name, MARKER_SUFFIX, NULL);
	virStorageVolPtr mark = kdh_remote_vol_find(r, marker, error);

	if (!mark)
		return FALSE;
	virStorageVolFree(mark);
	return st->physical == size;
}

/* Volume NAME with the content of SRC: found cached, or uploaded; its
 * path. */
static char *ensure_volume(KdhRemote *r, const char *name, const Source *src, guint64 *sent,
                           GError **error)
{
	gint64 seen_mtime = -1, seen_since = 0;
	guint64 seen_size = 0;
	guint vanished = 0;

	*sent = 0;
	for (;;) {
		g_autoptr(GError) err = NULL;
		VolState st = {0};
		virStorageVolPtr vol = kdh_remote_vol_find(r, name, &err);
		gboolean complete, stale;
		gint64 now;
		char *path;

		if (!vol && !err) {
			switch (upload_fresh(r, name, src, sent, &err)) {
			case FRESH_UPLOADED:
				vol = kdh_remote_vol_find(r, name, &err);
				if (!vol && !err)
					kdh_remote_error(&err, "volume %s vanished on %s", name,
					                 r->uri);
				break;
			case FRESH_EXISTS:
				continue;
			case FRESH_FAILED:
				break;
			}
			if (!vol) {
				g_propagate_error(error, g_steal_pointer(&err));
				return NULL;
			}
			path = kdh_remote_vol_path(r, vol, error);
			virStorageVolFree(vol);
			return path;
		}
		if (!vol) {
			g_propagate_error(error, g_steal_pointer(&err));
			return NULL;
		}
		if (!kdh_remote_vol_state(vol, &st, &err)) {
			/* Its file may be gone behind libvirt's back: the pool
			 * forgets it once refreshed.  Never deleted on that
			 * ground: the failure may be libvirt's alone, and the
			 * volume a complete one or another kdh's upload. */
			virStoragePoolRefresh(r->pool, 0);
			virStorageVolFree(vol);
			if (++vanished > 3) {
				g_propagate_error(error, g_steal_pointer(&err));
				return NULL;
			}
			continue;
		}
		complete = vol_complete(r, name, &st, src->size, &err);
		if (complete || err) {
			path = complete ? kdh_remote_vol_path(r, vol, &err) : NULL;
			kdh_remote_vol_state_clear(&st);
			virStorageVolFree(vol);
			if (!path)
				g_propagate_error(error, g_steal_pointer(&err));
			return path;
		}
		/* Another kdh's upload while it changes; a leftover once not. */
		now = g_get_monotonic_time();
		if (st.mtime != seen_mtime || st.physical != seen_size) {
			seen_mtime = st.mtime;
			seen_size = st.physical;
			seen_since = now;
		}
		/* A pool that gives no mtime (-1) leaves only the watch. */
		stale = (st.mtime >= 0 &&
		         g_get_real_time() / G_USEC_PER_SEC - st.mtime >= REMOTE_STALE_AGE) ||
		        now - seen_since >= (gint64)REMOTE_STALE_WATCH * G_USEC_PER_SEC;
		kdh_remote_vol_state_clear(&st);
		if (stale && virStorageVolDelete(vol, 0) < 0 &&
		    kdh_remote_last_error_code() != VIR_ERR_NO_STORAGE_VOL) {
			kdh_remote_error(error, "deleting the incomplete volume %s on %s", name,
			                 r->uri);
			virStorageVolFree(vol);
			return NULL;
		}
		virStorageVolFree(vol);
		if (!stale)
			g_usleep(REMOTE_POLL_MS * G_TIME_SPAN_MILLISECOND);
	}
}

/* Volume NAME's path when it is there complete (SIZE bytes, marked);
 * NULL otherwise, with ERROR set only when libvirt could not be asked. */
static char *cached_path(KdhRemote *r, const char *name, guint64 size, GError **error)
{
	virStorageVolPtr vol = kdh_remote_vol_find(r, name, error);
	VolState st = {0};
	char *path = NULL;

	if (!vol)
		return NULL;
	if (kdh_remote_vol_state(vol, &st, NULL) && vol_complete(r, name, &st, size, error))
		path = kdh_remote_vol_path(r, vol, error);
	kdh_remote_vol_state_clear(&st);
	virStorageVolFree(vol);
	return path;
}

/* Copies LOCAL into a new private folder (*TMP) and points the copy's
 * backing reference at BACKING: the file to send.  NULL with an error. */
static char *with_backing(const char *local, const char *backing, char **tmp, GError **error)
{
	g_autofree char *base = g_path_get_basename(local);
	char *copy;

	*tmp = g_dir_make_tmp("kdh-upload-XXXXXX", error);
	if (!*tmp)
		return NULL;
	copy = g_build_filename(*tmp, base, NULL);
	if (!kdh_copy_file(local, copy, 0600, error) ||
	    !kdh_qcow2_set_backing(copy, backing, error)) {
		g_free(copy);
		kdh_rm_rf(*tmp);
		g_clear_pointer(tmp, g_free);
		return NULL;
	}
	return copy;
}

char *kdh_remote_upload(KdhRemote *r, const char *local, const char *backing, guint64 *uploaded,
                        GError **error)
{
	g_autofree char *key = g_strconcat(local, "\n", backing ? backing : "", NULL);
	g_autofree char *base = g_path_get_basename(local);
	g_autofree char *tmp = NULL, *copy = NULL, *sha = NULL, *name = NULL;
	g_autoptr(GError) err = NULL;
	FileStamp before, after;
	guint64 size = 0, sent = 0;
	Source src = {0};
	UploadSlot *slot;
	char *path = NULL;

	if (!file_stamp(local, &before)) {
		kdh_remote_errno_error(error, errno, "reading", local);
		return NULL;
	}
	/* Hashed before, in this process: only the host is asked. */
	sha = memo_get(key, &before, &size);
	if (sha && (name = kdh_remote_volume_name(sha, base))) {
		slot = slot_take(r, name);
		path = cached_path(r, name, size, &err);
		slot_release(r, name, slot);
		if (err) {
			g_propagate_error(error, g_steal_pointer(&err));
			return NULL;
		}
		if (path) {
			if (uploaded)
				*uploaded = 0;
			return path;
		}
		g_clear_pointer(&sha, g_free);
		g_clear_pointer(&name, g_free);
	}
	/* With BACKING the copy's own backing reference is the host's path,
	 * so its content (and name) differs from LOCAL's. */
	if (backing && !(copy = with_backing(local, backing, &tmp, error)))
		return NULL;
	src.path = copy ? copy : local;
	if (!file_stamp(src.path, &src.stamp)) {
		kdh_remote_errno_error(error, errno, "reading", src.path);
	} else if ((sha = file_sha256(src.path, &src.size, error)) &&
	           unchanged(&src, "read", error)) {
		if (file_stamp(local, &after) && stamp_equal(&before, &after))
			memo_put(key, &before, sha, src.size);
		name = kdh_remote_volume_name(sha, base);
		slot = slot_take(r, name);
		path = ensure_volume(r, name, &src, &sent, error);
		slot_release(r, name, slot);
	}
	if (tmp)
		kdh_rm_rf(tmp);
	if (path && uploaded)
		*uploaded = sent;
	return path;
}
