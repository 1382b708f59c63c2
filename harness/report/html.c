/* report.html: the run for a browser, self-contained (style inline, no
 * script, nothing fetched).  The run's facts on top; for a matrix, a
 * kernel x scenario table whose cells are coloured by verdict; then a row
 * per case with links to its verdict.json, serial.log and the dump's
 * dmesg.  Built as a libxml2 HTML tree: every string goes in as a text
 * node or an attribute value, which the serialiser escapes, so no case
 * name, reason or guest line can become markup. */
#include "report/internal.h"

#include <libxml/HTMLtree.h>
#include <libxml/tree.h>

#define TEXT_MAX_CHARS   200
#define REASON_MAX_CHARS 300

static const char style[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}"
    "th{background:#eee}"
    "td.verdict{font-weight:bold}"
    ".v-PASS{background:#c8e6c9}.v-FAIL{background:#ffcdd2}.v-ERROR{background:#ffe0b2}"
    ".v-SKIP{background:#e0e0e0}.v-TIMEOUT{background:#e1bee7}.v-NOT-RUN{background:#f5f5f5}"
    ".v-none{background:#fff;color:#999}"
    ".links a{margin-right:.5em;font-weight:normal}.small{font-size:.85em;color:#555}";

/* S as text for the page: valid UTF-8, no control characters, bounded. */
static char *page_text(const char *s, gsize max)
{
	return kdh_report_escape(s, kdh_report_unprintable, NULL, max);
}

/* A child element NAME of PARENT holding TEXT (may be NULL: empty). */
static xmlNodePtr add_text(xmlNodePtr parent, const char *name, const char *text, gsize max)
{
	g_autofree char *shown = text ? page_text(text, max) : NULL;

	return xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST shown);
}

static void set_attr(xmlNodePtr node, const char *name, const char *value)
{
	g_autofree char *shown = page_text(value, TEXT_MAX_CHARS);

	xmlNewProp(node, BAD_CAST name, BAD_CAST shown);
}

/* A link to FILE of case C's folder (relative to the run folder). */
static void add_link(xmlNodePtr parent, JsonObject *c, const char *file, const char *label)
{
	g_autofree char *href = g_strdup_printf("%s/%s", kdh_doc_str(c, "case"), file);
	xmlNodePtr a = add_text(parent, "a", label, 0);

	set_attr(a, "href", href);
}

/* The links of case C: its verdict, its console, the dump's dmesg. */
static void add_links(xmlNodePtr parent, JsonObject *c)
{
	xmlNodePtr span = xmlNewChild(parent, NULL, BAD_CAST "span", NULL);
	const char *dmesg = kdh_doc_str(c, "dump.dmesg_file");

	set_attr(span, "class", "links");
	add_link(span, c, "verdict.json", "verdict");
	add_link(span, c, "serial.log", "serial");
	if (dmesg)
		add_link(span, c, dmesg, "dmesg");
}

/* A cell of case C (NULL: not run) coloured by its verdict. */
static void add_verdict_cell(xmlNodePtr tr, JsonObject *c)
{
	const char *name = c ? kdh_verdict_name(kdh_doc_verdict(c)) : NULL;
	g_autofree char *cls = g_strdup_printf("verdict v-%s", name ? name : "none");
	xmlNodePtr td = xmlNewChild(tr, NULL, BAD_CAST "td", NULL);
	g_autoptr(GPtrArray) reasons = NULL;

	set_attr(td, "class", cls);
	set_attr(td, "data-verdict", name ? name : "none");
	if (!c) {
		xmlNodeAddContent(td, BAD_CAST "not run");
		return;
	}
	reasons = kdh_doc_strings(c, "reasons");
	if (reasons->len && kdh_doc_verdict(c) != KDH_VERDICT_PASS)
		set_attr(td, "title", g_ptr_array_index(reasons, 0));
	add_text(td, "div", name, 0);
	add_links(td, c);
}

static void add_fact(xmlNodePtr table, const char *name, const char *value)
{
	xmlNodePtr tr;

	if (!value)
		return;
	tr = xmlNewChild(table, NULL, BAD_CAST "tr", NULL);
	add_text(tr, "th", name, 0);
	add_text(tr, "td", value, TEXT_MAX_CHARS);
}

static void add_facts(xmlNodePtr body, JsonObject *doc)
{
	static const char *const facts[][2] = {
	    {"run", "run_id"},
	    {"kdh", "kdh_version"},
	    {"host", "host"},
	    {"acceleration", "accel"},
	    {"started", "started_at"},
	    {"ended", "ended_at"},
	    {"shard", "shard"},
	    {"filter", "filter"},
	    {"interrupted by", "interrupted_by"},
	};
	xmlNodePtr table = xmlNewChild(body, NULL, BAD_CAST "table", NULL);
	double wall = kdh_doc_num(doc, "wall_seconds", -1);
	double jobs = kdh_doc_num(doc, "jobs", -1);
	g_autoptr(GString) counts = g_string_new(NULL);
	KdhVerdictCounts n;

	set_attr(table, "id", "facts");
	for (gsize i = 0; i < G_N_ELEMENTS(facts); i++)
		add_fact(table, facts[i][0], kdh_doc_str(doc, facts[i][1]));
	if (wall >= 0) {
		g_autofree char *d = kdh_report_duration(wall);
		add_fact(table, "wall time", d);
	}
	if (jobs > 0) {
		g_autofree char *j = g_strdup_printf("%.0f", jobs);
		add_fact(table, "jobs", j);
	}
	kdh_report_doc_counts(doc, &n);
	for (guint v = 0; v < KDH_VERDICT_COUNT; v++) {
		if (n.n[v])
			g_string_append_printf(counts, "%s%u %s", counts->len ? ", " : "", n.n[v],
			                       kdh_verdict_name(v));
	}
	add_fact(table, "cases", counts->len ? counts->str : "none");
}

/* The kernel x scenario table, when the run is a matrix. */
static void add_grid(xmlNodePtr body, JsonObject *doc)
{
	g_autoptr(KdhGrid) g = kdh_grid_new(doc);
	xmlNodePtr table, tr;

	if (!g->rows->len)
		return;
	add_text(body, "h2", "Kernels × scenarios", 0);
	table = xmlNewChild(body, NULL, BAD_CAST "table", NULL);
	set_attr(table, "id", "matrix");
	tr = xmlNewChild(xmlNewChild(table, NULL, BAD_CAST "thead", NULL), NULL, BAD_CAST "tr",
	                 NULL);
	add_text(tr, "th", "kernel", 0);
	for (guint col = 0; col < g->columns->len; col++)
		add_text(tr, "th", g_ptr_array_index(g->columns, col), TEXT_MAX_CHARS);
	table = xmlNewChild(table, NULL, BAD_CAST "tbody", NULL);
	for (guint row = 0; row < g->rows->len; row++) {
		JsonObject *any = kdh_grid_row_case(g, row);
		const char *release = any ? kdh_doc_str(any, "kernel.release") : NULL;
		const char *version = any ? kdh_doc_str(any, "kernel.version") : NULL;
		xmlNodePtr th;

		tr = xmlNewChild(table, NULL, BAD_CAST "tr", NULL);
		th = add_text(tr, "th", g_ptr_array_index(g->rows, row), TEXT_MAX_CHARS);
		if (release || version) {
			g_autofree char *what =
			    g_strdup_printf("%s%s%s", release ? release : "", version ? " " : "",
			                    version ? version : "");
			xmlNodePtr small = add_text(th, "div", what, TEXT_MAX_CHARS);
			set_attr(small, "class", "small");
		}
		for (guint col = 0; col < g->columns->len; col++)
			add_verdict_cell(tr, kdh_grid_cell(g, row, col));
	}
}

/* A row per case: what ran, its verdict, and why it is not a pass. */
static void add_cases(xmlNodePtr body, GPtrArray *cases)
{
	static const char *const heads[] = {"case",        "verdict", "kernel",
	                                    "crashkernel", "time",    "first reason"};
	xmlNodePtr table, tr;

	add_text(body, "h2", "Cases", 0);
	table = xmlNewChild(body, NULL, BAD_CAST "table", NULL);
	set_attr(table, "id", "cases");
	tr = xmlNewChild(xmlNewChild(table, NULL, BAD_CAST "thead", NULL), NULL, BAD_CAST "tr",
	                 NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(heads); i++)
		add_text(tr, "th", heads[i], 0);
	table = xmlNewChild(table, NULL, BAD_CAST "tbody", NULL);
	for (guint i = 0; i < cases->len; i++) {
		JsonObject *c = g_ptr_array_index(cases, i);
		g_autoptr(GPtrArray) reasons = kdh_doc_strings(c, "reasons");
		const char *kernel = kdh_doc_str(c, "kernel.release");
		g_autofree char *time = kdh_report_duration(kdh_doc_num(c, "total_seconds", -1));

		tr = xmlNewChild(table, NULL, BAD_CAST "tr", NULL);
		add_text(tr, "td", kdh_doc_str(c, "case"), TEXT_MAX_CHARS);
		add_verdict_cell(tr, c);
		add_text(tr, "td", kernel ? kernel : kdh_doc_str(c, "kernel.ref"), TEXT_MAX_CHARS);
		add_text(tr, "td", kdh_doc_str(c, "asked.crashkernel"), TEXT_MAX_CHARS);
		add_text(tr, "td", time, 0);
		add_text(tr, "td", reasons->len ? g_ptr_array_index(reasons, 0) : NULL,
		         REASON_MAX_CHARS);
	}
}

char *kdh_report_render_html(JsonObject *doc, GError **error)
{
	g_autoptr(GPtrArray) cases = kdh_doc_cases(doc);
	const char *run = kdh_doc_str(doc, "run_id");
	g_autofree char *title = g_strdup_printf("kdh results %s", run ? run : "");
	htmlDocPtr html = htmlNewDocNoDtD(NULL, NULL);
	xmlNodePtr root, head, meta, body;
	xmlChar *out = NULL;
	int size = 0;
	char *text;

	xmlCreateIntSubset(html, BAD_CAST "html", NULL, NULL);
	root = xmlNewNode(NULL, BAD_CAST "html");
	xmlDocSetRootElement(html, root);
	xmlNewProp(root, BAD_CAST "lang", BAD_CAST "en");
	head = xmlNewChild(root, NULL, BAD_CAST "head", NULL);
	meta = xmlNewChild(head, NULL, BAD_CAST "meta", NULL);
	xmlNewProp(meta, BAD_CAST "charset", BAD_CAST "utf-8");
	add_text(head, "title", title, TEXT_MAX_CHARS);
	xmlNewTextChild(head, NULL, BAD_CAST "style", BAD_CAST style);
	body = xmlNewChild(root, NULL, BAD_CAST "body", NULL);
	add_text(body, "h1", title, TEXT_MAX_CHARS);
	add_facts(body, doc);
	add_grid(body, doc);
	add_cases(body, cases);

	htmlDocDumpMemoryFormat(html, &out, &size, 1);
	xmlFreeDoc(html);
	if (!out || size <= 0) {
		xmlFree(out);
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_WRITE,
		            "libxml2 serialised no HTML");
		return NULL;
	}
	text = g_strndup((const char *)out, (gsize)size);
	xmlFree(out);
	return text;
}
