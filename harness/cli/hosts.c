/* The libvirt hosts a session spreads its cases over: named by --connect
 * or a hosts file, each asked what it holds, each made usable before the
 * first VM (libvirt's daemons here, a remote host's storage pool there). */
#include "cli/commands.h"
#include "vm/vm.h"

#include <stdio.h>

/* What a remote host keeps free beside kdh's guests: its own system and
 * other users' work (kdh's libguestfs appliance runs here, not there). */
#define REMOTE_RESERVE ((guint64)512 << 20)

/* A case volume left on a host this long is a killed run's or a lost
 * host's (a live run's overlay waits for its download minutes at most). */
#define SWEEP_MIN_AGE ((gint64)60 * 60)

static KdhHostSpec *spec_new(const char *uri)
{
	KdhHostSpec *h = g_new0(KdhHostSpec, 1);

	h->uri = g_strdup(uri);
	return h;
}

GPtrArray *kdh_cli_hosts(const char *command, const KdhRunnerOptions *o)
{
	g_autoptr(GPtrArray) specs = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *file = o->hosts ? g_strdup(o->hosts) : NULL;

	if (o->connect && o->hosts) {
		g_printerr("%s: --connect and --hosts name the hosts twice: give one\n", command);
		return NULL;
	}
	if (o->connect) {
		specs = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_host_spec_free);
		for (guint i = 0; o->connect[i]; i++) {
			for (guint k = 0; k < i; k++)
				if (g_str_equal(o->connect[k], o->connect[i])) {
					g_printerr("%s: --connect %s is given twice\n", command,
					           o->connect[i]);
					return NULL;
				}
			g_ptr_array_add(specs, spec_new(o->connect[i]));
		}
		return g_steal_pointer(&specs);
	}
	if (!file) {
		file = kdh_hosts_default_file();
		if (!g_file_test(file, G_FILE_TEST_EXISTS)) {
			g_autofree char *uri = kdh_libvirt_default_uri();
			specs = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_host_spec_free);
			g_ptr_array_add(specs, spec_new(uri));
			return g_steal_pointer(&specs);
		}
	}
	if (!(specs = kdh_hosts_load(file, &error))) {
		g_printerr("%s: %s\n", command, error->message);
		return NULL;
	}
	return g_steal_pointer(&specs);
}

gboolean kdh_cli_hosts_single_local(GPtrArray *specs)
{
	const KdhHostSpec *h = g_ptr_array_index(specs, 0);

	return specs->len == 1 && !kdh_uri_is_remote(h->uri) && !h->jobs;
}

void kdh_cli_hosts_free(KdhCliHosts *h)
{
	if (!h)
		return;
	for (guint i = 0; i < h->n; i++) {
		g_free((char *)h->hosts[i].label);
		kdh_remote_free(h->hosts[i].remote);
	}
	g_free(h->hosts);
	g_free(h);
}

/* What host SPEC holds, asked the way that reaches it. */
static gboolean measure(const KdhHostSpec *spec, KdhHostCapacity *cap, guint64 *budget,
                        GError **error)
{
	if (!kdh_uri_is_remote(spec->uri)) {
		if (!kdh_host_capacity(cap, error))
			return FALSE;
		*budget = kdh_memory_budget(cap);
		return TRUE;
	}
	if (!kdh_node_capacity(spec->uri, cap, error))
		return FALSE;
	*budget = cap->mem_available > REMOTE_RESERVE ? cap->mem_available - REMOTE_RESERVE : 1;
	return TRUE;
}

KdhCliHosts *kdh_cli_hosts_measure(const char *command, GPtrArray *specs, guint64 footprint,
                                   guint jobs_per_host)
{
	g_autoptr(KdhCliHosts) h = g_new0(KdhCliHosts, 1);

	h->hosts = g_new0(KdhRunHost, specs->len);
	for (guint i = 0; i < specs->len; i++) {
		const KdhHostSpec *spec = g_ptr_array_index(specs, i);
		KdhRunHost *host = &h->hosts[h->n++];
		g_autoptr(GError) error = NULL;
		g_autofree char *why = NULL;
		KdhHostCapacity cap = {0};

		host->uri = spec->uri;
		host->label = kdh_uri_label(spec->uri);
		if (!measure(spec, &cap, &host->memory_budget, &error)) {
			g_printerr("%s: host %s: %s\n", command, host->label, error->message);
			return NULL;
		}
		host->jobs = kdh_jobs_choose(&cap, footprint, &why);
		if (spec->jobs || jobs_per_host) {
			host->jobs = spec->jobs ? spec->jobs : jobs_per_host;
			g_print("kdh: host %s: %u job%s (as asked; the host: %s)\n", host->label,
			        host->jobs, host->jobs == 1 ? "" : "s", why);
		} else {
			g_print("kdh: host %s: %u job%s (%s)\n", host->label, host->jobs,
			        host->jobs == 1 ? "" : "s", why);
		}
	}
	return g_steal_pointer(&h);
}

gboolean kdh_cli_libvirt_prepare(const char *command, const char *uri)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *started = NULL;

	if (!kdh_libvirt_prepare(uri, &started, &error)) {
		g_printerr("%s: %s\n", command, error->message);
		return FALSE;
	}
	if (started)
		g_print("kdh: started %s (they were not running)\n", started);
	return TRUE;
}

gboolean kdh_cli_hosts_open(const char *command, KdhCliHosts *h, GPtrArray *specs)
{
	for (guint i = 0; i < h->n; i++) {
		const KdhHostSpec *spec = g_ptr_array_index(specs, i);
		KdhRunHost *host = &h->hosts[i];
		g_autoptr(GError) error = NULL;
		guint swept;

		if (!kdh_cli_libvirt_prepare(command, host->uri))
			return FALSE;
		if (!kdh_uri_is_remote(host->uri))
			continue;
		host->remote = kdh_remote_open(host->uri, spec->pool, spec->pool_path, &error);
		if (!host->remote) {
			g_printerr("%s: host %s: %s\n", command, host->label, error->message);
			return FALSE;
		}
		if ((swept = kdh_remote_sweep(host->remote, SWEEP_MIN_AGE)))
			g_print("kdh: host %s: deleted %u volume%s of killed runs or lost hosts\n",
			        host->label, swept, swept == 1 ? "" : "s");
	}
	return TRUE;
}
