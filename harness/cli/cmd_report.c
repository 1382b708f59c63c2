/* kdh report merge: several results folders (the shards of a CI matrix, or
 * any runs) into one set of reports, exiting with the merged cases' gating
 * status so a final CI job can gate on the whole suite. */
#include "cli/commands.h"
#include "report/report.h"
#include "run/run.h"

#include <stdio.h>

static const char usage_line[] = "usage: kdh report merge DIR... --out DIR [--latest]\n";

/* The exit status for a merge that failed with ERROR. */
static int error_status(const GError *error)
{
	return g_error_matches(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_WRITE) ? KDH_EXIT_ERROR
	                                                                        : KDH_EXIT_USAGE;
}

static int report_merge(int argc, char **argv)
{
	g_autofree char *out = NULL;
	g_auto(GStrv) dirs = NULL;
	gboolean latest = FALSE;
	GOptionEntry entries[] = {
	    {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
	     "the folder the merged reports go to (created; not one of the inputs)", "DIR"},
	    {"latest", 0, 0, G_OPTION_ARG_NONE, &latest,
	     "a case in several folders: keep the one that started last (default: an error)", NULL},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &dirs, NULL, "DIR..."},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- merge results folders");
	g_autoptr(GError) error = NULL;
	g_autofree char *run_id = NULL;
	KdhVerdictCounts counts;
	guint total = 0;

	g_set_prgname("kdh report merge");
	g_option_context_set_summary(
	    ctx, "Reads DIR/results.json of each results folder (results/<run-id>) and writes\n"
	         "results.json, junit.xml, results.tap and summary.md of all their cases into\n"
	         "the --out folder.  Exit status: that of the merged cases (0 all passed or\n"
	         "skipped, 1 a FAIL, 3 an ERROR, TIMEOUT or NOT-RUN), 2 bad input.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("kdh report merge: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	if (!out || !dirs || !dirs[0]) {
		g_printerr("kdh report merge: name the folders to merge and --out\n%s", usage_line);
		return KDH_EXIT_USAGE;
	}
	run_id = kdh_run_id();
	KdhMergeOptions opts = {
	    .dirs = (const char *const *)dirs,
	    .out_dir = out,
	    .run_id = run_id,
	    .latest = latest,
	};
	if (!kdh_report_merge(&opts, &counts, &error)) {
		g_printerr("kdh report merge: %s\n", error->message);
		return error_status(error);
	}
	for (guint v = 0; v < KDH_VERDICT_COUNT; v++)
		total += counts.n[v];
	g_print("kdh report merge: %u cases from %u folders into %s:", total, g_strv_length(dirs),
	        out);
	for (guint v = 0; v < KDH_VERDICT_COUNT; v++) {
		if (counts.n[v])
			g_print(" %u %s", counts.n[v], kdh_verdict_name(v));
	}
	g_print("\n");
	return kdh_report_exit_status(&counts);
}

int kdh_cmd_report(int argc, char **argv)
{
	if (argc >= 2 && g_str_equal(argv[1], "merge"))
		return report_merge(argc - 1, argv + 1);
	if (argc >= 2 && (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "-h"))) {
		printf("%s  Merges the results of several runs or CI shards into one set of\n"
		       "  reports; `kdh report merge --help` for its options.\n",
		       usage_line);
		return KDH_EXIT_OK;
	}
	g_printerr("%s", usage_line);
	return KDH_EXIT_USAGE;
}
