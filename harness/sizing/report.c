/* The sizing's report: a table per RAM size, the suggested crashkernel=,
 * the defaults and estimators judged against the measurement; as text,
 * Markdown, JSON (json-glib) and JUnit XML (libxml2). */
#include "sizing/sizing.h"
#include "util/util.h"

#include <json-glib/json-glib.h>
#include <libxml/tree.h>

/* BYTES as "512M", "1G"; "-" for none. */
static char *size_text(guint64 bytes)
{
	return bytes ? kdh_sizing_size_text(bytes) : g_strdup("-");
}

static const KdhSizingRow *row_at(const KdhSizingReport *r, guint i)
{
	return g_ptr_array_index(r->rows, i);
}

/* The smallest working size of a row, or 0 when it has no answer. */
static guint64 answer(const KdhSizingSearch *s)
{
	return s->state == KDH_SEARCH_ANSWERED || s->state == KDH_SEARCH_LOW_PASSES ? s->pass : 0;
}

char *kdh_sizing_report_suggestion(const KdhSizingReport *report)
{
	g_autoptr(GArray) points = g_array_new(FALSE, FALSE, sizeof(KdhSizingPoint));

	for (guint i = 0; i < report->rows->len; i++) {
		const KdhSizingSearch *s = &row_at(report, i)->search;
		KdhSizingPoint p = {s->ram, answer(s)};
		if (p.size)
			g_array_append_val(points, p);
	}
	if (!points->len)
		return NULL;
	return kdh_sizing_suggest((const KdhSizingPoint *)(void *)points->data, points->len,
	                          report->margin_pct, report->step);
}

/* What RESERVES (0: nothing) is worth where NEED worked: "enough (+24M)",
 * "too small (-8M)", "none" into a new string. */
static char *judge(guint64 reserves, guint64 need)
{
	if (!need)
		return g_strdup("not measured");
	if (!reserves)
		return g_strdup("none: no dump");
	if (reserves >= need)
		return g_strdup_printf("enough (+%" G_GUINT64_FORMAT "M)",
		                       (reserves - need) / KDH_MIB);
	return g_strdup_printf("too small (-%" G_GUINT64_FORMAT "M)", (need - reserves) / KDH_MIB);
}

/* What EST estimates, or the default EXPR reserves, on a machine of RAM
 * bytes (0: nothing, or EXPR does not parse). */
static guint64 reserved_by(const KdhSizingReport *report, const char *expr,
                           const KdhSizingEstimator *est, guint64 ram)
{
	guint64 reserves = 0;

	if (est)
		return est->estimate(&report->inputs, ram);
	return kdh_crashkernel_eval(expr, ram, &reserves) ? reserves : 0;
}

/* A row of the comparison: NAME (then, on a line of its own in text,
 * DETAIL: the expression or formula), and per RAM what it reserves and its
 * judgement, with EST (an estimator) or EXPR (a default's crashkernel=). */
static void append_comparison(GString *out, const KdhSizingReport *report, const char *name,
                              const char *detail, const char *expr, const KdhSizingEstimator *est,
                              gboolean markdown)
{
	if (markdown)
		g_string_append_printf(out, "| %s `%s` |", name, detail);
	else
		g_string_append_printf(out, "  %-40s", name);
	for (guint i = 0; i < report->rows->len; i++) {
		const KdhSizingSearch *s = &row_at(report, i)->search;
		guint64 reserves;
		g_autofree char *shown = NULL, *verdict = NULL, *cell = NULL;

		reserves = reserved_by(report, expr, est, s->ram);
		/* An estimate is a request: kdh rounds it up to whole MiB. */
		reserves = (reserves + KDH_MIB - 1) / KDH_MIB * KDH_MIB;
		shown = size_text(reserves);
		verdict = judge(reserves, answer(s));
		cell = g_strdup_printf("%s %s", reserves ? shown : "-", verdict);
		g_string_append_printf(out, markdown ? " %s |" : " %-24s", cell);
	}
	if (markdown)
		g_string_append_c(out, '\n');
	else
		g_string_append_printf(out, "\n      %s\n", detail);
}

char *kdh_sizing_report_text(const KdhSizingReport *report, gboolean markdown)
{
	GString *out = g_string_new(NULL);
	g_autofree char *suggestion = kdh_sizing_report_suggestion(report);
	g_autofree char *low = size_text(report->low), *high = size_text(report->high);
	g_autofree char *step = size_text(report->step);
	gsize n_defaults, n_estimators;
	const KdhSizingDefault *defaults = kdh_sizing_defaults(&n_defaults);
	const KdhSizingEstimator *estimators = kdh_sizing_estimators(&n_estimators);

	if (markdown)
		g_string_append(out, "# kdh sizing\n\n");
	g_string_append_printf(out,
	                       "%skernel %s, image %s, collector %s, trigger %s; bounds %s..%s, "
	                       "step %s%s\n\n",
	                       markdown ? "" : "kdh sizing: ", report->kernel, report->image,
	                       report->collector, report->trigger, low, high, step,
	                       markdown ? "." : "");
	g_string_append(out, markdown
	                         ? "| RAM | smallest working | first failing | diagnosis | "
	                           "probes | time | outcome |\n| --- | --- | --- | --- | ---: | "
	                           "---: | --- |\n"
	                         : "  RAM     smallest  failing   diagnosis            probes  "
	                           "   time  outcome\n");
	for (guint i = 0; i < report->rows->len; i++) {
		const KdhSizingSearch *s = &row_at(report, i)->search;
		g_autofree char *ram = size_text(s->ram), *works = size_text(answer(s));
		g_autofree char *fails = size_text(s->fail);
		g_autofree char *outcome =
		    s->state == KDH_SEARCH_BLOCKED ? g_strdup_printf("blocked: %s", s->why)
		    : s->state == KDH_SEARCH_LOW_PASSES
		        ? g_strdup_printf("works at --low %s already: the answer is %s or less",
		                          low, low)
		    : s->state == KDH_SEARCH_NONE_WORKS ? g_strdup(s->why)
		                                        : g_strdup(kdh_search_state_name(s->state));
		const char *diag = s->fail_diagnosis ? s->fail_diagnosis : "-";

		g_string_append_printf(out,
		                       markdown ? "| %s | %s | %s | %s | %u | %.0f s | %s |\n"
		                                : "  %-7s %-9s %-9s %-20s %-7u %5.0f s  %s\n",
		                       ram, works, fails, diag,
		                       s->probes + row_at(report, i)->unneeded, s->seconds,
		                       outcome);
	}
	g_string_append_printf(
	    out, "\n%s%s%s\n", markdown ? "Suggested: `crashkernel=" : "suggested crashkernel=",
	    suggestion ? suggestion : "(no RAM size answered)", markdown ? "`" : "");
	g_string_append_printf(out,
	                       "  (each range reserves what its upper RAM size needed, +%u%%, "
	                       "rounded up to %s; the kernel rounds a machine's RAM up to 128M "
	                       "before matching; below the smallest RAM measured nothing is "
	                       "reserved; the last range is extrapolated)\n\n",
	                       report->margin_pct, step);
	if (markdown) {
		g_string_append(out, "| reserved by, per RAM |");
		for (guint i = 0; i < report->rows->len; i++) {
			g_autofree char *ram = size_text(row_at(report, i)->search.ram);
			g_string_append_printf(out, " %s |", ram);
		}
		g_string_append(out, "\n| --- |");
		for (guint i = 0; i < report->rows->len; i++)
			g_string_append(out, " --- |");
		g_string_append_c(out, '\n');
	} else {
		g_string_append_printf(
		    out, "what others reserve, against the measurement:\n  %-40s", "at guest RAM");
		for (guint i = 0; i < report->rows->len; i++) {
			g_autofree char *ram = size_text(row_at(report, i)->search.ram);
			g_string_append_printf(out, " %-24s", ram);
		}
		g_string_append_c(out, '\n');
	}
	for (gsize i = 0; i < n_defaults; i++)
		append_comparison(out, report, defaults[i].name, defaults[i].expr, defaults[i].expr,
		                  NULL, markdown);
	for (gsize i = 0; i < n_estimators; i++)
		append_comparison(out, report, estimators[i].name, estimators[i].how, NULL,
		                  &estimators[i], markdown);
	return g_string_free(out, FALSE);
}

/* Per RAM size, what EXPR (or EST) reserves and whether it is enough. */
static void add_judged(JsonBuilder *b, const KdhSizingReport *report, const char *expr,
                       const KdhSizingEstimator *est)
{
	json_builder_set_member_name(b, "per_ram");
	json_builder_begin_array(b);
	for (guint i = 0; i < report->rows->len; i++) {
		const KdhSizingSearch *s = &row_at(report, i)->search;
		guint64 reserves, need = answer(s);

		reserves = reserved_by(report, expr, est, s->ram);
		json_builder_begin_object(b);
		kdh_json_add_int(b, "ram", (gint64)s->ram);
		kdh_json_add_int(b, "reserves", (gint64)reserves);
		kdh_json_add_string(b, "verdict",
		                    !need              ? "not measured"
		                    : !reserves        ? "none"
		                    : reserves >= need ? "enough"
		                                       : "too small");
		kdh_json_add_int(b, "wasted",
		                 need && reserves > need ? (gint64)(reserves - need) : 0);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

static JsonNode *report_json(const KdhSizingReport *report)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autofree char *suggestion = kdh_sizing_report_suggestion(report);
	gsize n;
	const KdhSizingDefault *defaults = kdh_sizing_defaults(&n);
	const KdhSizingEstimator *estimators;

	json_builder_begin_object(b);
	kdh_json_add_string(b, "kernel", report->kernel);
	kdh_json_add_string(b, "image", report->image);
	kdh_json_add_string(b, "collector", report->collector);
	kdh_json_add_string(b, "trigger", report->trigger);
	kdh_json_add_int(b, "low", (gint64)report->low);
	kdh_json_add_int(b, "high", (gint64)report->high);
	kdh_json_add_int(b, "step", (gint64)report->step);
	kdh_json_add_int(b, "margin_pct", report->margin_pct);
	json_builder_set_member_name(b, "wall_seconds");
	json_builder_add_double_value(b, report->wall_seconds);
	json_builder_set_member_name(b, "rows");
	json_builder_begin_array(b);
	for (guint i = 0; i < report->rows->len; i++) {
		const KdhSizingRow *row = row_at(report, i);
		const KdhSizingSearch *s = &row->search;

		json_builder_begin_object(b);
		kdh_json_add_int(b, "ram", (gint64)s->ram);
		kdh_json_add_string(b, "state", kdh_search_state_name(s->state));
		kdh_json_add_int(b, "smallest_working", (gint64)answer(s));
		kdh_json_add_int(b, "first_failing", (gint64)s->fail);
		kdh_json_add_string(b, "diagnosis", s->fail_diagnosis);
		kdh_json_add_int(b, "probes", s->probes + row->unneeded);
		kdh_json_add_int(b, "unneeded", row->unneeded);
		kdh_json_add_int(b, "retries", s->retries);
		kdh_json_add_int(b, "bisect_bound",
		                 kdh_sizing_bisect_bound(report->low, report->high, report->step) +
		                     2);
		json_builder_set_member_name(b, "seconds");
		json_builder_add_double_value(b, s->seconds);
		kdh_json_add_string(b, "blocked", s->why);
		json_builder_set_member_name(b, "probe_log");
		json_builder_begin_array(b);
		for (guint p = 0; p < row->probes->len; p++)
			json_builder_add_string_value(b, g_ptr_array_index(row->probes, p));
		json_builder_end_array(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	kdh_json_add_string(b, "suggestion", suggestion);
	json_builder_set_member_name(b, "defaults");
	json_builder_begin_array(b);
	for (gsize i = 0; i < n; i++) {
		json_builder_begin_object(b);
		kdh_json_add_string(b, "name", defaults[i].name);
		kdh_json_add_string(b, "crashkernel", defaults[i].expr);
		kdh_json_add_string(b, "where", defaults[i].where);
		add_judged(b, report, defaults[i].expr, NULL);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	estimators = kdh_sizing_estimators(&n);
	json_builder_set_member_name(b, "estimators");
	json_builder_begin_array(b);
	for (gsize i = 0; i < n; i++) {
		json_builder_begin_object(b);
		kdh_json_add_string(b, "name", estimators[i].name);
		kdh_json_add_string(b, "formula", estimators[i].how);
		add_judged(b, report, NULL, &estimators[i]);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "inputs");
	json_builder_begin_object(b);
	kdh_json_add_int(b, "vmlinuz", (gint64)report->inputs.vmlinuz);
	kdh_json_add_int(b, "initrd", (gint64)report->inputs.initrd);
	kdh_json_add_int(b, "modules", (gint64)report->inputs.modules);
	json_builder_end_object(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

/* junit.xml: a testcase per RAM size; a failure only where kdump works at
 * no size up to --high, an error where other failures blocked the answer. */
static gboolean write_junit(const KdhSizingReport *report, const char *path, GError **error)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr suites = xmlNewNode(NULL, BAD_CAST "testsuites");
	xmlNodePtr suite = xmlNewChild(suites, NULL, BAD_CAST "testsuite", NULL);
	guint failures = 0, errors = 0;
	g_autofree char *tests = g_strdup_printf("%u", report->rows->len);
	g_autofree char *nf = NULL, *ne = NULL;
	int saved;

	xmlDocSetRootElement(doc, suites);
	xmlNewProp(suite, BAD_CAST "name", BAD_CAST "sizing");
	for (guint i = 0; i < report->rows->len; i++) {
		const KdhSizingSearch *s = &row_at(report, i)->search;
		g_autofree char *ram = size_text(s->ram);
		g_autofree char *name = g_strdup_printf("ram-%s", ram);
		g_autofree char *time = g_strdup_printf("%.1f", s->seconds);
		g_autofree char *works = size_text(answer(s));
		g_autofree char *out =
		    g_strdup_printf("smallest working crashkernel=%s (%s), %u probes", works,
		                    kdh_search_state_name(s->state), s->probes);
		xmlNodePtr tc = xmlNewChild(suite, NULL, BAD_CAST "testcase", NULL);

		xmlNewProp(tc, BAD_CAST "classname", BAD_CAST "sizing");
		xmlNewProp(tc, BAD_CAST "name", BAD_CAST name);
		xmlNewProp(tc, BAD_CAST "time", BAD_CAST time);
		if (s->state == KDH_SEARCH_NONE_WORKS) {
			xmlNodePtr f = xmlNewTextChild(tc, NULL, BAD_CAST "failure", BAD_CAST out);
			xmlNewProp(f, BAD_CAST "message", BAD_CAST s->why);
			failures++;
		} else if (s->state == KDH_SEARCH_BLOCKED) {
			xmlNodePtr e = xmlNewTextChild(tc, NULL, BAD_CAST "error", BAD_CAST out);
			xmlNewProp(e, BAD_CAST "message", BAD_CAST s->why);
			errors++;
		}
		xmlNewTextChild(tc, NULL, BAD_CAST "system-out", BAD_CAST out);
	}
	nf = g_strdup_printf("%u", failures);
	ne = g_strdup_printf("%u", errors);
	xmlNewProp(suite, BAD_CAST "tests", BAD_CAST tests);
	xmlNewProp(suite, BAD_CAST "failures", BAD_CAST nf);
	xmlNewProp(suite, BAD_CAST "errors", BAD_CAST ne);
	saved = xmlSaveFormatFileEnc(path, doc, "UTF-8", 1);
	xmlFreeDoc(doc);
	if (saved < 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "%s: libxml2 could not write it", path);
		return FALSE;
	}
	return TRUE;
}

gboolean kdh_sizing_report_write(const KdhSizingReport *report, const char *dir, GError **error)
{
	g_autoptr(JsonNode) root = report_json(report);
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *json = g_build_filename(dir, "sizing.json", NULL);
	g_autofree char *md = g_build_filename(dir, "sizing.md", NULL);
	g_autofree char *svg = g_build_filename(dir, "sizing.svg", NULL);
	g_autofree char *junit = g_build_filename(dir, "junit.xml", NULL);
	g_autofree char *text = kdh_sizing_report_text(report, TRUE);

	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	return json_generator_to_file(gen, json, error) &&
	       g_file_set_contents(md, text, -1, error) && kdh_sizing_chart(report, svg, error) &&
	       write_junit(report, junit, error);
}

int kdh_sizing_report_status(const KdhSizingReport *report)
{
	gboolean none = FALSE, blocked = FALSE;

	for (guint i = 0; i < report->rows->len; i++) {
		KdhSearchState st = row_at(report, i)->search.state;
		none = none || st == KDH_SEARCH_NONE_WORKS;
		blocked = blocked || st == KDH_SEARCH_BLOCKED || st == KDH_SEARCH_RUNNING;
	}
	return none ? 1 : blocked ? 3 : 0;
}
