/* results.tap: TAP version 14, one test point per case with a YAML
 * diagnostics block.  Every string in the YAML is a double-quoted scalar
 * with control characters escaped, so nothing a guest wrote can end the
 * block, start a new test point or change the YAML's structure; in the test
 * point line itself '#' and '\' are escaped as TAP 14 asks. */
#include "report/internal.h"

/* A test point's description or directive reason is one line in a log. */
#define LINE_MAX_CHARS 500

/* S as a YAML double-quoted scalar. */
static char *yaml_quote(const char *s)
{
	g_autofree char *body = kdh_report_escape(s, kdh_report_unprintable, "\"\\", 0);

	return g_strdup_printf("\"%s\"", body);
}

/* S for the test point line: no line break, '#' and '\' escaped. */
static char *tap_line_text(const char *s)
{
	return kdh_report_escape(s, kdh_report_unprintable, "#\\", LINE_MAX_CHARS);
}

static void yaml_string(GString *out, const char *key, const char *value)
{
	g_autofree char *quoted = value ? yaml_quote(value) : NULL;

	g_string_append_printf(out, "  %s: %s\n", key, quoted ? quoted : "null");
}

static void yaml_list(GString *out, const char *key, GPtrArray *values)
{
	g_string_append_printf(out, "  %s:%s\n", key, values->len ? "" : " []");
	for (guint i = 0; i < values->len; i++) {
		g_autofree char *quoted = yaml_quote(g_ptr_array_index(values, i));
		g_string_append_printf(out, "    - %s\n", quoted);
	}
}

static void test_point(GString *out, guint n, JsonObject *c)
{
	KdhVerdict v = kdh_doc_verdict(c);
	g_autoptr(GPtrArray) reasons = kdh_doc_strings(c, "reasons");
	g_autoptr(GPtrArray) checks = kdh_doc_strings(c, "checks");
	g_autoptr(GPtrArray) warnings = kdh_doc_strings(c, "warnings");
	g_autofree char *name = tap_line_text(kdh_doc_str(c, "case"));
	const char *first = reasons->len ? g_ptr_array_index(reasons, 0) : "";
	gboolean ok = v == KDH_VERDICT_PASS || v == KDH_VERDICT_SKIP || v == KDH_VERDICT_NOT_RUN;
	char seconds[G_ASCII_DTOSTR_BUF_SIZE];

	g_string_append_printf(out, "%s %u - %s", ok ? "ok" : "not ok", n, name);
	if (v == KDH_VERDICT_SKIP || v == KDH_VERDICT_NOT_RUN) {
		g_autofree char *reason = tap_line_text(first);
		g_string_append_printf(out, " # SKIP %s%s",
		                       v == KDH_VERDICT_NOT_RUN ? "not run: " : "", reason);
	}
	g_string_append(out, "\n  ---\n");
	yaml_string(out, "verdict", kdh_verdict_name(v));
	yaml_string(out, "scenario", kdh_doc_str(c, "scenario"));
	yaml_string(out, "kernel", kdh_doc_str(c, "kernel.release"));
	yaml_string(out, "phase", kdh_doc_str(c, "failed_phase"));
	g_string_append_printf(out, "  total_seconds: %s\n",
	                       g_ascii_formatd(seconds, sizeof(seconds), "%.3f",
	                                       MAX(kdh_doc_num(c, "total_seconds", 0), 0)));
	yaml_list(out, "reasons", reasons);
	yaml_list(out, "checks", checks);
	yaml_list(out, "warnings", warnings);
	g_string_append(out, "  ...\n");
}

char *kdh_report_render_tap(JsonObject *doc, GError **error)
{
	g_autoptr(GPtrArray) cases = kdh_doc_cases(doc);
	GString *out = g_string_new("TAP version 14\n");

	(void)error;
	g_string_append_printf(out, "1..%u\n", cases->len);
	for (guint i = 0; i < cases->len; i++)
		test_point(out, i + 1, g_ptr_array_index(cases, i));
	return g_string_free(out, FALSE);
}
