/* A remote host's storage: kernels, initrds and disks reach a libvirt host
 * that shares no file system with us through its storage pool API, cached
 * there by content, and a case's disk comes back the same way.
 *
 * This file: opening the host and its pool, the libvirt helpers upload.c
 * shares (remote_internal.h), and a case's own volumes (overlay, clone,
 * download, delete, sweep).  The files sent there and their cache:
 * upload.c. */
#include "vm/remote_internal.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_POOL_PATH "/var/lib/libvirt/kdh"

/* libvirt prints every error to stderr unless told not to; we report them
 * ourselves, once, as GErrors. */
static void libvirt_quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

int kdh_remote_last_error_code(void)
{
	virErrorPtr e = virGetLastError();

	return e ? e->code : VIR_ERR_OK;
}

gboolean kdh_remote_error(GError **error, const char *what, ...)
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

gboolean kdh_remote_errno_error(GError **error, int saved, const char *what, const char *path)
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
		if (kdh_remote_last_error_code() != VIR_ERR_NO_STORAGE_POOL) {
			kdh_remote_error(error, "looking up storage pool %s on %s", name, r->uri);
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
		kdh_remote_error(error, "starting storage pool %s on %s", name, r->uri);
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
		kdh_remote_error(error, "connecting to %s", uri);
		return NULL;
	}
	if (pool) {
		r->pool = virStoragePoolLookupByName(r->conn, pool);
		if (!r->pool) {
			kdh_remote_error(error, "looking up storage pool %s on %s", pool, uri);
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
		kdh_remote_error(error, "reading storage pool %s on %s", r->pool_name, uri);
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

/* ---- volumes ---- */

void kdh_remote_vol_state_clear(VolState *s)
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

gboolean kdh_remote_vol_state(virStorageVolPtr vol, VolState *out, GError **error)
{
	/* Named first: every libvirt call, this one too, clears the last
	 * error, whose message the GError must carry. */
	const char *name = virStorageVolGetName(vol);
	g_autofree char *xml = take_libvirt_string(virStorageVolGetXMLDesc(vol, 0));
	g_autofree char *physical = NULL, *mtime = NULL, *capacity = NULL;
	guint64 when = 0;

	out->mtime = -1;

	if (!xml)
		return kdh_remote_error(error, "reading volume %s", name);
	physical = xml_value(xml, "string(/volume/physical)");
	capacity = xml_value(xml, "string(/volume/capacity)");
	mtime = xml_value(xml, "string(/volume/target/timestamps/mtime)");
	/* Older libvirt has no <physical>: a raw file's capacity is its size. */
	if (!parse_u64(physical ? physical : capacity, &out->physical) ||
	    (mtime && *mtime && !parse_u64(mtime, &when))) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
		            "volume %s: libvirt's description has no size", name);
		return FALSE;
	}
	if (mtime && *mtime)
		out->mtime = (gint64)MIN(when, (guint64)G_MAXINT64);
	out->format = xml_value(xml, "string(/volume/target/format/@type)");
	return TRUE;
}

virStorageVolPtr kdh_remote_vol_find(KdhRemote *r, const char *name, GError **error)
{
	virStorageVolPtr vol = virStorageVolLookupByName(r->pool, name);

	if (!vol && kdh_remote_last_error_code() != VIR_ERR_NO_STORAGE_VOL)
		kdh_remote_error(error, "looking up volume %s in pool %s on %s", name, r->pool_name,
		                 r->uri);
	return vol;
}

char *kdh_remote_vol_path(KdhRemote *r, virStorageVolPtr vol, GError **error)
{
	const char *name = virStorageVolGetName(vol); /* first: see kdh_remote_vol_state */
	char *path = virStorageVolGetPath(vol);

	if (!path) {
		kdh_remote_error(error, "asking the path of volume %s on %s", name, r->uri);
		return NULL;
	}
	return take_libvirt_string(path);
}

/* ---- streams ---- */

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
		kdh_remote_error(error, "creating volume %s over %s in pool %s on %s", name,
		                 backing, r->pool_name, r->uri);
		return NULL;
	}
	path = kdh_remote_vol_path(r, vol, error);
	virStorageVolFree(vol);
	return path;
}

/* Volume PATH of any pool of the host, NULL with an error. */
static virStorageVolPtr vol_at(KdhRemote *r, const char *path, GError **error)
{
	virStorageVolPtr vol = virStorageVolLookupByPath(r->conn, path);

	if (!vol)
		kdh_remote_error(error, "looking up volume %s on %s", path, r->uri);
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
	if (!kdh_remote_vol_state(src, &st, error)) {
		virStorageVolFree(src);
		return NULL;
	}
	/* FROM's format as libvirt sees it: another would make libvirt
	 * convert the content (qemu-img convert) instead of copying it. */
	xml = g_markup_printf_escaped("<volume><name>%s</name><target><format type='%s'/>"
	                              "<permissions><mode>0600</mode></permissions></target>"
	                              "</volume>",
	                              name, st.format ? st.format : "raw");
	kdh_remote_vol_state_clear(&st);
	vol = virStorageVolCreateXMLFrom(r->pool, xml, src, 0);
	virStorageVolFree(src);
	if (!vol) {
		kdh_remote_error(error, "copying volume %s to %s in pool %s on %s", from, name,
		                 r->pool_name, r->uri);
		return NULL;
	}
	path = kdh_remote_vol_path(r, vol, error);
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
		kdh_remote_errno_error(error, errno, "creating", local);
		virStorageVolFree(vol);
		return FALSE;
	}
	f.fd = fd;
	stream = virStreamNew(r->conn, 0);
	if (!stream ||
	    virStorageVolDownload(vol, stream, 0, 0, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) < 0) {
		kdh_remote_error(error, "downloading volume %s from %s", path, r->uri);
	} else if (virStreamSparseRecvAll(stream, sink_write, sink_hole, &f) < 0) {
		kdh_remote_error(error, "downloading volume %s from %s into %s", path, r->uri,
		                 local);
		virStreamAbort(stream);
	} else if (virStreamFinish(stream) < 0) {
		kdh_remote_error(error, "finishing the download of volume %s from %s", path,
		                 r->uri);
	} else if (fstat(f.fd, &sb) < 0) {
		kdh_remote_errno_error(error, errno, "stat", local);
	} else if (kdh_remote_vol_state(vol, &st, error)) {
		/* A stream ended early would leave a short file. */
		if ((guint64)sb.st_size != st.physical)
			g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
			            "downloading volume %s from %s: %" G_GUINT64_FORMAT
			            " bytes arrived, the volume has %" G_GUINT64_FORMAT,
			            path, r->uri, (guint64)sb.st_size, st.physical);
		else
			ok = TRUE;
	}
	kdh_remote_vol_state_clear(&st);
	if (stream)
		virStreamFree(stream);
	virStorageVolFree(vol);
	if (close(f.fd) < 0 && ok) {
		ok = kdh_remote_errno_error(error, errno, "writing", local);
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
		if (kdh_remote_last_error_code() == VIR_ERR_NO_STORAGE_VOL)
			return TRUE;
		return kdh_remote_error(error, "looking up volume %s on %s", path, r->uri);
	}
	ok = virStorageVolDelete(vol, 0) == 0 ||
	     kdh_remote_last_error_code() == VIR_ERR_NO_STORAGE_VOL;
	if (!ok)
		kdh_remote_error(error, "deleting volume %s on %s", path, r->uri);
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
		if (kdh_remote_last_error_code() != VIR_ERR_NO_DOMAIN)
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
		    !case_domain_may_exist(r, name) && kdh_remote_vol_state(vols[i], &st, NULL) &&
		    st.mtime >= 0 && now - st.mtime >= min_age &&
		    virStorageVolDelete(vols[i], 0) == 0)
			swept++;
		kdh_remote_vol_state_clear(&st);
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
