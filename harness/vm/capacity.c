/* What this host can run at once: free cores and free memory, read from
 * /proc, and the job count kdh derives from them. */
#include "util/util.h"
#include "vm/vm.h"

#include <stdlib.h>
#include <string.h>

#define GIB (1024.0 * 1024 * 1024)

/* The value of KEY ("MemAvailable:") in a /proc/meminfo text, in bytes;
 * FALSE when absent or not a plain kB figure. */
static gboolean meminfo_value(const char *text, const char *key, guint64 *bytes)
{
	const char *at = strstr(text, key);
	g_autofree char *number = NULL;
	guint64 kib;

	if (!at || (at != text && at[-1] != '\n'))
		return FALSE;
	at += strlen(key);
	while (*at == ' ')
		at++;
	number = g_strndup(at, strspn(at, "0123456789"));
	if (!g_str_has_prefix(at + strlen(number), " kB") ||
	    !g_ascii_string_to_unsigned(number, 10, 0, G_MAXUINT64 / 1024, &kib, NULL))
		return FALSE;
	*bytes = kib * 1024;
	return TRUE;
}

gboolean kdh_host_capacity_parse(const char *meminfo, const char *loadavg, guint cores,
                                 KdhHostCapacity *out)
{
	g_auto(GStrv) fields = g_strsplit(loadavg, " ", 2);
	char *end = NULL;
	double load;

	if (!meminfo_value(meminfo, "MemTotal:", &out->mem_total) ||
	    !meminfo_value(meminfo, "MemAvailable:", &out->mem_available) || !fields[0])
		return FALSE;
	load = g_ascii_strtod(fields[0], &end);
	if (end == fields[0] || *end || !(load >= 0 && load < 1e6))
		return FALSE;
	out->cores = MAX(cores, 1);
	out->load = load;
	return TRUE;
}

gboolean kdh_host_capacity(KdhHostCapacity *out, GError **error)
{
	g_autofree char *meminfo = NULL, *loadavg = NULL;

	if (!g_file_get_contents("/proc/meminfo", &meminfo, NULL, error) ||
	    !g_file_get_contents("/proc/loadavg", &loadavg, NULL, error))
		return FALSE;
	if (!kdh_host_capacity_parse(meminfo, loadavg, g_get_num_processors(), out)) {
		g_set_error(error, KDH_VM_ERROR, 0, "cannot read /proc/meminfo or /proc/loadavg");
		return FALSE;
	}
	return TRUE;
}

guint64 kdh_guest_footprint(guint64 memory)
{
	return memory + KDH_QEMU_OVERHEAD;
}

guint64 kdh_memory_budget(const KdhHostCapacity *host)
{
	return host->mem_available > KDH_APPLIANCE_MEMORY
	           ? host->mem_available - KDH_APPLIANCE_MEMORY
	           : 1;
}

guint kdh_jobs_choose(const KdhHostCapacity *host, guint64 footprint, char **why)
{
	/* The load average counts what else runs here; a core running
	 * something else is not free for a TCG vCPU, which keeps its core
	 * busy the whole time. */
	guint busy = (guint)host->load;
	guint free_cores = host->cores > busy ? host->cores - busy : 1;
	guint64 fit = footprint ? kdh_memory_budget(host) / footprint : G_MAXUINT;
	guint jobs = MAX(1, MIN(free_cores, (guint)MIN(fit, G_MAXUINT)));

	if (why)
		*why = g_strdup_printf(
		    "%u of %u cores free (load %.2f), %.1f GiB free holds %" G_GUINT64_FORMAT
		    " guests of %.1f GiB",
		    free_cores, host->cores, host->load, host->mem_available / GIB, fit,
		    footprint / GIB);
	return jobs;
}
