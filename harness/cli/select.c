/* What commands share: parsing a subcommand's options, the recipes folder,
 * and the options every command that takes scenario files has: which cases
 * (--filter, --shard) and how patient to be with them (--timeout-scale). */
#include "cli/commands.h"
#include "scenario/scenario.h"

GOptionEntry *kdh_select_option_entries(KdhSelectOptions *o)
{
	const GOptionEntry rows[] = {
	    {"filter", 0, 0, G_OPTION_ARG_STRING, &o->filter,
	     "only the cases whose name matches GLOB ('*' and '?'; an error when none does)",
	     "GLOB"},
	    {"shard", 0, 0, G_OPTION_ARG_STRING, &o->shard,
	     "only shard I of N (1 <= I <= N <= 1000), chosen by case name alone: the N jobs of "
	     "a CI matrix split the cases among them without talking",
	     "I/N"},
	    {"timeout-scale", 0, 0, G_OPTION_ARG_STRING, &o->timeout_scale,
	     "multiply every phase timeout by X (0.1 to 100, e.g. 3 on a slow host)", "X"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	return g_memdup2(rows, sizeof(rows));
}

void kdh_select_options_clear(KdhSelectOptions *o)
{
	g_clear_pointer(&o->filter, g_free);
	g_clear_pointer(&o->shard, g_free);
	g_clear_pointer(&o->timeout_scale, g_free);
}

/* The cases of FILES (NULL-terminated, at least one): scenario files, or
 * with MATRIX one matrix file. */
static GPtrArray *load(const char *const *files, gboolean matrix, GError **error)
{
	if (!matrix)
		return kdh_scenario_load_all(files, error);
	if (files[1]) {
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
		            "name one matrix file, not %u files", g_strv_length((char **)files));
		return NULL;
	}
	return kdh_matrix_load(files[0], error);
}

static GPtrArray *load_selected(const char *const *files, gboolean matrix,
                                const KdhSelectOptions *o, GError **error)
{
	g_autoptr(GPtrArray) cases = NULL;
	guint index = 0, count = 0, loaded;
	double scale = 1;

	/* The options first: a typo in one is cheaper to report than a file. */
	if (o->shard && !kdh_shard_parse(o->shard, &index, &count, error))
		return NULL;
	if (o->timeout_scale && !kdh_parse_timeout_scale(o->timeout_scale, &scale, error))
		return NULL;
	if (o->filter && !*o->filter) {
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
		            "--filter: an empty pattern matches no case");
		return NULL;
	}
	if (!files || !files[0]) {
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_MISSING,
		            matrix ? "name a matrix file" : "name at least one scenario file");
		return NULL;
	}
	cases = load(files, matrix, error);
	if (!cases)
		return NULL;
	loaded = cases->len;
	kdh_cases_select(cases, o->filter, 0, 0);
	if (cases->len == 0) {
		g_autofree char *shown = g_strescape(o->filter, NULL);
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
		            "--filter '%s' matches none of the %u cases", shown, loaded);
		return NULL;
	}
	if (count) {
		guint before = cases->len;
		kdh_cases_select(cases, NULL, index, count);
		if (cases->len == 0)
			g_printerr("kdh: shard %u/%u holds none of the %u case%s: nothing to do\n",
			           index, count, before, before == 1 ? "" : "s");
	}
	if (o->timeout_scale) {
		for (guint i = 0; i < cases->len; i++)
			kdh_case_scale_timeouts(g_ptr_array_index(cases, i), scale);
	}
	return g_steal_pointer(&cases);
}

GPtrArray *kdh_cli_load_cases(const char *const *files, const KdhSelectOptions *o, GError **error)
{
	return load_selected(files, FALSE, o, error);
}

GPtrArray *kdh_cli_load_matrix(const char *const *files, const KdhSelectOptions *o, GError **error)
{
	return load_selected(files, TRUE, o, error);
}

gboolean kdh_cli_parse(const char *command, const char *sub, const char *args, const char *summary,
                       GOptionEntry *entries, int *argc, char ***argv)
{
	g_autofree char *name = g_strdup_printf("kdh %s %s", command, sub);
	g_autoptr(GOptionContext) ctx = g_option_context_new(args);
	g_autoptr(GError) error = NULL;

	g_set_prgname(name);
	g_option_context_set_summary(ctx, summary);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		g_printerr("%s: %s\n", name, error->message);
		return FALSE;
	}
	return TRUE;
}

char *kdh_cli_images_dir(void)
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
