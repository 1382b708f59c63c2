/* summary.md: what a person reads in a merge request.  Counts and wall time
 * on top, then a table with a row per case.  Cell text is one line with
 * Markdown's active characters backslash-escaped (a '|' would end the
 * cell, '<' start HTML), control characters escaped, the reason bounded. */
#include "report/internal.h"

#include <string.h>

#define REASON_MAX_CHARS  160
#define CELL_MAX_CHARS    100
#define WARNING_MAX_CHARS 300

static const char md_active[] = "\\`*_[]<>|~&#!";

/* S as the text of one table cell (or one line), at most MAX characters. */
static char *md_text(const char *s, gsize max)
{
	g_autofree char *flat = g_strdup(s ? s : "");

	/* A line break would end the table row: make it a space. */
	for (char *p = flat; *p; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	}
	return kdh_report_escape(g_strstrip(flat), kdh_report_unprintable, md_active, max);
}

static void append_counts(GString *out, JsonObject *doc)
{
	KdhVerdictCounts counts;
	guint total = 0;
	gboolean first = TRUE;

	kdh_report_doc_counts(doc, &counts);
	for (guint v = 0; v < KDH_VERDICT_COUNT; v++)
		total += counts.n[v];
	g_string_append_printf(out, "**%u case%s**", total, total == 1 ? "" : "s");
	for (guint v = 0; v < KDH_VERDICT_COUNT; v++) {
		if (!counts.n[v])
			continue;
		g_string_append_printf(out, "%s%u %s", first ? ": " : ", ", counts.n[v],
		                       kdh_verdict_name(v));
		first = FALSE;
	}
}

static void append_header(GString *out, JsonObject *doc)
{
	static const char *const facts[][2] = {
	    {"run", "run_id"},  {"kdh", "kdh_version"}, {"host", "host"},
	    {"accel", "accel"}, {"shard", "shard"},     {"filter", "filter"},
	};
	double wall = kdh_doc_num(doc, "wall_seconds", -1);
	const char *interrupted = kdh_doc_str(doc, "interrupted_by");
	JsonArray *merged = kdh_doc_array(doc, "merged_from");

	g_string_append(out, "# kdh results\n\n");
	append_counts(out, doc);
	if (wall >= 0) {
		g_autofree char *d = kdh_report_duration(wall);
		g_string_append_printf(out, " in %s wall time", d);
	}
	g_string_append(out, "\n\n");
	for (gsize i = 0; i < G_N_ELEMENTS(facts); i++) {
		const char *value = kdh_doc_str(doc, facts[i][1]);
		g_autofree char *shown = value ? md_text(value, CELL_MAX_CHARS) : NULL;
		if (shown)
			g_string_append_printf(out, "%s %s · ", facts[i][0], shown);
	}
	if (merged && json_array_get_length(merged))
		g_string_append_printf(out, "merged from %u runs · ",
		                       json_array_get_length(merged));
	if (g_str_has_suffix(out->str, " · "))
		g_string_truncate(out, out->len - strlen(" · "));
	g_string_append(out, "\n\n");
	if (interrupted) {
		g_autofree char *shown = md_text(interrupted, CELL_MAX_CHARS);
		g_string_append_printf(out,
		                       "**Interrupted by %s**: cases marked NOT-RUN did not "
		                       "run.\n\n",
		                       shown);
	}
}

static void append_row(GString *out, JsonObject *c)
{
	KdhVerdict v = kdh_doc_verdict(c);
	g_autoptr(GPtrArray) reasons = kdh_doc_strings(c, "reasons");
	const char *kernel = kdh_doc_str(c, "kernel.release");
	g_autofree char *name = md_text(kdh_doc_str(c, "case"), CELL_MAX_CHARS);
	g_autofree char *kern =
	    md_text(kernel ? kernel : kdh_doc_str(c, "kernel.ref"), CELL_MAX_CHARS);
	g_autofree char *ck = md_text(kdh_doc_str(c, "asked.crashkernel"), CELL_MAX_CHARS);
	g_autofree char *time = kdh_report_duration(kdh_doc_num(c, "total_seconds", -1));
	g_autofree char *reason =
	    md_text(reasons->len ? g_ptr_array_index(reasons, 0) : "", REASON_MAX_CHARS);
	/* A verdict that is not a pass stands out in the table. */
	const char *bold = v == KDH_VERDICT_PASS || v == KDH_VERDICT_SKIP ? "" : "**";

	g_string_append_printf(out, "| %s | %s%s%s | %s | %s | %s | %s |\n", name, bold,
	                       kdh_verdict_name(v), bold, kern, ck, time, reason);
}

/* The kernel x scenario table of a matrix, before the row per case. */
static void append_grid(GString *out, JsonObject *doc)
{
	g_autoptr(KdhGrid) g = kdh_grid_new(doc);

	if (!g->rows->len)
		return;
	g_string_append(out, "## Kernels × scenarios\n\n| Kernel |");
	for (guint col = 0; col < g->columns->len; col++) {
		g_autofree char *head = md_text(g_ptr_array_index(g->columns, col), CELL_MAX_CHARS);
		g_string_append_printf(out, " %s |", head);
	}
	g_string_append(out, "\n| --- |");
	for (guint col = 0; col < g->columns->len; col++)
		g_string_append(out, " --- |");
	g_string_append_c(out, '\n');
	for (guint row = 0; row < g->rows->len; row++) {
		JsonObject *any = kdh_grid_row_case(g, row);
		const char *release = any ? kdh_doc_str(any, "kernel.release") : NULL;
		g_autofree char *label = md_text(g_ptr_array_index(g->rows, row), CELL_MAX_CHARS);
		g_autofree char *rel = release ? md_text(release, CELL_MAX_CHARS) : NULL;

		g_string_append_printf(out, "| %s%s%s%s |", label, rel ? " (" : "", rel ? rel : "",
		                       rel ? ")" : "");
		for (guint col = 0; col < g->columns->len; col++) {
			JsonObject *c = kdh_grid_cell(g, row, col);
			KdhVerdict v = c ? kdh_doc_verdict(c) : KDH_VERDICT_PASS;
			const char *bold =
			    !c || v == KDH_VERDICT_PASS || v == KDH_VERDICT_SKIP ? "" : "**";
			g_string_append_printf(out, " %s%s%s |", bold,
			                       c ? kdh_verdict_name(v) : "not run", bold);
		}
		g_string_append_c(out, '\n');
	}
	g_string_append(out, "\n## Cases\n\n");
}

/* The collectors' and capture kernels' warnings, after the table: a
 * passing case can have them, and they are what a console hides. */
static void append_warnings(GString *out, GPtrArray *cases)
{
	gboolean any = FALSE;

	for (guint i = 0; i < cases->len; i++) {
		JsonObject *c = g_ptr_array_index(cases, i);
		g_autoptr(GPtrArray) warnings = kdh_doc_strings(c, "warnings");
		g_autofree char *name = md_text(kdh_doc_str(c, "case"), CELL_MAX_CHARS);

		for (guint j = 0; j < warnings->len; j++) {
			g_autofree char *w =
			    md_text(g_ptr_array_index(warnings, j), WARNING_MAX_CHARS);
			if (!any)
				g_string_append(out, "\n## Warnings\n\n");
			any = TRUE;
			g_string_append_printf(out, "- %s: %s\n", name, w);
		}
	}
}

char *kdh_report_render_markdown(JsonObject *doc, GError **error)
{
	g_autoptr(GPtrArray) cases = kdh_doc_cases(doc);
	GString *out = g_string_new(NULL);

	(void)error;
	append_header(out, doc);
	append_grid(out, doc);
	g_string_append(out, "| Case | Verdict | Kernel | crashkernel | Time | First reason |\n"
	                     "| --- | --- | --- | --- | ---: | --- |\n");
	for (guint i = 0; i < cases->len; i++)
		append_row(out, g_ptr_array_index(cases, i));
	append_warnings(out, cases);
	return g_string_free(out, FALSE);
}
