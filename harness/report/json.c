/* verdict.json and results.json through json-glib: one builder for a case's
 * object, used by both, and the accessors the other writers read the
 * results.json document with. */
#include "report/internal.h"
#include "util/util.h"

#include <math.h>
#include <string.h>

/* VALUE, or null when it is UNSET (the "not recorded" value). */
static void add_int_or_null(JsonBuilder *b, const char *key, gint64 value, gint64 unset)
{
	json_builder_set_member_name(b, key);
	if (value == unset)
		json_builder_add_null_value(b);
	else
		json_builder_add_int_value(b, value);
}

static void add_double(JsonBuilder *b, const char *key, double value)
{
	json_builder_set_member_name(b, key);
	json_builder_add_double_value(b, value);
}

static void add_strings(JsonBuilder *b, const char *key, GPtrArray *values)
{
	json_builder_set_member_name(b, key);
	json_builder_begin_array(b);
	for (guint i = 0; values && i < values->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(values, i));
	json_builder_end_array(b);
}

static void add_asked(JsonBuilder *b, const KdhAsked *a)
{
	json_builder_set_member_name(b, "asked");
	json_builder_begin_object(b);
	add_int_or_null(b, "memory", (gint64)a->memory, 0);
	add_int_or_null(b, "cpus", a->cpus, 0);
	kdh_json_add_string(b, "crashkernel", a->crashkernel);
	kdh_json_add_string(b, "trigger", a->trigger);
	kdh_json_add_string(b, "collector", a->collector);
	add_int_or_null(b, "dump_level", a->dump_level, -1);
	kdh_json_add_string(b, "compression", a->compression);
	kdh_json_add_string(b, "outcome", a->outcome);
	kdh_json_add_string(b, "expect_panic", a->expect_panic);
	kdh_json_add_string(b, "image", a->image);
	add_int_or_null(b, "cpu", a->cpu, -1);
	kdh_json_add_string(b, "expect_function", a->expect_function);
	kdh_json_add_string(b, "expect_reason", a->expect_reason);
	kdh_json_add_string(b, "verify_crash", a->verify_crash);
	json_builder_end_object(b);
}

JsonNode *kdh_result_to_json(const KdhResult *r)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	double total = 0;

	json_builder_begin_object(b);
	kdh_json_add_string(b, "case", r->case_name);
	kdh_json_add_string(b, "scenario", r->scenario_file);
	kdh_json_add_string(b, "verdict", kdh_verdict_name(r->verdict));
	add_strings(b, "reasons", r->reasons);
	add_strings(b, "checks", r->checks);
	add_strings(b, "warnings", r->warnings);
	kdh_json_add_string(b, "failed_phase", r->failed_phase);
	kdh_json_add_string(b, "started_at", r->started_at);
	kdh_json_add_string(b, "kdh_version", r->kdh_version);
	add_asked(b, &r->asked);
	json_builder_set_member_name(b, "phases");
	json_builder_begin_array(b);
	for (guint i = 0; i < r->phases->len; i++) {
		const KdhPhase *p = g_ptr_array_index(r->phases, i);
		json_builder_begin_object(b);
		kdh_json_add_string(b, "name", p->name);
		add_double(b, "seconds", p->seconds);
		json_builder_end_object(b);
		total += p->seconds;
	}
	json_builder_end_array(b);
	add_double(b, "total_seconds", total);
	kdh_json_add_string(b, "acceleration", r->accel);
	kdh_json_add_string(b, "host", r->host);
	add_int_or_null(b, "uploaded_bytes", r->uploaded_bytes, -1);
	add_int_or_null(b, "downloaded_bytes", r->downloaded_bytes, -1);
	json_builder_set_member_name(b, "kernel");
	json_builder_begin_object(b);
	kdh_json_add_string(b, "ref", r->kernel_ref);
	kdh_json_add_string(b, "release", r->kernel_release);
	kdh_json_add_string(b, "package", r->kernel_package);
	kdh_json_add_string(b, "version", r->kernel_version);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "readiness");
	json_builder_begin_object(b);
	kdh_json_add_string(b, "crashkernel", r->readiness.crashkernel);
	kdh_json_add_string(b, "reserved", r->readiness.reserved);
	add_int_or_null(b, "reserved_mb", r->readiness.reserved_mb, -1);
	add_int_or_null(b, "kexec_crash_loaded", r->readiness.loaded, -1);
	add_int_or_null(b, "kexec_crash_size", r->readiness.crash_size, -1);
	add_int_or_null(b, "service_ready", r->readiness.service_ready, -1);
	kdh_json_add_string(b, "service_status", r->readiness.service_status);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "diagnosis");
	json_builder_begin_object(b);
	kdh_json_add_string(b, "reason", r->diagnosis);
	kdh_json_add_string(b, "line", r->diagnosis_line);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "inputs");
	json_builder_begin_object(b);
	kdh_json_add_string(b, "kernel", r->inputs.kernel);
	kdh_json_add_string(b, "image", r->inputs.image);
	kdh_json_add_string(b, "scenario", r->inputs.scenario);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "matrix");
	json_builder_begin_object(b);
	kdh_json_add_string(b, "kernel", r->matrix_kernel);
	kdh_json_add_string(b, "scenario", r->matrix_scenario);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "dump");
	json_builder_begin_object(b);
	kdh_json_add_string(b, "file", r->dump_file);
	kdh_json_add_string(b, "format", r->dump_format);
	kdh_json_add_string(b, "compression", r->dump_compression);
	kdh_json_add_int(b, "dump_level", r->dump_level);
	kdh_json_add_string(b, "osrelease", r->dump_osrelease);
	kdh_json_add_string(b, "release_in_memory", r->dump_release_memory);
	kdh_json_add_int(b, "pages_total", r->dump_pages_total);
	kdh_json_add_int(b, "pages_dumped", r->dump_pages_dumped);
	kdh_json_add_int(b, "pages_checked", r->dump_pages_checked);
	kdh_json_add_string(b, "panic", r->dump_panic);
	kdh_json_add_string(b, "panic_task", r->dump_panic_task);
	kdh_json_add_string(b, "dmesg_file", r->dump_dmesg_file);
	json_builder_end_object(b);
	kdh_json_add_string(b, "results_dir", r->results_dir);
	add_strings(b, "files", r->files);
	add_strings(b, "serial_tail", r->serial_tail);
	add_strings(b, "ignored_markers", r->ignored_markers);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

char *kdh_report_json_text(JsonNode *node)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(GString) text = NULL;

	json_generator_set_root(gen, node);
	json_generator_set_pretty(gen, TRUE);
	text = g_string_new(NULL);
	json_generator_to_gstring(gen, text);
	g_string_append_c(text, '\n');
	return g_string_free(g_steal_pointer(&text), FALSE);
}

gboolean kdh_report_write_json(const KdhResult *r, const char *path, GError **error)
{
	g_autoptr(JsonNode) root = kdh_result_to_json(r);
	g_autofree char *text = kdh_report_json_text(root);

	return g_file_set_contents(path, text, -1, error);
}

void kdh_report_doc_counts(JsonObject *doc, KdhVerdictCounts *counts)
{
	g_autoptr(GPtrArray) cases = kdh_doc_cases(doc);

	memset(counts, 0, sizeof(*counts));
	for (guint i = 0; i < cases->len; i++)
		counts->n[kdh_doc_verdict(g_ptr_array_index(cases, i))]++;
}

JsonNode *kdh_report_doc_new(const KdhRunInfo *info, GPtrArray *merged_from, GPtrArray *cases)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	KdhVerdictCounts n = {0};

	/* Counts come from the cases themselves, whichever path made them. */
	for (guint i = 0; i < cases->len; i++) {
		JsonNode *c = g_ptr_array_index(cases, i);
		if (JSON_NODE_HOLDS_OBJECT(c))
			n.n[kdh_doc_verdict(json_node_get_object(c))]++;
	}
	json_builder_begin_object(b);
	kdh_json_add_string(b, "run_id", info->run_id);
	add_strings(b, "merged_from", merged_from);
	kdh_json_add_string(b, "kdh_version", info->kdh_version);
	kdh_json_add_string(b, "host", info->host);
	kdh_json_add_string(b, "accel", info->accel);
	kdh_json_add_string(b, "started_at", info->started_at);
	kdh_json_add_string(b, "ended_at", info->ended_at);
	json_builder_set_member_name(b, "wall_seconds");
	if (info->wall_seconds >= 0 && isfinite(info->wall_seconds))
		json_builder_add_double_value(b, info->wall_seconds);
	else
		json_builder_add_null_value(b);
	add_int_or_null(b, "jobs", info->jobs, 0);
	kdh_json_add_string(b, "shard", info->shard);
	kdh_json_add_string(b, "filter", info->filter);
	kdh_json_add_string(b, "interrupted_by", info->interrupted_by);
	json_builder_set_member_name(b, "counts");
	json_builder_begin_object(b);
	for (guint v = 0; v < KDH_VERDICT_COUNT; v++)
		kdh_json_add_int(b, kdh_verdict_name(v), n.n[v]);
	kdh_json_add_int(b, "total", cases->len);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "cases");
	json_builder_begin_array(b);
	for (guint i = 0; i < cases->len; i++)
		json_builder_add_value(b, json_node_ref(g_ptr_array_index(cases, i)));
	json_builder_end_array(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

/* ---- accessors ---- */

static JsonNode *member_at(JsonObject *o, const char *path)
{
	const char *dot;

	while (o && (dot = strchr(path, '.'))) {
		g_autofree char *head = g_strndup(path, dot - path);
		JsonNode *n = json_object_get_member(o, head);
		o = n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		path = dot + 1;
	}
	return o ? json_object_get_member(o, path) : NULL;
}

const char *kdh_doc_str(JsonObject *o, const char *path)
{
	JsonNode *n = member_at(o, path);

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
	           ? json_node_get_string(n)
	           : NULL;
}

double kdh_doc_num(JsonObject *o, const char *path, double dflt)
{
	JsonNode *n = member_at(o, path);
	GType t = n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;

	if (t == G_TYPE_INT64)
		return (double)json_node_get_int(n);
	if (t == G_TYPE_DOUBLE)
		return json_node_get_double(n);
	return dflt;
}

JsonArray *kdh_doc_array(JsonObject *o, const char *name)
{
	JsonNode *n = member_at(o, name);

	return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

GPtrArray *kdh_doc_strings(JsonObject *o, const char *name)
{
	JsonArray *a = kdh_doc_array(o, name);
	GPtrArray *out = g_ptr_array_new();

	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);
		if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
			g_ptr_array_add(out, (gpointer)json_node_get_string(n));
	}
	return out;
}

GPtrArray *kdh_doc_cases(JsonObject *doc)
{
	JsonArray *a = kdh_doc_array(doc, "cases");
	GPtrArray *out = g_ptr_array_new();

	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);
		if (JSON_NODE_HOLDS_OBJECT(n))
			g_ptr_array_add(out, json_node_get_object(n));
	}
	return out;
}

KdhVerdict kdh_doc_verdict(JsonObject *c)
{
	KdhVerdict v;

	return kdh_verdict_from_name(kdh_doc_str(c, "verdict"), &v) ? v : KDH_VERDICT_ERROR;
}

char *kdh_report_render_json(JsonObject *doc, GError **error)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), doc);

	(void)error;
	return kdh_report_json_text(node);
}
