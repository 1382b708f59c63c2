/* kdh list: what a run of the same files and options would run, case by
 * case, without starting anything. */
#include "cli/commands.h"
#include "scenario/scenario.h"
#include "util/util.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

/* BYTES the way a scenario file writes it: the largest binary unit that
 * divides it ("1G", "1536M"), else plain bytes. */
static char *human_size(guint64 bytes)
{
	static const char units[] = "TGMK";

	for (guint i = 0; i < 4; i++) {
		guint64 unit = 1ULL << (10 * (4 - i));
		if (bytes >= unit && bytes % unit == 0)
			return g_strdup_printf("%" G_GUINT64_FORMAT "%c", bytes / unit, units[i]);
	}
	return g_strdup_printf("%" G_GUINT64_FORMAT, bytes);
}

/* The collector column: with its dump level and compression where the
 * collector uses them. */
static char *collector_text(const KdhCase *c)
{
	if (!kdh_collector_find(c->collector)->filters)
		return g_strdup(c->collector);
	return g_strdup_printf("%s(%u,%s)", c->collector, c->dump_level, c->compression);
}

enum {
	COL_NAME,
	COL_KERNEL,
	COL_MEMORY,
	COL_CPUS,
	COL_CRASHKERNEL,
	COL_IMAGE,
	COL_TRIGGER,
	COL_COLLECTOR,
	COL_EXPECT,
	COL_WHERE,
	N_COLS
};

static const char *const headers[N_COLS] = {
    "NAME",  "KERNEL",  "MEMORY",    "CPUS",   "CRASHKERNEL",
    "IMAGE", "TRIGGER", "COLLECTOR", "EXPECT", "FILE:LINE",
};

/* One row of the text table: each column's text, owned. */
static char **text_row(const KdhCase *c)
{
	char **row = g_new0(char *, N_COLS + 1);

	row[COL_NAME] = g_strdup(c->name);
	row[COL_KERNEL] = g_strdup(c->kernel_ref);
	row[COL_MEMORY] = human_size(c->memory);
	row[COL_CPUS] = g_strdup_printf("%u", c->cpus);
	row[COL_CRASHKERNEL] = g_strdup(c->crashkernel);
	row[COL_IMAGE] = g_strdup(c->image);
	row[COL_TRIGGER] = g_strdup(c->trigger->name);
	row[COL_COLLECTOR] = collector_text(c);
	row[COL_EXPECT] = g_strdup(c->outcome == KDH_OUTCOME_DUMP ? "dump" : "no-dump");
	row[COL_WHERE] = g_strdup_printf("%s:%u", c->source, c->name_line);
	return row;
}

/* ROWS (of char**, each NCOLS cells) under HEADS as a table, columns as
 * wide as their widest cell (in characters: a path may hold any UTF-8), two
 * spaces apart, the last one unpadded. */
static void print_table(const char *const *heads, guint ncols, GPtrArray *rows)
{
	g_autofree glong *width = g_new0(glong, ncols);
	g_autoptr(GString) line = g_string_new(NULL);

	g_ptr_array_insert(rows, 0, g_strdupv((char **)heads));
	for (guint col = 0; col < ncols; col++) {
		for (guint r = 0; r < rows->len; r++)
			width[col] =
			    MAX(width[col],
			        g_utf8_strlen(((char **)g_ptr_array_index(rows, r))[col], -1));
	}
	for (guint r = 0; r < rows->len; r++) {
		char **row = g_ptr_array_index(rows, r);
		g_string_truncate(line, 0);
		for (guint col = 0; col < ncols; col++) {
			g_string_append(line, row[col]);
			if (col + 1 < ncols) {
				glong pad = width[col] - g_utf8_strlen(row[col], -1) + 2;
				for (glong p = 0; p < pad; p++)
					g_string_append_c(line, ' ');
			}
		}
		printf("%s\n", line->str);
	}
}

static void print_text(GPtrArray *cases)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);

	for (guint i = 0; i < cases->len; i++)
		g_ptr_array_add(rows, text_row(g_ptr_array_index(cases, i)));
	print_table(headers, N_COLS, rows);
}

static void print_json_node(JsonNode *root);

/* ---- the trigger table (kdh list --triggers) ---- */

static const char *const fire_names[] = {
    [KDH_FIRE_GUEST] = "guest",
    [KDH_FIRE_HOST_NMI] = "host: NMI",
    [KDH_FIRE_HOST_KEY] = "host: Alt+SysRq+C",
    [KDH_FIRE_HOST_MCE] = "host: machine check",
    [KDH_FIRE_HOST_WATCHDOG] = "host: watchdog NMI",
};

static const char *const needs_names[] = {
    [KDH_NEEDS_NOTHING] = "-",
    [KDH_NEEDS_CRASHMOD] = "crash module",
    [KDH_NEEDS_LKDTM] = "LKDTM",
};

/* One row of the text table of T, each cell owned. */
static char **trigger_row(const KdhTrigger *t)
{
	char **row = g_new0(char *, 7);

	row[0] = g_strdup(t->name);
	row[1] = g_strdup(fire_names[t->fire]);
	row[2] = g_strdup(needs_names[t->needs]);
	row[3] = g_strdup(*t->sysctls ? t->sysctls : "-");
	row[4] = g_strdup(t->signature);
	row[5] = g_strdup(t->function ? t->function : "-");
	return row;
}

/* Every field of T. */
static void add_trigger(JsonBuilder *b, const KdhTrigger *t)
{
	json_builder_begin_object(b);
	kdh_json_add_string(b, "name", t->name);
	kdh_json_add_string(b, "fired_by", fire_names[t->fire]);
	kdh_json_add_string(b, "needs", t->needs ? needs_names[t->needs] : NULL);
	kdh_json_add_string(b, "sysctls", t->sysctls);
	kdh_json_add_string(b, "panic", t->signature);
	kdh_json_add_string(b, "function", t->function);
	json_builder_set_member_name(b, "cpu");
	json_builder_add_boolean_value(b, t->pins_cpu);
	kdh_json_add_string(b, "how", t->how);
	json_builder_end_object(b);
}

static void print_triggers(gboolean json)
{
	static const char *const theads[] = {"TRIGGER", "FIRED BY", "NEEDS", "SYSCTLS",
	                                     "PANIC",   "FUNCTION", NULL};
	gsize n;
	const KdhTrigger *t = kdh_triggers(&n);

	if (json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		json_builder_begin_array(b);
		for (gsize i = 0; i < n; i++)
			add_trigger(b, &t[i]);
		json_builder_end_array(b);
		print_json_node(json_builder_get_root(b));
	} else {
		g_autoptr(GPtrArray) rows =
		    g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
		for (gsize i = 0; i < n; i++)
			g_ptr_array_add(rows, trigger_row(&t[i]));
		print_table(theads, G_N_ELEMENTS(theads) - 1, rows);
	}
}

/* Every field of C; dump_level and compression are null where the
 * collector does not use them. */
static void add_case(JsonBuilder *b, const KdhCase *c)
{
	gboolean filters = kdh_collector_find(c->collector)->filters;

	json_builder_begin_object(b);
	kdh_json_add_string(b, "name", c->name);
	kdh_json_add_string(b, "description", c->description);
	kdh_json_add_string(b, "file", c->source);
	kdh_json_add_int(b, "line", c->name_line);
	kdh_json_add_string(b, "kernel_ref", c->kernel_ref);
	kdh_json_add_int(b, "kernel_line", c->kernel_line);
	kdh_json_add_int(b, "memory", (gint64)c->memory);
	kdh_json_add_int(b, "cpus", c->cpus);
	kdh_json_add_string(b, "crashkernel", c->crashkernel);
	kdh_json_add_string(b, "image", c->image);
	kdh_json_add_string(b, "trigger", c->trigger->name);
	kdh_json_add_string(b, "collector", c->collector);
	json_builder_set_member_name(b, "dump_level");
	if (filters)
		json_builder_add_int_value(b, c->dump_level);
	else
		json_builder_add_null_value(b);
	kdh_json_add_string(b, "compression", filters ? c->compression : NULL);
	kdh_json_add_string(b, "outcome", c->outcome == KDH_OUTCOME_DUMP ? "dump" : "no-dump");
	kdh_json_add_string(b, "panic", c->expect_panic);
	kdh_json_add_string(b, "function", c->expect_function);
	kdh_json_add_string(b, "reason",
	                    c->outcome == KDH_OUTCOME_NO_DUMP ? kdh_reason_name(c->expect_reason)
	                                                      : NULL);
	json_builder_set_member_name(b, "cpu");
	if (c->cpu >= 0)
		json_builder_add_int_value(b, c->cpu);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "timeouts");
	json_builder_begin_object(b);
	kdh_json_add_int(b, "boot", c->timeout_boot);
	kdh_json_add_int(b, "crash", c->timeout_crash);
	kdh_json_add_int(b, "capture", c->timeout_capture);
	kdh_json_add_int(b, "shutdown", c->timeout_shutdown);
	json_builder_end_object(b);
	json_builder_end_object(b);
}

/* ROOT (taken) as pretty JSON on standard output. */
static void print_json_node(JsonNode *root)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *text = NULL;

	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	text = json_generator_to_data(gen, NULL);
	json_node_unref(root);
	printf("%s\n", text);
}

static void print_json(GPtrArray *cases)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_array(b);
	for (guint i = 0; i < cases->len; i++)
		add_case(b, g_ptr_array_index(cases, i));
	json_builder_end_array(b);
	print_json_node(json_builder_get_root(b));
}

int kdh_cmd_list(int argc, char **argv)
{
	KdhSelectOptions select = {0};
	gboolean json = FALSE, triggers = FALSE, matrix = FALSE;
	g_auto(GStrv) files = NULL;
	const GOptionEntry entries[] = {
	    {"json", 0, 0, G_OPTION_ARG_NONE, &json, "a JSON array of objects, every field", NULL},
	    {"triggers", 0, 0, G_OPTION_ARG_NONE, &triggers,
	     "the trigger table instead of cases (no SCENARIO)", NULL},
	    {"matrix", 0, 0, G_OPTION_ARG_NONE, &matrix,
	     "SCENARIO is one matrix file (kdh matrix): list its cells", NULL},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "SCENARIO..."},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_autofree GOptionEntry *select_entries = kdh_select_option_entries(&select);
	g_autoptr(GOptionContext) octx =
	    g_option_context_new("- the cases scenario files expand to, without running them");
	g_autoptr(GPtrArray) cases = NULL;
	g_autoptr(GError) error = NULL;

	g_set_prgname("kdh list");
	g_option_context_add_main_entries(octx, entries, NULL);
	g_option_context_add_main_entries(octx, select_entries, NULL);
	if (g_option_context_parse(octx, &argc, &argv, &error) && triggers) {
		kdh_select_options_clear(&select);
		if (files) {
			g_printerr("kdh list: --triggers takes no scenario\n");
			return KDH_EXIT_USAGE;
		}
		print_triggers(json);
		return KDH_EXIT_OK;
	}
	if (!error)
		cases = (matrix ? kdh_cli_load_matrix
		                : kdh_cli_load_cases)((const char *const *)files, &select, &error);
	kdh_select_options_clear(&select);
	if (!cases) {
		g_printerr("kdh list: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	if (json)
		print_json(cases);
	else
		print_text(cases);
	return KDH_EXIT_OK;
}
