/* A remote host's storage: kernels, initrds and disks reach a libvirt host
 * that shares no file system with us through its storage pool API, cached
 * there by content, and a case's disk comes back the same way.
 *
 * Cache entries are volumes named by content (kdh_remote_volume_name).  A
 * volume only counts as cached with its marker volume ("<name>.ok", empty,
 * made after a complete upload) and its full size: on a file pool a volume
 * is created empty and grows as the (sequential) upload writes it, so an
 * upload cut short leaves it short.  libvirt cannot rename a volume, nor
 * lock one across clients, so a volume found without these is either being
 * uploaded by another kdh or left by a killed one; it is waited for while
 * it changes and uploaded again once it has stopped (REMOTE_STALE_*). */
#include "vm/vm.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_POOL_PATH "/var/lib/libvirt/kdh"
#define MARKER_SUFFIX     ".ok"
#define HASH_BLOCK        (1 << 20)

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
	GHashTable *slots; /* volume name -> UploadSlot */
};

/* libvirt prints every error to stderr unless told not to; we report them
 * ourselves, once, as GErrors. */
static void libvirt_quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static int last_error_code(void)
{
	virErrorPtr e = virGetLastError();

	return e ? e->code : VIR_ERR_OK;
}

/* Sets ERROR to WHAT (a printf format) followed by libvirt's last message. */
static gboolean remote_error(GError **error, const char *what, ...) G_GNUC_PRINTF(2, 3);
static gboolean remote_error(GError **error, const char *what, ...)
{
	g_autofree char *said = g_strdup(virGetLastErrorMessage());
	g_autofree char *head = NULL;
	va_list ap;

	va_start(ap, what);
	head = g_strdup_vprintf(what, ap);
	va_end(ap);
	g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED, "%s: %s", head, said);
	return FALSE;
}

static gboolean errno_error(GError **error, int saved, const char *what, const char *path)
{
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s %s: %s", what, path,
	            g_strerror(saved));
	return FALSE;
}

/* A string libvirt allocated, as a GLib string. */
static char *take_libvirt_string(char *s)
{
	char *out = g_strdup(s);

	free(s);
	return out;
}

/* The string value of XPath EXPR in the XML text XML, NULL when absent or
 * empty, or when XML does not parse. */
static char *xml_value(const char *xml, const char *expr)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr obj;
	xmlChar *s;
	char *out = NULL;

	if (!xml)
		return NULL;
	doc = xmlReadMemory(xml, (int)strlen(xml), "libvirt.xml", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return NULL;
	ctx = xmlXPathNewContext(doc);
	obj = ctx ? xmlXPathEvalExpression((const xmlChar *)expr, ctx) : NULL;
	s = obj ? xmlXPathCastToString(obj) : NULL;
	if (s && *s)
		out = g_strdup((const char *)s);
	xmlFree(s);
	xmlXPathFreeObject(obj);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return out;
}

/* ---- opening ---- */

static char *pool_xml(const char *name, const char *path)
{
	return g_markup_printf_escaped("<pool type='dir'><name>%s</name><target><path>%s</path>"
	                               "<permissions><mode>0711</mode></permissions></target>"
	                               "</pool>",
	                               name, path);
}

/* kdh's own pool at PATH: found running, started when defined, else made
 * transient (and its folder with it).  Two kdh opening it at once: the
 * loser's create fails and it finds the winner's. */
static virStoragePoolPtr own_pool(KdhRemote *r, const char *path, GError **error)
{
	g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, path, -1);
	g_autofree char *name = g_strdup_printf("kdh-%.12s", sum);
	g_autofree char *xml = pool_xml(name, path);
	g_autofree char *said = NULL;
	virStoragePoolPtr pool = virStoragePoolLookupByName(r->conn, name);

	if (!pool) {
		if (last_error_code() != VIR_ERR_NO_STORAGE_POOL) {
			remote_error(error, "looking up storage pool %s on %s", name, r->uri);
			return NULL;
		}
		pool = virStoragePoolCreateXML(r->conn, xml, VIR_STORAGE_POOL_CREATE_WITH_BUILD);
		if (pool)
			return pool;
		said = g_strdup(virGetLastErrorMessage());
		pool = virStoragePoolLookupByName(r->conn, name);
		if (!pool) {
			g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
			            "creating storage pool %s at %s on %s: %s", name, path, r->uri,
			            said);
			return NULL;
		}
	}
	/* Defined by an admin, or made by an older kdh, and not running. */
	if (virStoragePoolIsActive(pool) == 0 &&
	    virStoragePoolCreate(pool, VIR_STORAGE_POOL_CREATE_WITH_BUILD) < 0 &&
	    virStoragePoolIsActive(pool) != 1) {
		remote_error(error, "starting storage pool %s on %s", name, r->uri);
		virStoragePoolFree(pool);
		return NULL;
	}
	return pool;
}

KdhRemote *kdh_remote_open(const char *uri, const char *pool, const char *pool_path, GError **error)
{
	g_autoptr(KdhRemote) r = g_new0(KdhRemote, 1);
	const char *path = pool_path ? pool_path : DEFAULT_POOL_PATH;
	g_autofree char *xml = NULL, *type = NULL;

	g_mutex_init(&r->lock);
	r->slots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	r->uri = g_strdup(uri);
	virSetErrorFunc(NULL, libvirt_quiet);
	r->conn = virConnectOpen(uri);
	if (!r->conn) {
		remote_error(error, "connecting to %s", uri);
		return NULL;
	}
	if (pool) {
		r->pool = virStoragePoolLookupByName(r->conn, pool);
		if (!r->pool) {
			remote_error(error, "looking up storage pool %s on %s", pool, uri);
			return NULL;
		}
		if (virStoragePoolIsActive(r->pool) != 1) {
			g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
			            "storage pool %s on %s is not running", pool, uri);
			return NULL;
		}
	} else {
		if (!g_path_is_absolute(path)) {
			g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
			            "pool folder %s is not an absolute path", path);
			return NULL;
		}
		r->pool = own_pool(r, path, error);
		if (!r->pool)
			return NULL;
	}
	r->pool_name = g_strdup(virStoragePoolGetName(r->pool));
	xml = take_libvirt_string(virStoragePoolGetXMLDesc(r->pool, 0));
	r->pool_path = xml_value(xml, "string(/pool/target/path)");
	type = xml_value(xml, "string(/pool/@type)");
	if (!r->pool_path || !type) {
		remote_error(error, "reading storage pool %s on %s", r->pool_name, uri);
		return NULL;
	}
	if (!pool && !g_str_equal(r->pool_path, path)) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
		            "storage pool %s on %s is at %s, not %s", r->pool_name, uri,
		            r->pool_path, path);
		return NULL;
	}
	r->file_pool =
	    g_str_equal(type, "dir") || g_str_equal(type, "fs") || g_str_equal(type, "netfs");
	/* A pool found running may not know files changed since it last
	 * looked.  Refused while another client builds a volume there; then
	 * the volume checks (each refreshes its volume) make up for it. */
	virStoragePoolRefresh(r->pool, 0);
	return g_steal_pointer(&r);
}

void kdh_remote_free(KdhRemote *r)
{
	if (!r)
		return;
	if (r->pool)
		virStoragePoolFree(r->pool);
	if (r->conn)
		virConnectClose(r->conn);
	g_hash_table_destroy(r->slots);
	g_mutex_clear(&r->lock);
	g_free(r->uri);
	g_free(r->pool_name);
	g_free(r->pool_path);
	g_free(r);
}

const char *kdh_remote_pool_path(const KdhRemote *r)
{
	return r->pool_path;
}

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

/* What a volume's XML says, refreshed by libvirt from the file. */
typedef struct {
	guint64 physical; /* the file's size */
	gint64 mtime;     /* seconds since the epoch */
	char *format;     /* "raw", "qcow2"... or NULL */
} VolState;

static void vol_state_clear(VolState *s)
{
	g_clear_pointer(&s->format, g_free);
}

/* Strict: a number libvirt wrote, digits only up to an optional fraction. */
static gboolean parse_u64(const char *text, guint64 *out)
{
	g_autofree char *whole = NULL;
	const char *dot;

	if (!text)
		return FALSE;
	dot = strchr(text, '.');
	whole = dot ? g_strndup(text, dot - text) : g_strdup(text);
	return g_ascii_string_to_unsigned(whole, 10, 0, G_MAXUINT64, out, NULL);
}

static gboolean vol_state(virStorageVolPtr vol, VolState *out, GError **error)
{
	/* Named first: every libvirt call, this one too, clears the last
	 * error, whose message the GError must carry. */
	const char *name = virStorageVolGetName(vol);
	g_autofree char *xml = take_libvirt_string(virStorageVolGetXMLDesc(vol, 0));
	g_autofree char *physical = NULL, *mtime = NULL, *capacity = NULL;
	guint64 when = 0;

	if (!xml)
		return remote_error(error, "reading volume %s", name);
	physical = xml_value(xml, "string(/volume/physical)");
	capacity = xml_value(xml, "string(/volume/capacity)");
	mtime = xml_value(xml, "string(/volume/target/timestamps/mtime)");
	/* Older libvirt has no <physical>: a raw file's capacity is its size. */
	if (!parse_u64(physical ? physical : capacity, &out->physical) ||
	    (mtime && !parse_u64(mtime, &when))) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
		            "volume %s: libvirt's description has no size", name);
		return FALSE;
	}
	out->mtime = (gint64)MIN(when, (guint64)G_MAXINT64);
	out->format = xml_value(xml, "string(/volume/target/format/@type)");
	return TRUE;
}

/* Volume NAME of the pool; NULL with ERROR unset when there is none. */
static virStorageVolPtr vol_find(KdhRemote *r, const char *name, GError **error)
{
	virStorageVolPtr vol = virStorageVolLookupByName(r->pool, name);

	if (!vol && last_error_code() != VIR_ERR_NO_STORAGE_VOL)
		remote_error(error, "looking up volume %s in pool %s on %s", name, r->pool_name,
		             r->uri);
	return vol;
}

/* Deletes volume NAME when it exists. */
static gboolean vol_remove(KdhRemote *r, const char *name, GError **error)
{
	GError *local = NULL;
	virStorageVolPtr vol = vol_find(r, name, &local);
	gboolean ok;

	if (!vol) {
		if (local) {
			g_propagate_error(error, local);
			return FALSE;
		}
		return TRUE;
	}
	ok = virStorageVolDelete(vol, 0) == 0 || last_error_code() == VIR_ERR_NO_STORAGE_VOL;
	if (!ok)
		remote_error(error, "deleting volume %s in pool %s on %s", name, r->pool_name,
		             r->uri);
	virStorageVolFree(vol);
	return ok;
}

/* The path of VOL, or NULL with an error. */
static char *vol_path(KdhRemote *r, virStorageVolPtr vol, GError **error)
{
	const char *name = virStorageVolGetName(vol); /* first: see vol_state */
	char *path = virStorageVolGetPath(vol);

	if (!path) {
		remote_error(error, "asking the path of volume %s on %s", name, r->uri);
		return NULL;
	}
	return take_libvirt_string(path);
}

/* ---- streams ---- */

typedef struct {
	int fd;
	guint64 bytes; /* data bytes that travelled */
} StreamFile;

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

static int sink_write(virStreamPtr st, const char *data, size_t nbytes, void *opaque)
{
	StreamFile *f = opaque;
	size_t done = 0;

	(void)st;
	while (done < nbytes) {
		ssize_t n = write(f->fd, data + done, nbytes - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += n;
	}
	f->bytes += nbytes;
	return (int)nbytes;
}

/* A hole: skipped, and the file extended over it (a trailing hole would
 * otherwise be lost). */
static int sink_hole(virStreamPtr st, long long length, void *opaque)
{
	StreamFile *f = opaque;
	off_t end;

	(void)st;
	end = lseek(f->fd, length, SEEK_CUR);
	return end < 0 || ftruncate(f->fd, end) < 0 ? -1 : 0;
}

/* Sends SRC into VOL (sparse); *SENT gets the data bytes. */
static gboolean upload_file(KdhRemote *r, virStorageVolPtr vol, const char *src, guint64 *sent,
                            GError **error)
{
	StreamFile f = {.fd = open(src, O_RDONLY | O_CLOEXEC)};
	const char *name = virStorageVolGetName(vol); /* first: see vol_state */
	virStreamPtr st = NULL;
	gboolean ok = FALSE;

	if (f.fd < 0)
		return errno_error(error, errno, "opening", src);
	st = virStreamNew(r->conn, 0);
	if (!st || virStorageVolUpload(vol, st, 0, 0, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0) {
		remote_error(error, "uploading %s to volume %s on %s", src, name, r->uri);
	} else if (virStreamSparseSendAll(st, source_read, source_hole, source_skip, &f) < 0) {
		remote_error(error, "uploading %s to volume %s on %s", src, name, r->uri);
		virStreamAbort(st);
	} else if (virStreamFinish(st) < 0) {
		remote_error(error, "finishing the upload of %s to volume %s on %s", src, name,
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
	ssize_t n;

	if (fd < 0) {
		errno_error(error, errno, "opening", path);
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
			errno_error(error, saved, "reading", path);
			return NULL;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += n;
	}
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	close(fd);
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
		if (last_error_code() == VIR_ERR_STORAGE_VOL_EXIST)
			return FRESH_EXISTS;
		remote_error(error, "creating volume %s in pool %s on %s", name, r->pool_name,
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
	if (!mark && last_error_code() != VIR_ERR_STORAGE_VOL_EXIST) {
		remote_error(error, "creating volume %s in pool %s on %s", marker, r->pool_name,
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
	virStorageVolPtr mark = vol_find(r, marker, error);

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
	guint vanished = 0;

	*sent = 0;
	for (;;) {
		g_autoptr(GError) err = NULL;
		VolState st = {0};
		virStorageVolPtr vol = vol_find(r, name, &err);
		gboolean complete, stale;
		gint64 now;
		char *path;

		if (!vol && !err) {
			switch (upload_fresh(r, name, src, sent, &err)) {
			case FRESH_UPLOADED:
				vol = vol_find(r, name, &err);
				if (!vol && !err)
					remote_error(&err, "volume %s vanished on %s", name,
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
			path = vol_path(r, vol, error);
			virStorageVolFree(vol);
			return path;
		}
		if (!vol) {
			g_propagate_error(error, g_steal_pointer(&err));
			return NULL;
		}
		if (!vol_state(vol, &st, &err)) {
			/* Its file is gone behind libvirt's back: forget it. */
			virStorageVolDelete(vol, 0);
			virStorageVolFree(vol);
			if (++vanished > 3) {
				g_propagate_error(error, g_steal_pointer(&err));
				return NULL;
			}
			continue;
		}
		complete = vol_complete(r, name, &st, src->size, &err);
		if (complete || err) {
			path = complete ? vol_path(r, vol, &err) : NULL;
			vol_state_clear(&st);
			virStorageVolFree(vol);
			if (!path)
				g_propagate_error(error, g_steal_pointer(&err));
			return path;
		}
		/* Another kdh's upload while it changes; a leftover once not. */
		now = g_get_monotonic_time();
		if (st.mtime != seen_mtime) {
			seen_mtime = st.mtime;
			seen_since = now;
		}
		stale = g_get_real_time() / G_USEC_PER_SEC - st.mtime >= REMOTE_STALE_AGE ||
		        now - seen_since >= (gint64)REMOTE_STALE_WATCH * G_USEC_PER_SEC;
		vol_state_clear(&st);
		if (stale && virStorageVolDelete(vol, 0) < 0 &&
		    last_error_code() != VIR_ERR_NO_STORAGE_VOL) {
			remote_error(error, "deleting the incomplete volume %s on %s", name,
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
	virStorageVolPtr vol = vol_find(r, name, error);
	VolState st = {0};
	char *path = NULL;

	if (!vol)
		return NULL;
	if (vol_state(vol, &st, NULL) && vol_complete(r, name, &st, size, error))
		path = vol_path(r, vol, error);
	vol_state_clear(&st);
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
		errno_error(error, errno, "reading", local);
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
		errno_error(error, errno, "reading", src.path);
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

/* ---- a case's own volumes ---- */

char *kdh_remote_overlay(KdhRemote *r, const char *name, const char *backing, GError **error)
{
	/* No capacity: qemu-img, on the host, takes the backing file's
	 * virtual size from its header (libvirt may still see an uploaded
	 * qcow2 as the raw file it was created as). */
	g_autofree char *xml = g_markup_printf_escaped(
	    "<volume><name>%s</name><target><format type='qcow2'/><compat>1.1</compat>"
	    "<permissions><mode>0600</mode></permissions></target>"
	    "<backingStore><path>%s</path><format type='qcow2'/></backingStore></volume>",
	    name, backing);
	virStorageVolPtr vol = virStorageVolCreateXML(r->pool, xml, 0);
	char *path;

	if (!vol) {
		remote_error(error, "creating volume %s over %s in pool %s on %s", name, backing,
		             r->pool_name, r->uri);
		return NULL;
	}
	path = vol_path(r, vol, error);
	virStorageVolFree(vol);
	return path;
}

/* Volume PATH of any pool of the host, NULL with an error. */
static virStorageVolPtr vol_at(KdhRemote *r, const char *path, GError **error)
{
	virStorageVolPtr vol = virStorageVolLookupByPath(r->conn, path);

	if (!vol)
		remote_error(error, "looking up volume %s on %s", path, r->uri);
	return vol;
}

char *kdh_remote_clone(KdhRemote *r, const char *from, const char *name, GError **error)
{
	g_autofree char *xml = NULL;
	VolState st = {0};
	virStorageVolPtr src = vol_at(r, from, error), vol;
	char *path;

	if (!src)
		return NULL;
	if (!vol_state(src, &st, error)) {
		virStorageVolFree(src);
		return NULL;
	}
	/* FROM's format as libvirt sees it: another would make libvirt
	 * convert the content (qemu-img convert) instead of copying it. */
	xml = g_markup_printf_escaped("<volume><name>%s</name><target><format type='%s'/>"
	                              "<permissions><mode>0600</mode></permissions></target>"
	                              "</volume>",
	                              name, st.format ? st.format : "raw");
	vol_state_clear(&st);
	vol = virStorageVolCreateXMLFrom(r->pool, xml, src, 0);
	virStorageVolFree(src);
	if (!vol) {
		remote_error(error, "copying volume %s to %s in pool %s on %s", from, name,
		             r->pool_name, r->uri);
		return NULL;
	}
	path = vol_path(r, vol, error);
	virStorageVolFree(vol);
	return path;
}

gboolean kdh_remote_download(KdhRemote *r, const char *path, const char *local, guint64 *bytes,
                             GError **error)
{
	StreamFile f = {0};
	VolState st = {0};
	virStreamPtr stream = NULL;
	virStorageVolPtr vol = vol_at(r, path, error);
	struct stat sb;
	gboolean ok = FALSE;
	int fd;

	if (!vol)
		return FALSE;
	fd = open(local, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		errno_error(error, errno, "creating", local);
		virStorageVolFree(vol);
		return FALSE;
	}
	f.fd = fd;
	stream = virStreamNew(r->conn, 0);
	if (!stream ||
	    virStorageVolDownload(vol, stream, 0, 0, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) < 0) {
		remote_error(error, "downloading volume %s from %s", path, r->uri);
	} else if (virStreamSparseRecvAll(stream, sink_write, sink_hole, &f) < 0) {
		remote_error(error, "downloading volume %s from %s into %s", path, r->uri, local);
		virStreamAbort(stream);
	} else if (virStreamFinish(stream) < 0) {
		remote_error(error, "finishing the download of volume %s from %s", path, r->uri);
	} else if (fstat(f.fd, &sb) < 0) {
		errno_error(error, errno, "stat", local);
	} else if (vol_state(vol, &st, error)) {
		/* A stream ended early would leave a short file. */
		if ((guint64)sb.st_size != st.physical)
			g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
			            "downloading volume %s from %s: %" G_GUINT64_FORMAT
			            " bytes arrived, the volume has %" G_GUINT64_FORMAT,
			            path, r->uri, (guint64)sb.st_size, st.physical);
		else
			ok = TRUE;
	}
	vol_state_clear(&st);
	if (stream)
		virStreamFree(stream);
	virStorageVolFree(vol);
	if (close(f.fd) < 0 && ok) {
		ok = errno_error(error, errno, "writing", local);
	}
	if (!ok)
		g_unlink(local);
	else if (bytes)
		*bytes = f.bytes;
	return ok;
}

gboolean kdh_remote_delete(KdhRemote *r, const char *path, GError **error)
{
	virStorageVolPtr vol = virStorageVolLookupByPath(r->conn, path);
	gboolean ok;

	if (!vol) {
		if (last_error_code() == VIR_ERR_NO_STORAGE_VOL)
			return TRUE;
		return remote_error(error, "looking up volume %s on %s", path, r->uri);
	}
	ok = virStorageVolDelete(vol, 0) == 0 || last_error_code() == VIR_ERR_NO_STORAGE_VOL;
	if (!ok)
		remote_error(error, "deleting volume %s on %s", path, r->uri);
	virStorageVolFree(vol);
	return ok;
}

/* Whether a domain whose volume is NAME ("case-<domain>.<what>") may still
 * run: a domain's name may itself hold '.', so each prefix ending before a
 * '.' is asked for; an answer other than "no such domain" counts as yes. */
static gboolean case_domain_may_exist(KdhRemote *r, const char *name)
{
	const char *rest = name + strlen(KDH_REMOTE_CASE_PREFIX);
	gboolean any = FALSE;

	for (const char *dot = strchr(rest, '.'); dot; dot = strchr(dot + 1, '.')) {
		g_autofree char *dom_name = g_strndup(rest, dot - rest);
		virDomainPtr dom = virDomainLookupByName(r->conn, dom_name);

		any = TRUE;
		if (dom) {
			virDomainFree(dom);
			return TRUE;
		}
		if (last_error_code() != VIR_ERR_NO_DOMAIN)
			return TRUE;
	}
	/* Not named as a case's volume: not ours to judge. */
	return !any;
}

guint kdh_remote_sweep(KdhRemote *r, gint64 min_age)
{
	virStorageVolPtr *vols = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	guint swept = 0;
	int n;

	/* Best effort (refused while a volume is being built): volumes
	 * listed but gone fail their state below and are left. */
	virStoragePoolRefresh(r->pool, 0);
	n = virStoragePoolListAllVolumes(r->pool, &vols, 0);
	for (int i = 0; i < n; i++) {
		const char *name = virStorageVolGetName(vols[i]);
		VolState st = {0};

		if (name && g_str_has_prefix(name, KDH_REMOTE_CASE_PREFIX) &&
		    !case_domain_may_exist(r, name) && vol_state(vols[i], &st, NULL) &&
		    now - st.mtime >= min_age && virStorageVolDelete(vols[i], 0) == 0)
			swept++;
		vol_state_clear(&st);
		virStorageVolFree(vols[i]);
	}
	free(vols);
	return swept;
}

gboolean kdh_qcow2_set_backing(const char *path, const char *backing, GError **error)
{
	/* -u: only the header changes, and BACKING need not exist here (it
	 * is a path on another host); -F: its format, never probed. */
	const char *argv[] = {"qemu-img", "rebase", "-u",    "-f", "qcow2", "-F",
	                      "qcow2",    "-b",     backing, path, NULL};

	return kdh_run(argv, NULL, NULL, error);
}
