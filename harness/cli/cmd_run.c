/* kdh run: scenario files → cases → one result each.  Everything that can
 * be refused (a bad file, an accelerator this host lacks) is refused before
 * anything starts. */
#include "cli/commands.h"
#include "kernel/kernel.h"
#include "run/run.h"
#include "scenario/scenario.h"
#include "util/util.h"
#include "vm/vm.h"

#include <signal.h>
#include <stdio.h>

/* The signal that cancelled the run, or 0. */
static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
	cancelled = sig;
	/* A second signal ends kdh at once; libvirt still destroys the domain
	 * when our connection drops (AUTODESTROY). */
	signal(sig, SIG_DFL);
}

/* images/ of the source tree this binary was built in: build/kdh → ../images. */
static char *default_images_dir(void)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *bindir = exe ? g_path_get_dirname(exe) : NULL;
	g_autofree char *dir = NULL;

	if (g_file_test("images", G_FILE_TEST_IS_DIR) || !bindir)
		dir = g_strdup("images");
	else
		dir = g_build_filename(bindir, "..", "images", NULL);
	return g_canonicalize_filename(dir, NULL);
}

/* The accelerator for the run: OPT "tcg" as asked; "auto" (or NULL) and
 * "kvm" ask the probe, which boots the first case's kernel (its answer is
 * cached until the host reboots).  "kvm" on a host whose probe found KVM
 * broken is refused at once, with the probe's reason: waiting out a boot
 * timeout would only say less.  Returns an exit status, KDH_EXIT_OK when
 * *ACCEL was set. */
static int choose_accel(const char *opt, const KdhCase *first, const char *cache, KdhAccel *accel)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = NULL;
	g_autofree char *why = NULL;
	KdhProgressPrinter progress = kdh_progress_printer(stdout, "  kernel   ");

	if (opt && g_str_equal(opt, "tcg")) {
		*accel = KDH_ACCEL_TCG;
		g_print("kdh: acceleration tcg (as asked)\n");
		return KDH_EXIT_OK;
	}
	k = kdh_kernel_resolve_progress(first->kernel_ref, cache, kdh_run_kernel_progress,
	                                &progress, &error);
	if (!k) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_FAIL;
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

int kdh_cmd_run(int argc, char **argv)
{
	g_autofree char *results = NULL, *cache = NULL, *images = NULL, *accel_opt = NULL;
	gboolean keep_disk = FALSE;
	g_auto(GStrv) files = NULL;
	GOptionEntry entries[] = {
	    {"results", 'r', 0, G_OPTION_ARG_FILENAME, &results,
	     "results folder (default: results)", "DIR"},
	    {"cache", 0, 0, G_OPTION_ARG_FILENAME, &cache,
	     "cache folder (default: $XDG_CACHE_HOME/kdh)", "DIR"},
	    {"images", 0, 0, G_OPTION_ARG_FILENAME, &images,
	     "guest recipes (default: the source tree's images/)", "DIR"},
	    {"accel", 0, 0, G_OPTION_ARG_STRING, &accel_opt,
	     "auto (default), kvm (refused where the probe finds KVM broken) or tcg", "ACCEL"},
	    {"keep-disk", 0, 0, G_OPTION_ARG_NONE, &keep_disk,
	     "keep each case's guest disk in its results folder", NULL},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "SCENARIO..."},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_autoptr(GOptionContext) octx = g_option_context_new("- run kdump scenarios");
	g_autoptr(GPtrArray) cases = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *started = NULL, *run_id = NULL, *run_dir = NULL, *abs = NULL;
	KdhAccel accel;
	guint fails = 0, errors = 0;
	int status;

	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error)) {
		g_printerr("kdh run: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	if (!files || !files[0]) {
		g_printerr("kdh run: name at least one scenario file\n");
		return KDH_EXIT_USAGE;
	}
	if (accel_opt &&
	    !g_strv_contains((const char *[]){"auto", "kvm", "tcg", NULL}, accel_opt)) {
		g_printerr("kdh run: --accel must be auto, kvm or tcg\n");
		return KDH_EXIT_USAGE;
	}
	/* Every scenario is checked before anything starts. */
	cases = kdh_scenario_load_all((const char *const *)files, &error);
	if (!cases) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	if (!cache && !(cache = kdh_cache_dir(&error))) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_FAIL;
	}
	if (!images)
		images = default_images_dir();
	status = choose_accel(accel_opt, g_ptr_array_index(cases, 0), cache, &accel);
	if (status != KDH_EXIT_OK)
		return status;
	if (!kdh_libvirt_ensure_daemons(&started, &error)) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_FAIL;
	}
	if (started)
		g_print("kdh: started %s (they were not running)\n", started);

	run_id = kdh_run_id();
	/* libvirt needs absolute paths for the disk and the serial log. */
	abs = g_canonicalize_filename(results ? results : "results", NULL);
	run_dir = g_build_filename(abs, run_id, NULL);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	KdhRunContext ctx = {
	    .cache_dir = cache,
	    .images_dir = images,
	    .run_dir = run_dir,
	    .backend = &kdh_vm_libvirt,
	    .ops = &kdh_run_host_ops,
	    .accel = accel,
	    .keep_disk = keep_disk,
	    .cancelled = &cancelled,
	};
	for (guint i = 0; i < cases->len && !cancelled; i++) {
		g_autoptr(KdhResult) r = kdh_run_case(&ctx, g_ptr_array_index(cases, i));
		g_print("%s %s", kdh_verdict_name(r->verdict), r->case_name);
		for (guint j = 0; j < r->reasons->len; j++)
			g_print("%s%s", j ? "; " : ": ", (char *)g_ptr_array_index(r->reasons, j));
		g_print("\n  results: %s\n", r->results_dir);
		fails += r->verdict == KDH_VERDICT_FAIL;
		errors += r->verdict == KDH_VERDICT_ERROR || r->verdict == KDH_VERDICT_TIMEOUT;
	}
	if (cancelled)
		return 128 + cancelled;
	return fails ? KDH_EXIT_FAIL : errors ? KDH_EXIT_ERROR : KDH_EXIT_OK;
}
