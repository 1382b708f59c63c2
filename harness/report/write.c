/* The run-level reports: one row per file in a table, each rendered from the
 * results.json document and published atomically. */
#include "report/internal.h"
#include "util/util.h"

KDH_DEFINE_QUARK("kdh-report-error", kdh_report_error)

typedef struct {
	const char *name; /* the format, for errors */
	const char *file;
	KdhReportRender render;
} KdhReportWriter;

static const KdhReportWriter writers[] = {
    {"JSON", "results.json", kdh_report_render_json},
    {"JUnit XML", "junit.xml", kdh_report_render_junit},
    {"TAP", "results.tap", kdh_report_render_tap},
    {"Markdown", "summary.md", kdh_report_render_markdown},
    {"HTML", "report.html", kdh_report_render_html},
};

const char *const kdh_report_files[] = {"results.json", "junit.xml",   "results.tap",
                                        "summary.md",   "report.html", NULL};

gboolean kdh_report_write_all(JsonObject *doc, const char *dir, GError **error)
{
	G_STATIC_ASSERT(G_N_ELEMENTS(writers) + 1 == G_N_ELEMENTS(kdh_report_files));

	for (gsize i = 0; i < G_N_ELEMENTS(writers); i++) {
		g_autofree char *path = g_build_filename(dir, writers[i].file, NULL);
		g_autoptr(GError) local = NULL;
		g_autofree char *text = writers[i].render(doc, &local);

		if (!text || !g_file_set_contents(path, text, -1, &local)) {
			g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_WRITE,
			            "writing the %s report %s: %s", writers[i].name, path,
			            local ? local->message : "nothing rendered");
			return FALSE;
		}
	}
	return TRUE;
}

gboolean kdh_report_write_cases(const KdhRunInfo *info, GPtrArray *cases, const char *dir,
                                GError **error)
{
	g_autoptr(JsonNode) doc = kdh_report_doc_new(info, NULL, cases);

	return kdh_report_write_all(json_node_get_object(doc), dir, error);
}

gboolean kdh_report_write_run(const KdhRunInfo *info, GPtrArray *results, const char *dir,
                              GError **error)
{
	g_autoptr(GPtrArray) cases =
	    g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);

	for (guint i = 0; i < results->len; i++)
		g_ptr_array_add(cases, kdh_result_to_json(g_ptr_array_index(results, i)));
	return kdh_report_write_cases(info, cases, dir, error);
}
