/* kdh kernel: fetch, import, build, check-config, list. */
#include "cli/commands.h"
#include "kernel/kernel.h"
#include "run/run.h"
#include "util/util.h"

#include <stdio.h>
#include <string.h>

static void print_kernel(const KdhKernel *k)
{
	g_print("%s\t%s\t%s %s\t%s\n", k->ref, k->release, k->package, k->version, k->root);
}

static int kernel_fetch(const char *cache, int argc, char **argv)
{
	gboolean debug = FALSE;
	GOptionEntry entries[] = {{"debug", 0, 0, G_OPTION_ARG_NONE, &debug,
	                           "also fetch the -dbg package's vmlinux (DWARF; hundreds of MB)",
	                           NULL},
	                          G_OPTION_ENTRY_NULL};
	int status = 0;

	if (!kdh_cli_parse("kernel", "fetch", "debian:<abi>[-<flavour>]|debian:default...",
	                   "Fetches Debian's kernel packages through apt into the cache,\n"
	                   "e.g. debian:6.1.0-56-amd64, debian:6.1.0-56-cloud-amd64, "
	                   "debian:6.1.0-56-rt-amd64.",
	                   entries, &argc, &argv))
		return KDH_EXIT_USAGE;
	if (argc < 2) {
		g_printerr("usage: kdh kernel fetch [--debug] debian:<abi>|debian:default...\n");
		return KDH_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(KdhKernel) k = NULL;
		g_autofree char *ref = g_str_has_prefix(argv[i], "debian:")
		                           ? g_strdup(argv[i])
		                           : g_strdup_printf("debian:%s", argv[i]);
		k = kdh_kernel_fetch_debian(ref, debug, cache, &error);
		if (!k) {
			g_printerr("kdh kernel fetch: %s\n", error->message);
			status = 1;
			continue;
		}
		print_kernel(k);
		if (debug)
			g_print("\tdebug: %s\n", k->vmlinux ? k->vmlinux : "(none)");
	}
	return status;
}

static int kernel_import(const char *cache, int argc, char **argv)
{
	GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	int status = 0;

	if (!kdh_cli_parse(
	        "kernel", "import", "FILE|FOLDER...",
	        "Imports a kernel: a .deb, .rpm, Arch .pkg.tar.zst, or a folder with a\n"
	        "vmlinuz/bzImage (and System.map, config, lib/modules/<release>/).\n"
	        "Compressed modules are decompressed (the mini guest's insmod needs .ko).",
	        entries, &argc, &argv))
		return KDH_EXIT_USAGE;
	if (argc < 2) {
		g_printerr("usage: kdh kernel import FILE|FOLDER...\n");
		return KDH_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(KdhKernel) k = kdh_kernel_import(argv[i], cache, &error);
		if (!k) {
			g_printerr("kdh kernel import: %s\n", error->message);
			status = 1;
			continue;
		}
		print_kernel(k);
	}
	return status;
}

static int kernel_build(const char *cache, int argc, char **argv)
{
	g_autofree char *source = NULL, *base = NULL, *config_only = NULL;
	g_auto(GStrv) kconfigs = NULL;
	int jobs = 0;
	GOptionEntry entries[] = {
	    {"source", 's', 0, G_OPTION_ARG_STRING, &source,
	     "linux-source-6.12, linux-source-6.1 (Debian packages, fetched through apt) or a "
	     "clean "
	     "kernel tree",
	     "SOURCE"},
	    {"kconfig", 'k', 0, G_OPTION_ARG_STRING_ARRAY, &kconfigs,
	     "kconfig fragments, comma-separated or repeated: paths, or names in kconfigs/ "
	     "(kdump,virt,lkdtm,debug)",
	     "FRAG,..."},
	    {"base", 'b', 0, G_OPTION_ARG_STRING, &base,
	     "starting config: tinyconfig (default), allnoconfig, defconfig, or a .config file",
	     "BASE"},
	    {"jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "parallel jobs (default: all CPUs)", "N"},
	    {"config-only", 0, 0, G_OPTION_ARG_FILENAME, &config_only,
	     "only configure and check the fragments (seconds); write the .config to FILE", "FILE"},
	    G_OPTION_ENTRY_NULL};
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = NULL;
	KdhProgressPrinter p = kdh_progress_printer(stderr, "");
	KdhKernelBuildOptions opts = {0};

	if (!kdh_cli_parse(
	        "kernel", "build", "",
	        "Builds a kernel from a source package or tree plus kconfig fragments\n"
	        "(tinyconfig + fragments, merge_config.sh, olddefconfig; every option a fragment\n"
	        "asks for must survive).  The same inputs reuse the cached build.\n"
	        "Example: kdh kernel build --source linux-source-6.12 --kconfig kdump,virt",
	        entries, &argc, &argv))
		return KDH_EXIT_USAGE;
	if (!source || argc > 1) {
		g_printerr("usage: kdh kernel build --source SOURCE [--kconfig FRAG,...] [--base "
		           "BASE] [-j N]\n");
		return KDH_EXIT_USAGE;
	}
	for (char **list = kconfigs; list && *list; list++) {
		if (!kdh_kconfig_fragment_paths(*list, paths, &error)) {
			g_printerr("kdh kernel build: %s\n", error->message);
			return KDH_EXIT_USAGE;
		}
	}
	g_ptr_array_add(paths, NULL);
	opts.source = source;
	opts.fragments = (const char *const *)paths->pdata;
	opts.base = base;
	opts.jobs = jobs;
	opts.progress = kdh_run_kernel_progress;
	opts.progress_data = &p;
	if (config_only) {
		gboolean ok = kdh_kernel_configure(&opts, cache, config_only, &error);
		if (p.tty)
			fputc('\n', stderr);
		if (!ok) {
			g_printerr("kdh kernel build: %s\n", error->message);
			return 1;
		}
		g_print("%s\n", config_only);
		return 0;
	}
	k = kdh_kernel_build(&opts, cache, &error);
	if (p.tty)
		fputc('\n', stderr);
	if (!k) {
		g_printerr("kdh kernel build: %s\n", error->message);
		return 1;
	}
	print_kernel(k);
	return 0;
}

/* "debian:...", "build:..." or "import:...": what kdh_kernel_resolve takes.
 * Anything else is a file name. */
static gboolean is_kernel_ref(const char *arg)
{
	return g_str_has_prefix(arg, "debian:") || g_str_has_prefix(arg, "build:") ||
	       g_str_has_prefix(arg, "import:");
}

static int kernel_check_config(const char *cache, int argc, char **argv)
{
	GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) config = NULL;
	g_autoptr(GArray) checks = NULL;
	g_autofree char *path = NULL;
	guint missing = 0, warnings = 0;

	if (!kdh_cli_parse(
	        "kernel", "check-config", "KERNEL|CONFIGFILE",
	        "Reports each option kdump needs: enabled, module or missing, and why.\n"
	        "KERNEL is a kernel ref (debian:..., build:..., import:...) or a kernel image "
	        "with\n"
	        "CONFIG_IKCONFIG; CONFIGFILE a .config or /proc/config.gz.  Exit status 1 when "
	        "a required option is missing.",
	        entries, &argc, &argv))
		return KDH_EXIT_USAGE;
	if (argc != 2) {
		g_printerr("usage: kdh kernel check-config KERNEL|CONFIGFILE\n");
		return KDH_EXIT_USAGE;
	}
	if (is_kernel_ref(argv[1])) {
		g_autoptr(KdhKernel) k = kdh_kernel_resolve(argv[1], cache, &error);
		if (!k) {
			g_printerr("kdh kernel check-config: %s\n", error->message);
			return KDH_EXIT_USAGE;
		}
		/* Imports may lack a config file; the image may embed one. */
		path = g_strdup(g_file_test(k->config, G_FILE_TEST_IS_REGULAR) ? k->config
		                                                               : k->vmlinuz);
	} else if (g_file_test(argv[1], G_FILE_TEST_IS_DIR)) {
		g_printerr("kdh kernel check-config: %s is a folder: give a .config, "
		           "/proc/config.gz, a kernel image, or a kernel ref (debian:..., "
		           "build:..., import:...)\n",
		           argv[1]);
		return KDH_EXIT_USAGE;
	} else if (!g_file_test(argv[1], G_FILE_TEST_EXISTS)) {
		g_printerr(
		    "kdh kernel check-config: no such file: %s (nor a kernel ref: debian:..., "
		    "build:..., import:...)\n",
		    argv[1]);
		return KDH_EXIT_USAGE;
	} else {
		path = g_strdup(argv[1]);
	}
	config = kdh_kconfig_load(path, &error);
	if (!config) {
		g_printerr("kdh kernel check-config: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	g_print("%s\n", path);
	checks = kdh_kernel_check_config(config, &missing);
	for (guint i = 0; i < checks->len; i++) {
		const KdhConfigCheck *c = &g_array_index(checks, KdhConfigCheck, i);
		const char *state = c->state == KDH_OPTION_ENABLED  ? "enabled"
		                    : c->state == KDH_OPTION_MODULE ? "module"
		                                                    : "missing";
		gboolean bad = c->state == KDH_OPTION_MISSING ||
		               (c->state == KDH_OPTION_MODULE && !c->module_ok);
		g_autofree char *name = g_strdup_printf("CONFIG_%s", c->option);
		g_autofree char *as = strchr(c->option, '|') && c->present_name[0]
		                          ? g_strdup_printf(" (as CONFIG_%s)", c->present_name)
		                          : g_strdup("");
		if (bad && !c->required)
			warnings++;
		g_print("  %-28s %-8s %-11s %s%s\n", name, state,
		        !bad          ? "ok"
		        : c->required ? "REQUIRED"
		                      : "recommended",
		        c->why, as);
	}
	g_print("%u required option%s missing, %u recommended missing\n", missing,
	        missing == 1 ? "" : "s", warnings);
	return missing ? 1 : 0;
}

static char *human_size(guint64 bytes)
{
	/* Not g_format_size: its no-break space prints as '?' outside UTF-8. */
	if (bytes >= (guint64)1 << 30)
		return g_strdup_printf("%.1f GiB", bytes / (double)((guint64)1 << 30));
	return g_strdup_printf("%.1f MiB", bytes / (double)(1 << 20));
}

/* The cached kernels as a table whose columns are as wide as their widest
 * cell (refs and releases vary from 6 to 60 characters). */
static void print_table(GPtrArray *list)
{
	enum { COLUMNS = 6 };
	static const char *const heads[COLUMNS] = {"REF",  "RELEASE", "SOURCE",
	                                           "FROM", "SIZE",    "DEBUG"};
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	int width[COLUMNS] = {0};

	g_ptr_array_add(rows, g_strdupv((char **)heads));
	for (guint i = 0; i < list->len; i++) {
		const KdhKernel *k = g_ptr_array_index(list, i);
		char **row = g_new0(char *, COLUMNS + 1);
		row[0] = g_strdup(k->ref);
		row[1] = g_strdup(k->release);
		row[2] = g_strdup(k->source);
		row[3] = g_strdup_printf("%s %s", k->package ? k->package : "",
		                         k->version ? k->version : "");
		row[4] = human_size(kdh_kernel_size(k));
		row[5] = g_strdup(k->vmlinux ? "yes" : "no");
		g_ptr_array_add(rows, row);
	}
	for (guint r = 0; r < rows->len; r++) {
		char **row = g_ptr_array_index(rows, r);
		for (int c = 0; c < COLUMNS; c++)
			width[c] = MAX(width[c], (int)strlen(row[c]));
	}
	for (guint r = 0; r < rows->len; r++) {
		char **row = g_ptr_array_index(rows, r);
		/* SIZE is right-aligned, the last column not padded. */
		g_print("%-*s  %-*s  %-*s  %-*s  %*s  %s\n", width[0], row[0], width[1], row[1],
		        width[2], row[2], width[3], row[3], width[4], row[4], row[5]);
	}
}

static int kernel_list(const char *cache, int argc, char **argv)
{
	GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) list = NULL;

	if (!kdh_cli_parse("kernel", "list", "",
	                   "Lists the kernels in the cache; REF is what a scenario's "
	                   "[kernel] ref= accepts.",
	                   entries, &argc, &argv))
		return KDH_EXIT_USAGE;
	list = kdh_kernel_list(cache, &error);
	if (!list) {
		g_printerr("kdh kernel list: %s\n", error->message);
		return 1;
	}
	print_table(list);
	return 0;
}

int kdh_cmd_kernel(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cache = kdh_cache_dir(&error);
	static const struct {
		const char *name;
		int (*fn)(const char *cache, int argc, char **argv);
	} subs[] = {
	    {"fetch", kernel_fetch}, {"import", kernel_import},
	    {"build", kernel_build}, {"check-config", kernel_check_config},
	    {"list", kernel_list},
	};

	if (!cache) {
		g_printerr("kdh kernel: %s\n", error->message);
		return 1;
	}
	for (guint i = 0; argc >= 2 && i < G_N_ELEMENTS(subs); i++) {
		if (g_str_equal(argv[1], subs[i].name))
			return subs[i].fn(cache, argc - 1, argv + 1);
	}
	g_printerr("usage: kdh kernel fetch|import|build|check-config|list ...\n"
	           "  fetch [--debug] debian:<abi>     Debian's kernel through apt\n"
	           "  import FILE|FOLDER               a .deb, .rpm, .pkg.tar.zst or folder\n"
	           "  build --source S --kconfig F,..  build from source + kconfig fragments\n"
	           "  check-config KERNEL|CONFIGFILE   what kdump needs, present or not\n"
	           "  list                             the cached kernels\n");
	return KDH_EXIT_USAGE;
}
