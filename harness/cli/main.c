/* kdh: the command line.  A table of subcommands, git-style. */
#include "cli/commands.h"
#include "dump/dump.h"
#include "kernel/kernel.h"
#include "run/run.h"
#include "scenario/scenario.h"
#include "util/util.h"
#include "vm/vm.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
	cancelled = 1;
	/* A second signal ends kdh at once; libvirt still destroys the domain
	 * when our connection drops (AUTODESTROY). */
	signal(sig, SIG_DFL);
}

/* images/ of the source tree this binary was built in: build/kdh → ../images. */
static char *default_images_dir(void)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *bindir = exe ? g_path_get_dirname(exe) : NULL;

	if (g_file_test("images", G_FILE_TEST_IS_DIR) || !bindir)
		return g_strdup("images");
	return g_build_filename(bindir, "..", "images", NULL);
}

int kdh_cmd_run(int argc, char **argv)
{
	g_autofree char *results = NULL, *cache = NULL, *images = NULL, *accel_opt = NULL;
	g_autofree char *uri = NULL;
	g_autoptr(KdhVmRunDir) vm_dir = NULL;
	gboolean keep_disk = FALSE;
	g_auto(GStrv) files = NULL;
	GOptionEntry entries[] = {
	    {"results", 'r', 0, G_OPTION_ARG_FILENAME, &results,
	     "results folder (default: results)", "DIR"},
	    {"cache", 0, 0, G_OPTION_ARG_FILENAME, &cache,
	     "cache folder (default: $XDG_CACHE_HOME/kdh)", "DIR"},
	    {"images", 0, 0, G_OPTION_ARG_FILENAME, &images,
	     "guest recipes (default: the source tree's images/)", "DIR"},
	    {"accel", 0, 0, G_OPTION_ARG_STRING, &accel_opt, "auto (default), kvm or tcg", "ACCEL"},
	    {"connect", 'c', 0, G_OPTION_ARG_STRING, &uri,
	     "libvirt URI (default: $LIBVIRT_DEFAULT_URI, else qemu:///system for root, "
	     "qemu:///session for other users)",
	     "URI"},
	    {"keep-disk", 0, 0, G_OPTION_ARG_NONE, &keep_disk,
	     "keep each case's guest disk in its results folder", NULL},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "SCENARIO..."},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_autoptr(GOptionContext) octx = g_option_context_new("SCENARIO... - run kdump scenarios");
	g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_case_free);
	g_autoptr(GError) error = NULL;
	g_autofree char *started = NULL, *why = NULL, *run_id = NULL, *run_dir = NULL;
	KdhAccel accel;
	int failures = 0;

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
	/* Every scenario is checked before any VM starts. */
	for (char **f = files; *f; f++) {
		g_autoptr(GPtrArray) more = kdh_scenario_load(*f, &error);
		if (!more) {
			g_printerr("kdh: %s\n", error->message);
			return KDH_EXIT_USAGE;
		}
		for (guint i = 0; i < more->len; i++)
			g_ptr_array_add(cases, g_steal_pointer(&more->pdata[i]));
	}
	if (!cache && !(cache = kdh_cache_dir(&error))) {
		g_printerr("kdh: %s\n", error->message);
		return 1;
	}
	if (!images)
		images = default_images_dir();
	{
		char *abs = g_canonicalize_filename(images, NULL);
		g_free(images);
		images = abs;
	}
	if (!results)
		results = g_strdup("results");

	if (!uri)
		uri = kdh_libvirt_default_uri();
	if (!kdh_libvirt_prepare(uri, &started, &error)) {
		g_printerr("kdh: %s\n", error->message);
		return 1;
	}
	if (started)
		g_print("kdh: started %s (they were not running)\n", started);
	if (!accel_opt || g_str_equal(accel_opt, "auto")) {
		/* The probe boots a real kernel: the first case's. */
		const KdhCase *first = g_ptr_array_index(cases, 0);
		KdhProgressPrinter progress = kdh_progress_printer(stdout, "  kernel   ");
		g_autoptr(KdhKernel) k = kdh_kernel_resolve_progress(
		    first->kernel_ref, cache, kdh_run_kernel_progress, &progress, &error);
		if (!k) {
			g_printerr("kdh: %s\n", error->message);
			return 1;
		}
		accel = kdh_accel_probe(k->vmlinuz, cache, &why);
		g_print("kdh: acceleration %s%s%s\n", kdh_accel_name(accel),
		        why ? ": KVM does not work here: " : "", why ? why : "");
	} else {
		accel = g_str_equal(accel_opt, "kvm") ? KDH_ACCEL_KVM : KDH_ACCEL_TCG;
		g_print("kdh: acceleration %s (as asked)\n", kdh_accel_name(accel));
	}

	run_id = kdh_run_id();
	/* libvirt needs absolute paths for the disk and the serial log. */
	{
		g_autofree char *abs = g_canonicalize_filename(results, NULL);
		run_dir = g_build_filename(abs, run_id, NULL);
	}
	if (!(vm_dir = kdh_vm_run_dir_new(cache, &error))) {
		g_printerr("kdh: %s\n", error->message);
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	KdhRunContext ctx = {
	    .cache_dir = cache,
	    .images_dir = images,
	    .run_dir = run_dir,
	    .vm_dir = vm_dir->path,
	    .uri = uri,
	    .backend = &kdh_vm_libvirt,
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
		if (r->verdict != KDH_VERDICT_PASS)
			failures++;
	}
	if (cancelled)
		return 130;
	return failures ? 1 : 0;
}

static int cmd_dump(int argc, char **argv)
{
	return dump_cli_main(argc - 1, argv + 1);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
    {"run", kdh_cmd_run, "run scenario files: boot, crash, capture, verify"},
    {"dump", cmd_dump, "read a dump: info, dmesg, verify, read"},
    {"kernel", kdh_cmd_kernel, "kernels: fetch, list"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: kdh COMMAND [ARGS]\n\ncommands:\n");
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-6s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return KDH_EXIT_USAGE;
	}
	if (g_str_equal(argv[1], "-h") || g_str_equal(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (g_str_equal(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "kdh: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return KDH_EXIT_USAGE;
}
