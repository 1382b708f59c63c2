/* A case on a remote host: what its VM boots put there through libvirt's
 * storage API (each file once per run, cached there by content across
 * runs), its overlay made there, and brought home once the domain ends so
 * the dump is read here, never by mounting a disk on the host. */
#include "run/internal.h"

void kdh_host_files_init(KdhHostFiles *f)
{
	g_mutex_init(&f->lock);
	f->volumes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void kdh_host_files_clear(KdhHostFiles *f)
{
	g_hash_table_unref(f->volumes);
	f->volumes = NULL;
	g_mutex_clear(&f->lock);
}

void kdh_remote_boot_clear(KdhRemoteBoot *b)
{
	g_clear_pointer(&b->kernel, g_free);
	g_clear_pointer(&b->initrd, g_free);
	g_clear_pointer(&b->base, g_free);
	g_clear_pointer(&b->base_backing, g_free);
}

/* LOCAL's volume on J's host (with BACKING, the volume its backing file
 * became), uploaded unless the run already put it there; the host's lock
 * is held. */
static char *put(KdhJob *j, const char *local, const char *backing, guint64 *uploaded,
                 GError **error)
{
	g_autofree char *key = g_strdup_printf("%s\n%s", local, backing ? backing : "");
	const char *known = g_hash_table_lookup(j->host_files->volumes, key);
	guint64 sent = 0;
	char *path;

	if (known)
		return g_strdup(known);
	path = kdh_remote_upload(j->host->remote, local, backing, &sent, error);
	if (!path)
		return NULL;
	*uploaded += sent;
	g_hash_table_insert(j->host_files->volumes, g_steal_pointer(&key), g_strdup(path));
	return path;
}

static gboolean put_all(KdhJob *j, KdhRemoteBoot *out, guint64 *uploaded, GError **error)
{
	/* The disk's chain from the bottom: a settings layer is backed by its
	 * image's disk, whose volume it must name on the host. */
	const char *bottom = j->base, *top = j->layer;

	if (!(out->kernel = put(j, j->k->vmlinuz, NULL, uploaded, error)) ||
	    !(out->initrd = put(j, j->img->initrd, NULL, uploaded, error)) ||
	    !(out->base = put(j, bottom, NULL, uploaded, error)))
		return FALSE;
	if (top) {
		out->base_backing = g_steal_pointer(&out->base);
		if (!(out->base = put(j, top, out->base_backing, uploaded, error)))
			return FALSE;
	}
	return TRUE;
}

gboolean kdh_job_remote_prepare(KdhJob *j, const char *domain, KdhRemoteBoot *out,
                                guint64 *uploaded, GError **error)
{
	g_autofree char *name = g_strdup_printf(KDH_REMOTE_CASE_PREFIX "%s.disk.qcow2", domain);
	gboolean ok;

	*uploaded = 0;
	g_mutex_lock(&j->host_files->lock);
	ok = put_all(j, out, uploaded, error);
	g_mutex_unlock(&j->host_files->lock);
	if (!ok) {
		g_prefix_error(error, "putting the guest's files on %s: ", j->host->label);
		return FALSE;
	}
	j->remote_disk = kdh_remote_overlay(j->host->remote, name, out->base, error);
	return j->remote_disk != NULL;
}

gboolean kdh_job_remote_fetch(KdhJob *j, guint64 *bytes, GError **error)
{
	const char *local_top = j->layer ? j->layer : j->base;

	if (!kdh_remote_download(j->host->remote, j->remote_disk, j->disk, bytes, error) ||
	    !kdh_qcow2_set_backing(j->disk, local_top, error)) {
		g_prefix_error(error, "bringing the guest's disk home from %s: ", j->host->label);
		return FALSE;
	}
	kdh_job_remote_drop(j);
	return TRUE;
}

void kdh_job_remote_drop(KdhJob *j)
{
	if (!j->remote_disk)
		return;
	kdh_remote_delete(j->host->remote, j->remote_disk, NULL);
	g_clear_pointer(&j->remote_disk, g_free);
}
