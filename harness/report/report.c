/* verdict.json through json-glib. */
#include "report/report.h"

#include <json-glib/json-glib.h>

const char *kdh_verdict_name(KdhVerdict v)
{
	switch (v) {
	case KDH_VERDICT_PASS:
		return "PASS";
	case KDH_VERDICT_FAIL:
		return "FAIL";
	case KDH_VERDICT_ERROR:
		return "ERROR";
	case KDH_VERDICT_SKIP:
		return "SKIP";
	case KDH_VERDICT_TIMEOUT:
		return "TIMEOUT";
	}
	return "ERROR";
}

static void phase_free(KdhPhase *p)
{
	g_free(p->name);
	g_free(p);
}

KdhResult *kdh_result_new(const char *case_name)
{
	KdhResult *r = g_new0(KdhResult, 1);

	r->case_name = g_strdup(case_name);
	r->verdict = KDH_VERDICT_PASS;
	r->dump_level = -1;
	r->reasons = g_ptr_array_new_with_free_func(g_free);
	r->phases = g_ptr_array_new_with_free_func((GDestroyNotify)phase_free);
	r->files = g_ptr_array_new_with_free_func(g_free);
	r->serial_tail = g_ptr_array_new_with_free_func(g_free);
	r->ignored_markers = g_ptr_array_new_with_free_func(g_free);
	return r;
}

void kdh_result_free(KdhResult *r)
{
	if (!r)
		return;
	g_free(r->case_name);
	g_free(r->scenario_file);
	g_ptr_array_unref(r->reasons);
	g_ptr_array_unref(r->phases);
	g_free(r->accel);
	g_free(r->kernel_ref);
	g_free(r->kernel_release);
	g_free(r->kernel_package);
	g_free(r->kernel_version);
	g_free(r->results_dir);
	g_ptr_array_unref(r->files);
	g_ptr_array_unref(r->serial_tail);
	g_ptr_array_unref(r->ignored_markers);
	g_free(r->dump_format);
	g_free(r->dump_compression);
	g_free(r->dump_osrelease);
	g_free(r->dump_release_memory);
	g_free(r->dump_panic);
	g_free(r->dump_panic_task);
	g_free(r);
}

void kdh_result_add_phase(KdhResult *r, const char *name, double seconds)
{
	KdhPhase *p = g_new0(KdhPhase, 1);

	p->name = g_strdup(name);
	p->seconds = seconds;
	g_ptr_array_add(r->phases, p);
}

void kdh_result_fail(KdhResult *r, KdhVerdict verdict, const char *fmt, ...)
{
	va_list ap;

	if (r->verdict == KDH_VERDICT_PASS)
		r->verdict = verdict;
	va_start(ap, fmt);
	g_ptr_array_add(r->reasons, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

static void add_string(JsonBuilder *b, const char *key, const char *value)
{
	json_builder_set_member_name(b, key);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

static void add_int(JsonBuilder *b, const char *key, gint64 value)
{
	json_builder_set_member_name(b, key);
	json_builder_add_int_value(b, value);
}

static void add_strings(JsonBuilder *b, const char *key, GPtrArray *values)
{
	json_builder_set_member_name(b, key);
	json_builder_begin_array(b);
	for (guint i = 0; i < values->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(values, i));
	json_builder_end_array(b);
}

gboolean kdh_report_write_json(const KdhResult *r, const char *path, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *text = NULL;
	double total = 0;

	json_builder_begin_object(b);
	add_string(b, "case", r->case_name);
	add_string(b, "scenario", r->scenario_file);
	add_string(b, "verdict", kdh_verdict_name(r->verdict));
	add_strings(b, "reasons", r->reasons);
	json_builder_set_member_name(b, "phases");
	json_builder_begin_array(b);
	for (guint i = 0; i < r->phases->len; i++) {
		const KdhPhase *p = g_ptr_array_index(r->phases, i);
		json_builder_begin_object(b);
		add_string(b, "name", p->name);
		json_builder_set_member_name(b, "seconds");
		json_builder_add_double_value(b, p->seconds);
		json_builder_end_object(b);
		total += p->seconds;
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "total_seconds");
	json_builder_add_double_value(b, total);
	add_string(b, "acceleration", r->accel);
	json_builder_set_member_name(b, "kernel");
	json_builder_begin_object(b);
	add_string(b, "ref", r->kernel_ref);
	add_string(b, "release", r->kernel_release);
	add_string(b, "package", r->kernel_package);
	add_string(b, "version", r->kernel_version);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "dump");
	json_builder_begin_object(b);
	add_string(b, "format", r->dump_format);
	add_string(b, "compression", r->dump_compression);
	add_int(b, "dump_level", r->dump_level);
	add_string(b, "osrelease", r->dump_osrelease);
	add_string(b, "release_in_memory", r->dump_release_memory);
	add_int(b, "pages_total", r->dump_pages_total);
	add_int(b, "pages_dumped", r->dump_pages_dumped);
	add_int(b, "pages_checked", r->dump_pages_checked);
	add_string(b, "panic", r->dump_panic);
	add_string(b, "panic_task", r->dump_panic_task);
	json_builder_end_object(b);
	add_string(b, "results_dir", r->results_dir);
	add_strings(b, "files", r->files);
	add_strings(b, "serial_tail", r->serial_tail);
	add_strings(b, "ignored_markers", r->ignored_markers);
	json_builder_end_object(b);

	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	text = json_generator_to_data(gen, NULL);
	return g_file_set_contents(path, text, -1, error);
}
