/* junit.xml through libxml2's text writer: the shape GitLab, GitHub's test
 * reporters and Jenkins read (testsuites > testsuite per scenario file >
 * testcase per case).  libxml2 escapes markup; characters XML 1.0 forbids
 * (C0 controls other than tab, LF, CR) it would write as they are, so every
 * string passes through kdh_report_escape first. */
#include "report/internal.h"

#include <libxml/xmlwriter.h>
#include <string.h>

/* An attribute such as failure's message is one line a CI view shows. */
#define MESSAGE_MAX 500

typedef struct {
	xmlTextWriterPtr w;
	int rc; /* the first error of the writer (< 0), or 0 */
} Xml;

static void x_start(Xml *x, const char *name)
{
	if (x->rc >= 0)
		x->rc = xmlTextWriterStartElement(x->w, BAD_CAST name);
}

static void x_end(Xml *x)
{
	if (x->rc >= 0)
		x->rc = xmlTextWriterEndElement(x->w);
}

static void x_attr_len(Xml *x, const char *name, const char *value, gsize max_chars)
{
	g_autofree char *safe =
	    kdh_report_escape(value, kdh_report_unprintable_in_xml, NULL, max_chars);

	if (x->rc >= 0)
		x->rc = xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST safe);
}

static void x_attr(Xml *x, const char *name, const char *value)
{
	x_attr_len(x, name, value, 0);
}

static void x_attr_uint(Xml *x, const char *name, guint value)
{
	char buf[16];

	g_snprintf(buf, sizeof(buf), "%u", value);
	x_attr(x, name, buf);
}

static void x_attr_seconds(Xml *x, const char *name, double seconds)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];

	x_attr(x, name, g_ascii_formatd(buf, sizeof(buf), "%.3f", seconds >= 0 ? seconds : 0));
}

static void x_text(Xml *x, const char *text)
{
	g_autofree char *safe = kdh_report_escape(text, kdh_report_unprintable_in_xml, NULL, 0);

	if (x->rc >= 0)
		x->rc = xmlTextWriterWriteString(x->w, BAD_CAST safe);
}

/* <properties> with a <property name= value=> for each row of PROPS (the
 * property's name, the path of its member in O) whose member is set. */
static void x_properties(Xml *x, JsonObject *o, const char *const (*props)[2], gsize n)
{
	gboolean open = FALSE;

	for (gsize i = 0; i < n; i++) {
		const char *value = kdh_doc_str(o, props[i][1]);
		if (!value)
			continue;
		if (!open)
			x_start(x, "properties");
		open = TRUE;
		x_start(x, "property");
		x_attr(x, "name", props[i][0]);
		x_attr(x, "value", value);
		x_end(x);
	}
	if (open)
		x_end(x);
}

/* A scenario file and its cases, in run order. */
typedef struct {
	const char *scenario; /* NULL: not recorded */
	GPtrArray *cases;     /* JsonObject* */
	guint counts[KDH_VERDICT_COUNT];
	double seconds;
} Suite;

static void suite_free(Suite *s)
{
	g_ptr_array_unref(s->cases);
	g_free(s);
}

/* The cases of DOC grouped by scenario file, files in order of first
 * appearance. */
static GPtrArray *suites_of(JsonObject *doc)
{
	GPtrArray *suites = g_ptr_array_new_with_free_func((GDestroyNotify)suite_free);
	g_autoptr(GHashTable) by_file = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) cases = kdh_doc_cases(doc);

	for (guint i = 0; i < cases->len; i++) {
		JsonObject *c = g_ptr_array_index(cases, i);
		const char *file = kdh_doc_str(c, "scenario");
		Suite *s = g_hash_table_lookup(by_file, file ? file : "");

		if (!s) {
			s = g_new0(Suite, 1);
			s->scenario = file;
			s->cases = g_ptr_array_new();
			g_ptr_array_add(suites, s);
			g_hash_table_insert(by_file, (gpointer)(file ? file : ""), s);
		}
		g_ptr_array_add(s->cases, c);
		s->counts[kdh_doc_verdict(c)]++;
		s->seconds += MAX(kdh_doc_num(c, "total_seconds", 0), 0);
	}
	return suites;
}

/* A scenario file's name without its folder and ".ini": the suite's name. */
static char *suite_name(const char *scenario)
{
	g_autofree char *base = scenario ? g_path_get_basename(scenario) : NULL;

	if (!base)
		return g_strdup("kdh");
	if (g_str_has_suffix(base, ".ini") && strlen(base) > 4)
		base[strlen(base) - 4] = '\0';
	return g_steal_pointer(&base);
}

/* The text of a failure: every reason, the phase, the last serial lines. */
static char *failure_text(JsonObject *c)
{
	g_autoptr(GPtrArray) reasons = kdh_doc_strings(c, "reasons");
	g_autoptr(GPtrArray) tail = kdh_doc_strings(c, "serial_tail");
	const char *phase = kdh_doc_str(c, "failed_phase");
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < reasons->len; i++)
		g_string_append_printf(s, "%s\n", (char *)g_ptr_array_index(reasons, i));
	if (phase)
		g_string_append_printf(s, "\nphase: %s\n", phase);
	if (tail->len)
		g_string_append(s, "\nlast serial lines:\n");
	for (guint i = 0; i < tail->len; i++)
		g_string_append_printf(s, "%s\n", (char *)g_ptr_array_index(tail, i));
	return g_string_free(s, FALSE);
}

static void x_outcome(Xml *x, JsonObject *c)
{
	static const char *const elements[KDH_VERDICT_COUNT] = {
	    [KDH_VERDICT_FAIL] = "failure",    [KDH_VERDICT_ERROR] = "error",
	    [KDH_VERDICT_TIMEOUT] = "error",   [KDH_VERDICT_SKIP] = "skipped",
	    [KDH_VERDICT_NOT_RUN] = "skipped",
	};
	KdhVerdict v = kdh_doc_verdict(c);
	g_autoptr(GPtrArray) reasons = kdh_doc_strings(c, "reasons");
	const char *first = reasons->len ? g_ptr_array_index(reasons, 0) : "";
	g_autofree char *message =
	    v == KDH_VERDICT_NOT_RUN ? g_strdup_printf("not run: %s", first) : g_strdup(first);

	if (!elements[v])
		return;
	x_start(x, elements[v]);
	x_attr_len(x, "message", message, MESSAGE_MAX);
	if (v == KDH_VERDICT_FAIL || v == KDH_VERDICT_ERROR || v == KDH_VERDICT_TIMEOUT) {
		g_autofree char *text = failure_text(c);
		x_attr(x, "type", kdh_verdict_name(v));
		x_text(x, text);
	}
	x_end(x);
}

/* A case's <system-out>: what its verdict rests on, then its warnings
 * (JUnit has no element for a warning; CI views show system-out with the
 * case), or NULL when there is neither. */
static char *system_out(GPtrArray *checks, GPtrArray *warnings)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < checks->len; i++)
		g_string_append_printf(s, "%s%s", i ? "\n" : "",
		                       (char *)g_ptr_array_index(checks, i));
	for (guint i = 0; i < warnings->len; i++)
		g_string_append_printf(s, "%swarning: %s", s->len ? "\n" : "",
		                       (char *)g_ptr_array_index(warnings, i));
	return g_string_free(s, s->len == 0);
}

static void x_testcase(Xml *x, const char *classname, JsonObject *c)
{
	static const char *const props[][2] = {
	    {"verdict", "verdict"},
	    {"kernel.release", "kernel.release"},
	    {"kernel.ref", "kernel.ref"},
	    {"accel", "acceleration"},
	    {"host", "host"},
	    {"dump.format", "dump.format"},
	    {"crashkernel", "asked.crashkernel"},
	    {"phase", "failed_phase"},
	    {"started_at", "started_at"},
	};
	g_autoptr(GPtrArray) checks = kdh_doc_strings(c, "checks");
	g_autoptr(GPtrArray) warnings = kdh_doc_strings(c, "warnings");
	g_autofree char *out = system_out(checks, warnings);

	x_start(x, "testcase");
	x_attr(x, "classname", classname);
	x_attr(x, "name", kdh_doc_str(c, "case"));
	x_attr_seconds(x, "time", kdh_doc_num(c, "total_seconds", 0));
	x_properties(x, c, props, G_N_ELEMENTS(props));
	x_outcome(x, c);
	if (out) {
		x_start(x, "system-out");
		x_text(x, out);
		x_end(x);
	}
	x_end(x);
}

/* tests, failures, errors, skipped, time of COUNTS. */
static void x_counts(Xml *x, const guint *counts, double seconds)
{
	guint tests = 0;

	for (guint v = 0; v < KDH_VERDICT_COUNT; v++)
		tests += counts[v];
	x_attr_uint(x, "tests", tests);
	x_attr_uint(x, "failures", counts[KDH_VERDICT_FAIL]);
	x_attr_uint(x, "errors", counts[KDH_VERDICT_ERROR] + counts[KDH_VERDICT_TIMEOUT]);
	x_attr_uint(x, "skipped", counts[KDH_VERDICT_SKIP] + counts[KDH_VERDICT_NOT_RUN]);
	x_attr_seconds(x, "time", seconds);
}

/* ISO 8601 TIME as JUnit's schema has a timestamp: UTC, to the second,
 * without a zone; NULL when TIME is NULL or unreadable. */
static char *junit_timestamp(const char *time)
{
	g_autoptr(GDateTime) t = time ? g_date_time_new_from_iso8601(time, NULL) : NULL;
	g_autoptr(GDateTime) utc = t ? g_date_time_to_utc(t) : NULL;

	return utc ? g_date_time_format(utc, "%Y-%m-%dT%H:%M:%S") : NULL;
}

static void x_document(Xml *x, JsonObject *doc)
{
	static const char *const run_props[][2] = {
	    {"kdh.version", "kdh_version"},
	    {"kdh.run_id", "run_id"},
	    {"accel", "accel"},
	    {"host", "host"},
	    {"shard", "shard"},
	    {"interrupted_by", "interrupted_by"},
	};
	g_autoptr(GPtrArray) suites = suites_of(doc);
	g_autofree char *timestamp = junit_timestamp(kdh_doc_str(doc, "started_at"));
	KdhVerdictCounts all;
	double total = 0;

	kdh_report_doc_counts(doc, &all);
	for (guint i = 0; i < suites->len; i++)
		total += ((Suite *)g_ptr_array_index(suites, i))->seconds;
	if (x->rc >= 0)
		x->rc = xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL);
	x_start(x, "testsuites");
	x_attr(x, "name", "kdh");
	x_counts(x, all.n, kdh_doc_num(doc, "wall_seconds", total));
	for (guint i = 0; i < suites->len; i++) {
		const Suite *s = g_ptr_array_index(suites, i);
		g_autofree char *name = suite_name(s->scenario);

		x_start(x, "testsuite");
		x_attr(x, "name", name);
		x_counts(x, s->counts, s->seconds);
		if (timestamp)
			x_attr(x, "timestamp", timestamp);
		x_properties(x, doc, run_props, G_N_ELEMENTS(run_props));
		for (guint j = 0; j < s->cases->len; j++)
			x_testcase(x, name, g_ptr_array_index(s->cases, j));
		x_end(x);
	}
	x_end(x);
	if (x->rc >= 0)
		x->rc = xmlTextWriterEndDocument(x->w);
}

char *kdh_report_render_junit(JsonObject *doc, GError **error)
{
	xmlBufferPtr buf = xmlBufferCreate();
	Xml x = {.w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL};
	char *text = NULL;

	if (x.w) {
		xmlTextWriterSetIndent(x.w, 1);
		xmlTextWriterSetIndentString(x.w, BAD_CAST "  ");
		x_document(&x, doc);
		/* Freeing the writer flushes it into BUF. */
		xmlFreeTextWriter(x.w);
		if (x.rc >= 0)
			text = g_strdup((const char *)xmlBufferContent(buf));
	}
	if (!text)
		g_set_error(error, KDH_REPORT_ERROR, KDH_REPORT_ERROR_WRITE,
		            "libxml2 could not write the document");
	if (buf)
		xmlBufferFree(buf);
	return text;
}
