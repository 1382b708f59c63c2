/* kdh run: scenario files → cases → one result each.  Everything that can
 * be refused (a bad file, an accelerator this host lacks) is refused before
 * anything starts. */
#include "cli/commands.h"
#include "guest/guest.h"
#include "kernel/kernel.h"
#include "run/run.h"
#include "scenario/scenario.h"
#include "util/util.h"
#include "vm/vm.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

/* The signal that cancelled the run, or 0. */
static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
	cancelled = sig;
	/* An appliance booting for a retrieval would otherwise finish its
	 * launch (tens of seconds under TCG) before anyone looks at the flag. */
	kdh_guest_cancel();
	/* A second signal ends kdh at once; libvirt still destroys the domain
	 * when our connection drops (AUTODESTROY). */
	signal(sig, SIG_DFL);
}

/* The accelerator for the run: OPT "tcg" as asked; "auto" (or NULL) and
 * "kvm" ask the probe, which boots kernel K (its answer is cached until the
 * host reboots).  "kvm" on a host whose probe found KVM broken is refused
 * at once, with the probe's reason: waiting out a boot timeout would only
 * say less.  Returns an exit status, KDH_EXIT_OK when *ACCEL was set. */
static int choose_accel(const char *opt, const KdhKernel *k, const char *cache, KdhAccel *accel)
{
	g_autofree char *why = NULL;

	if (opt && g_str_equal(opt, "tcg")) {
		*accel = KDH_ACCEL_TCG;
		g_print("kdh: acceleration tcg (as asked)\n");
		return KDH_EXIT_OK;
	}
	*accel = kdh_accel_probe(k->vmlinuz, cache, &why);
	if (opt && g_str_equal(opt, "kvm") && *accel != KDH_ACCEL_KVM) {
		g_printerr("kdh run: --accel kvm: KVM does not work on this host: %s\n",
		           why ? why : "the probe says so");
		return KDH_EXIT_USAGE;
	}
	g_print("kdh: acceleration %s%s%s\n", kdh_accel_name(*accel),
	        why ? ": KVM does not work here: " : "", why ? why : "");
	return KDH_EXIT_OK;
}

/* The number of VMs at once (ASKED, or what the host allows) and the
 * memory they may take together; the first line of the run says both.
 * KDH_EXIT_USAGE when a case's guest is larger than this host could ever
 * hold. */
static int choose_jobs(GPtrArray *cases, guint asked, guint *jobs, guint64 *budget)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *why = NULL;
	KdhHostCapacity host;
	guint64 largest = 0;
	const KdhCase *big = NULL;

	if (!kdh_host_capacity(&host, &error)) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_ERROR;
	}
	for (guint i = 0; i < cases->len; i++) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		if (kdh_guest_footprint(c->memory) > largest) {
			largest = kdh_guest_footprint(c->memory);
			big = c;
		}
	}
	if (big && largest + KDH_APPLIANCE_MEMORY > host.mem_total) {
		g_autofree char *total =
		    g_format_size_full(host.mem_total, G_FORMAT_SIZE_IEC_UNITS);
		g_printerr("kdh: %s:%u: case %s: a guest of %" G_GUINT64_FORMAT
		           " MiB (with QEMU and the libguestfs appliance) does not fit in this "
		           "host's %s of memory\n",
		           big->source, big->name_line, big->name, big->memory >> 20, total);
		return KDH_EXIT_USAGE;
	}
	*jobs = kdh_jobs_choose(&host, largest, &why);
	*budget = kdh_memory_budget(&host);
	if (asked) {
		g_print("kdh: %u case%s, %u job%s (as asked; the host: %s)\n", cases->len,
		        cases->len == 1 ? "" : "s", asked, asked == 1 ? "" : "s", why);
		*jobs = asked;
	} else {
		g_print("kdh: %u case%s, %u job%s (%s)\n", cases->len, cases->len == 1 ? "" : "s",
		        *jobs, *jobs == 1 ? "" : "s", why);
	}
	return KDH_EXIT_OK;
}

/* Makes RUN_DIR and proves a file can be written in it: a results folder
 * that cannot take the reports is found before any VM runs. */
static gboolean results_writable(const char *run_dir, GError **error)
{
	g_autofree char *probe = g_build_filename(run_dir, ".kdh-write-test", NULL);

	if (g_mkdir_with_parents(run_dir, 0755) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
		            "the results folder %s cannot be created: %s", run_dir,
		            g_strerror(saved));
		return FALSE;
	}
	if (!g_file_set_contents(probe, "", 0, error)) {
		g_prefix_error(error, "the results folder %s is not writable: ", run_dir);
		return FALSE;
	}
	g_unlink(probe);
	return TRUE;
}

static gboolean parse_keep_dumps(const char *text, KdhKeepDumps *out)
{
	static const struct {
		const char *name;
		KdhKeepDumps value;
	} table[] = {
	    {"failed", KDH_KEEP_DUMPS_FAILED},
	    {"always", KDH_KEEP_DUMPS_ALWAYS},
	    {"never", KDH_KEEP_DUMPS_NEVER},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(table); i++) {
		if (!text || g_str_equal(text, table[i].name)) {
			*out = table[i].value;
			return TRUE;
		}
	}
	return FALSE;
}

/* The run's last lines: counts per verdict, wall time, cases per hour. */
static void summarise(const KdhVerdictCounts *counts, guint cases, double wall)
{
	g_print("kdh: %u case%s in %.0f s (%.0f cases/h):", cases, cases == 1 ? "" : "s", wall,
	        wall > 0 ? cases * 3600.0 / wall : 0);
	for (guint v = 0; v < KDH_VERDICT_COUNT; v++) {
		if (counts->n[v] || v <= KDH_VERDICT_TIMEOUT)
			g_print("%s %u %s", v ? "," : "", counts->n[v], kdh_verdict_name(v));
	}
	g_print("\n");
}

/* Every run-level report of RESULTS into the run's folder; FALSE (said)
 * when one cannot be written. */
static gboolean write_reports(const KdhRunContext *ctx, const KdhSelectOptions *select,
                              const char *run_id, const char *started_at, double wall,
                              GPtrArray *results)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *ended_at = kdh_timestamp_now();
	g_autofree char *signal_name =
	    cancelled ? g_strdup_printf("SIG%s", sigabbrev_np(cancelled)) : NULL;
	KdhRunInfo info = {
	    .run_id = run_id,
	    .kdh_version = kdh_version(),
	    .host = g_get_host_name(),
	    .accel = results->len ? kdh_accel_name(ctx->accel) : NULL,
	    .started_at = started_at,
	    .ended_at = ended_at,
	    .wall_seconds = wall,
	    .jobs = ctx->jobs,
	    .shard = select->shard,
	    .filter = select->filter,
	    .interrupted_by = signal_name,
	};

	if (!kdh_report_write_run(&info, results, ctx->run_dir, &error)) {
		g_printerr("kdh: %s\n", error->message);
		return FALSE;
	}
	return TRUE;
}

/* Prepares what the cases share, chooses the accelerator, and runs them. */
static int run_prepared(KdhRunContext *ctx, GPtrArray *cases, const char *accel_opt,
                        GPtrArray **results)
{
	g_autoptr(KdhPrepared) p = kdh_prepared_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *started = NULL;
	int status;

	if (!kdh_run_prepare_kernels(ctx, p, cases, &error)) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	status = choose_accel(accel_opt, kdh_prepared_kernel(p, g_ptr_array_index(cases, 0)),
	                      ctx->cache_dir, &ctx->accel);
	if (status != KDH_EXIT_OK)
		return status;
	if (!results_writable(ctx->run_dir, &error)) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	if (!kdh_run_prepare_guests(ctx, p, cases, &error)) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_ERROR;
	}
	if (!kdh_libvirt_prepare(ctx->uri, &started, &error)) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_ERROR;
	}
	if (started)
		g_print("kdh: started %s (they were not running)\n", started);
	/* After the preparation, whose kernel build progress redraws a line
	 * of its own. */
	ctx->monitor = kdh_run_monitor_new(stdout, isatty(STDOUT_FILENO), cases->len);
	*results = kdh_run_cases(ctx, p, cases);
	kdh_run_monitor_free(ctx->monitor);
	ctx->monitor = NULL;
	return KDH_EXIT_OK;
}

int kdh_cmd_run(int argc, char **argv)
{
	g_autofree char *results = NULL, *cache = NULL, *images = NULL, *accel_opt = NULL;
	g_autofree char *uri = NULL, *keep_dumps_opt = NULL;
	g_autoptr(KdhVmRunDir) vm_dir = NULL;
	gboolean keep_disk = FALSE;
	gint jobs_opt = 0;
	g_auto(GStrv) files = NULL;
	GOptionEntry entries[] = {
	    {"results", 'r', 0, G_OPTION_ARG_FILENAME, &results,
	     "results folder (default: results)", "DIR"},
	    {"cache", 0, 0, G_OPTION_ARG_FILENAME, &cache,
	     "cache folder (default: /var/cache/kdh for root, else $XDG_CACHE_HOME/kdh)", "DIR"},
	    {"images", 0, 0, G_OPTION_ARG_FILENAME, &images,
	     "guest recipes (default: the source tree's images/)", "DIR"},
	    {"accel", 0, 0, G_OPTION_ARG_STRING, &accel_opt,
	     "auto (default), kvm (refused where the probe finds KVM broken) or tcg", "ACCEL"},
	    {"connect", 'c', 0, G_OPTION_ARG_STRING, &uri,
	     "libvirt URI (default: $LIBVIRT_DEFAULT_URI, else qemu:///system for root, "
	     "qemu:///session for other users)",
	     "URI"},
	    {"jobs", 'j', 0, G_OPTION_ARG_INT, &jobs_opt,
	     "VMs at once (default: one per free core, as free memory allows)", "N"},
	    {"keep-disk", 0, 0, G_OPTION_ARG_NONE, &keep_disk,
	     "keep each case's guest disk in its results folder", NULL},
	    {"keep-dumps", 0, 0, G_OPTION_ARG_STRING, &keep_dumps_opt,
	     "keep each case's vmcore: failed (default: only when the case did not pass), "
	     "always or never",
	     "WHEN"},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "SCENARIO..."},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_auto(KdhSelectOptions) select = {0};
	g_autofree GOptionEntry *select_entries = kdh_select_option_entries(&select);
	g_autoptr(GOptionContext) octx = g_option_context_new("- run kdump scenarios");
	g_autoptr(GPtrArray) cases = NULL, outcome = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *run_id = NULL, *run_dir = NULL, *abs = NULL;
	KdhKeepDumps keep_dumps;
	guint jobs = 0;
	guint64 budget = 0;
	KdhVerdictCounts counts = {0};
	g_autofree char *started_at = kdh_timestamp_now();
	gint64 start = g_get_monotonic_time();
	double wall;
	int status;

	g_option_context_add_main_entries(octx, entries, NULL);
	g_option_context_add_main_entries(octx, select_entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error)) {
		g_printerr("kdh run: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	if (accel_opt &&
	    !g_strv_contains((const char *[]){"auto", "kvm", "tcg", NULL}, accel_opt)) {
		g_printerr("kdh run: --accel must be auto, kvm or tcg\n");
		return KDH_EXIT_USAGE;
	}
	if (jobs_opt < 0 || jobs_opt > 256) {
		g_printerr("kdh run: --jobs must be 1 to 256\n");
		return KDH_EXIT_USAGE;
	}
	if (!parse_keep_dumps(keep_dumps_opt, &keep_dumps)) {
		g_printerr("kdh run: --keep-dumps must be failed, always or never\n");
		return KDH_EXIT_USAGE;
	}
	/* Every scenario is checked before anything starts. */
	cases = kdh_cli_load_cases((const char *const *)files, &select, &error);
	if (!cases) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	/* An empty shard starts nothing: no jobs to choose. */
	status = cases->len ? choose_jobs(cases, (guint)jobs_opt, &jobs, &budget) : KDH_EXIT_OK;
	if (status != KDH_EXIT_OK)
		return status;
	if (!cache && !(cache = kdh_cache_dir(&error))) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_ERROR;
	}
	if (!images)
		images = kdh_cli_images_dir();
	if (!uri)
		uri = kdh_libvirt_default_uri();
	run_id = kdh_run_id();
	/* libvirt needs absolute paths for the disk and the serial log. */
	abs = g_canonicalize_filename(results ? results : "results", NULL);
	run_dir = g_build_filename(abs, run_id, NULL);
	if (cases->len && !(vm_dir = kdh_vm_run_dir_new(cache, &error))) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_ERROR;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	KdhRunContext ctx = {
	    .cache_dir = cache,
	    .images_dir = images,
	    .run_dir = run_dir,
	    .vm_dir = vm_dir ? vm_dir->path : NULL,
	    .uri = uri,
	    .backend = &kdh_vm_libvirt,
	    .ops = &kdh_run_host_ops,
	    .keep_disk = keep_disk,
	    .keep_dumps = keep_dumps,
	    .jobs = jobs,
	    .memory_budget = budget,
	    .cancelled = &cancelled,
	};
	if (cases->len) {
		status = run_prepared(&ctx, cases, accel_opt, &outcome);
		if (status != KDH_EXIT_OK)
			return status;
	} else if (!results_writable(run_dir, &error)) {
		/* An empty shard still leaves (empty) reports for the merge. */
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_USAGE;
	} else {
		outcome = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_result_free);
	}
	wall = (g_get_monotonic_time() - start) / 1e6;
	for (guint i = 0; i < outcome->len; i++)
		counts.n[((const KdhResult *)g_ptr_array_index(outcome, i))->verdict]++;
	summarise(&counts, outcome->len, wall);
	g_print("kdh: results in %s\n", run_dir);
	if (!write_reports(&ctx, &select, run_id, started_at, wall, outcome))
		return cancelled ? 128 + cancelled : KDH_EXIT_ERROR;
	if (cancelled)
		return 128 + cancelled;
	return kdh_report_exit_status(&counts);
}
