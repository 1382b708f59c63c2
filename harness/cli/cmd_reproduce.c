/* kdh reproduce FIELD: a field crash's console log, dmesg or vmcore ->
 * the scenario that reproduces it (written, kept) -> one run -> was a dump
 * captured with the field's settings, and how the reproduced crash
 * compares (reproduce.json, reproduce.md in the run folder). */
#include "cli/commands.h"
#include "reproduce/reproduce.h"
#include "scenario/scenario.h"
#include "sizing/sizing.h"
#include "util/util.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

/* A boolean member of the object being built by B. */
static void add_bool(JsonBuilder *b, const char *key, gboolean v)
{
	json_builder_set_member_name(b, key);
	json_builder_add_boolean_value(b, v);
}

static const char *or_unknown(const char *s)
{
	return s ? s : "unknown";
}

static void print_field(FILE *out, const KdhField *f)
{
	fprintf(out, "field %s%s: %u lines%s\n", f->source,
	        f->vmcore ? " (vmcore's kernel log)" : "", f->lines,
	        f->truncated ? " (truncated)" : "");
	fprintf(out, "  kernel     %s%s%s%s\n", or_unknown(f->release),
	        f->debian_version ? " (Debian " : "", f->debian_version ? f->debian_version : "",
	        f->debian_version ? ")" : "");
	if (f->ram_bytes)
		fprintf(out, "  RAM        %" G_GUINT64_FORMAT " MiB (%s)\n", f->ram_bytes >> 20,
		        f->ram_from);
	else
		fprintf(out, "  RAM        unknown\n");
	fprintf(out, "  CPUs       %u%s%s%s\n", f->cpus, f->cpus_from ? " (" : "",
	        f->cpus_from ? f->cpus_from : "", f->cpus_from ? ")" : "");
	fprintf(out, "  cmdline    %s\n", or_unknown(f->cmdline));
	fprintf(out, "  crashkernel %s\n", f->crashkernel ? f->crashkernel : "none");
	fprintf(out, "  class      %s: %s (line %u: %s)\n", f->klass->name, f->klass->what,
	        f->crash_line, f->crash_text);
	fprintf(out, "  reason     %s\n", or_unknown(f->reason));
	if (f->cpu >= 0)
		fprintf(out, "  context    CPU %d PID %d Comm %s\n", f->cpu, f->pid, f->comm);
	else
		fprintf(out, "  context    unknown\n");
	fprintf(out, "  frames    ");
	for (guint i = 0; i < f->frames->len; i++)
		fprintf(out, " %s", (const char *)g_ptr_array_index(f->frames, i));
	fprintf(out, "%s\n", f->frames->len ? "" : " none");
	for (guint i = 0; i < f->notes->len; i++)
		fprintf(out, "  note: %s\n", (const char *)g_ptr_array_index(f->notes, i));
}

/* The reproduced crash, from the dump kept in the case's folder; else from
 * what verdict.json recorded of it (the panic line and task). */
static KdhField *reproduced(const KdhResult *r)
{
	g_autoptr(GRegex) task = NULL;
	g_autoptr(GMatchInfo) m = NULL;
	g_autofree char *text = NULL;
	KdhField *f = NULL;

	if (r->dump_local && (f = kdh_field_load(r->dump_local, NULL)))
		return f;
	if (!r->dump_panic)
		return NULL;
	text = strstr(r->dump_panic, "Kernel panic - not syncing: ")
	           ? g_strdup(r->dump_panic)
	           : g_strconcat("Kernel panic - not syncing: ", r->dump_panic, NULL);
	if (!(f = kdh_field_parse("verdict.json", text, strlen(text), NULL)))
		return NULL;
	task = g_regex_new("^cpu (\\d{1,5}) pid (\\d{1,10}) comm (\\S{1,64})$", 0, 0, NULL);
	if (r->dump_panic_task && g_regex_match(task, r->dump_panic_task, 0, &m)) {
		g_autofree char *cpu = g_match_info_fetch(m, 1);
		guint64 v;

		if (g_ascii_string_to_unsigned(cpu, 10, 0, 65535, &v, NULL))
			f->cpu = (gint)v;
		f->comm = g_match_info_fetch(m, 3);
	}
	return f;
}

static void add_field_json(JsonBuilder *b, const char *member, const KdhField *f)
{
	json_builder_set_member_name(b, member);
	if (!f) {
		json_builder_add_null_value(b);
		return;
	}
	json_builder_begin_object(b);
	kdh_json_add_string(b, "source", f->source);
	json_builder_set_member_name(b, "vmcore");
	json_builder_add_boolean_value(b, f->vmcore);
	json_builder_set_member_name(b, "truncated");
	json_builder_add_boolean_value(b, f->truncated);
	kdh_json_add_string(b, "release", f->release);
	kdh_json_add_string(b, "build", f->build);
	kdh_json_add_string(b, "debian_version", f->debian_version);
	json_builder_set_member_name(b, "ram_bytes");
	json_builder_add_int_value(b, (gint64)f->ram_bytes);
	kdh_json_add_string(b, "ram_from", f->ram_from);
	json_builder_set_member_name(b, "cpus");
	json_builder_add_int_value(b, f->cpus);
	kdh_json_add_string(b, "cmdline", f->cmdline);
	kdh_json_add_string(b, "crashkernel", f->crashkernel);
	kdh_json_add_string(b, "class", f->klass->name);
	kdh_json_add_string(b, "crash_text", f->crash_text);
	kdh_json_add_string(b, "reason", f->reason);
	json_builder_set_member_name(b, "cpu");
	json_builder_add_int_value(b, f->cpu);
	kdh_json_add_string(b, "comm", f->comm);
	json_builder_set_member_name(b, "frames");
	json_builder_begin_array(b);
	for (guint i = 0; i < f->frames->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(f->frames, i));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "notes");
	json_builder_begin_array(b);
	for (guint i = 0; i < f->notes->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(f->notes, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
}

typedef struct {
	const KdhField *field, *repro;
	const KdhResult *result;
	const KdhReproduceMatch *match;
	GPtrArray *notes;
	const char *scenario;
	const char *size;  /* --size's answer, or NULL */
	GPtrArray *probes; /* char*: --size's probes */
} Outcome;

static gboolean write_json(const Outcome *o, const char *path, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	const KdhReproduceMatch *m = o->match;

	json_builder_begin_object(b);
	kdh_json_add_string(b, "scenario", o->scenario);
	kdh_json_add_string(b, "case", o->result->case_name);
	kdh_json_add_string(b, "verdict", kdh_verdict_name(o->result->verdict));
	json_builder_set_member_name(b, "dump_captured");
	json_builder_add_boolean_value(b, o->result->dump_file != NULL);
	kdh_json_add_string(b, "diagnosis", o->result->diagnosis);
	kdh_json_add_string(b, "diagnosis_line", o->result->diagnosis_line);
	add_field_json(b, "field", o->field);
	add_field_json(b, "reproduced", o->repro);
	json_builder_set_member_name(b, "match");
	if (o->repro) {
		json_builder_begin_object(b);
		add_bool(b, "release", m->release);
		add_bool(b, "class", m->klass);
		add_bool(b, "reason", m->reason);
		add_bool(b, "cpu", m->cpu);
		add_bool(b, "comm", m->comm);
		json_builder_set_member_name(b, "frames_compared");
		json_builder_add_int_value(b, m->frames_field);
		json_builder_set_member_name(b, "frames_common");
		json_builder_add_int_value(b, m->frames_common);
		json_builder_set_member_name(b, "frames_in_order");
		json_builder_add_int_value(b, m->frames_in_order);
		json_builder_end_object(b);
	} else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "notes");
	json_builder_begin_array(b);
	for (guint i = 0; i < o->notes->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(o->notes, i));
	json_builder_end_array(b);
	kdh_json_add_string(b, "size", o->size);
	json_builder_set_member_name(b, "size_probes");
	json_builder_begin_array(b);
	for (guint i = 0; i < o->probes->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(o->probes, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	return json_generator_to_file(gen, path, error);
}

static const char *yes(gboolean v)
{
	return v ? "yes" : "no";
}

/* The comparison as lines, for the terminal and reproduce.md. */
static char *summary(const Outcome *o)
{
	GString *s = g_string_new(NULL);
	const KdhResult *r = o->result;
	const KdhReproduceMatch *m = o->match;

	g_string_append_printf(s, "dump captured with the field's settings: %s (%s)\n",
	                       yes(r->dump_file != NULL), kdh_verdict_name(r->verdict));
	if (r->diagnosis)
		g_string_append_printf(s, "  why not: %s: %s\n", r->diagnosis,
		                       r->diagnosis_line ? r->diagnosis_line : "");
	for (guint i = 0; r->verdict != KDH_VERDICT_PASS && i < r->reasons->len; i++)
		g_string_append_printf(s, "  %s\n", (const char *)g_ptr_array_index(r->reasons, i));
	if (!o->repro) {
		g_string_append(s, "the reproduced crash could not be read: no comparison\n");
		return g_string_free(s, FALSE);
	}
	g_string_append_printf(s, "same kernel release: %s (%s / %s)\n", yes(m->release),
	                       or_unknown(o->field->release), or_unknown(o->repro->release));
	g_string_append_printf(s, "same panic class:    %s (%s / %s)\n", yes(m->klass),
	                       o->field->klass->name, o->repro->klass->name);
	g_string_append_printf(s, "same panic reason:   %s (\"%s\" / \"%s\")\n", yes(m->reason),
	                       or_unknown(o->field->reason), or_unknown(o->repro->reason));
	g_string_append_printf(s, "same CPU:            %s (%d / %d)\n", yes(m->cpu), o->field->cpu,
	                       o->repro->cpu);
	g_string_append_printf(s, "same comm:           %s (%s / %s)\n", yes(m->comm),
	                       or_unknown(o->field->comm), or_unknown(o->repro->comm));
	g_string_append_printf(
	    s,
	    "top frames:          %u of the field's %u in the reproduction's top "
	    "%u, %u in the same order from the top\n",
	    m->frames_common, m->frames_field, (guint)KDH_FIELD_FRAMES, m->frames_in_order);
	g_string_append(s, "  (kdh's trigger reaches panic through its own code: frames below the "
	                   "panic are expected to differ from a field crash's)\n");
	if (o->size) {
		g_string_append_printf(s, "--size: %s\n", o->size);
		for (guint i = 0; i < o->probes->len; i++)
			g_string_append_printf(s, "  %s\n",
			                       (const char *)g_ptr_array_index(o->probes, i));
	}
	return g_string_free(s, FALSE);
}

static gboolean write_md(const Outcome *o, const char *summary_text, const char *path,
                         GError **error)
{
	g_autofree char *text = g_strdelimit(g_strdup(summary_text), "`", '\'');
	GString *s = g_string_new("# kdh reproduce\n\n");
	gboolean ok;

	g_string_append_printf(s, "Field: `%s` (%s crash). Scenario: `%s`.\n\n", o->field->source,
	                       o->field->klass->name, o->scenario);
	g_string_append(s, "```\n");
	g_string_append(s, text);
	g_string_append(s, "```\n");
	for (guint i = 0; i < 2; i++) {
		const KdhField *f = i ? o->repro : o->field;
		char *buf = NULL;
		size_t len = 0;
		FILE *mem;

		if (!f || !(mem = open_memstream(&buf, &len)))
			continue;
		print_field(mem, f);
		fclose(mem);
		/* field text inside a code block: no backquote may end it */
		g_strdelimit(buf, "`", '\'');
		g_string_append_printf(s, "\n%s:\n\n```\n%s```\n",
		                       i ? "The reproduced crash" : "The field crash", buf);
		free(buf);
	}
	if (o->notes->len) {
		g_string_append(s, "\nAssumptions:\n\n");
		for (guint i = 0; i < o->notes->len; i++)
			g_string_append_printf(s, "- %s\n",
			                       (const char *)g_ptr_array_index(o->notes, i));
	}
	ok = g_file_set_contents(path, s->str, (gssize)s->len, error);
	g_string_free(s, TRUE);
	return ok;
}

/* The --size answer, one line. */
static char *size_line(const KdhSizingSearch *s)
{
	switch (s->state) {
	case KDH_SEARCH_ANSWERED:
		return g_strdup_printf("smallest crashkernel= that works: %" G_GUINT64_FORMAT
		                       "M (%" G_GUINT64_FORMAT "M is too small: %s)",
		                       s->pass / KDH_MIB, s->fail / KDH_MIB,
		                       s->fail_diagnosis ? s->fail_diagnosis : "no dump");
	case KDH_SEARCH_LOW_PASSES:
		return g_strdup_printf("smallest crashkernel= that works: %" G_GUINT64_FORMAT
		                       "M or less (the search's lower bound works)",
		                       s->low / KDH_MIB);
	case KDH_SEARCH_NONE_WORKS:
		return g_strdup_printf("no crashkernel= works: %s", s->why);
	default:
		return g_strdup_printf("the crashkernel= search did not finish (%s%s%s)",
		                       kdh_search_state_name(s->state), s->why ? ": " : "",
		                       s->why ? s->why : "");
	}
}

int kdh_cmd_reproduce(int argc, char **argv)
{
	g_auto(GStrv) files = NULL;
	g_autofree char *kernel = NULL, *image = NULL, *out = NULL, *name = NULL, *sized = NULL;
	gboolean size = FALSE;
	g_autoptr(GPtrArray) rows =
	    g_ptr_array_new_with_free_func((GDestroyNotify)kdh_sizing_row_free);
	g_autoptr(GPtrArray) probes = g_ptr_array_new_with_free_func(g_free);
	GOptionEntry entries[] = {
	    {"kernel", 0, 0, G_OPTION_ARG_STRING, &kernel,
	     "the kernel to run (required unless the field's is a Debian kernel)", "REF"},
	    {"image", 0, 0, G_OPTION_ARG_STRING, &image, "the guest image: mini (default) | debian",
	     "KIND"},
	    {"out", 0, 0, G_OPTION_ARG_FILENAME, &out, "also write the scenario to FILE", "FILE"},
	    {"size", 0, 0, G_OPTION_ARG_NONE, &size,
	     "also find the smallest crashkernel= that works for the field's machine (64M..512M, "
	     "8M "
	     "steps: kdh sizing's bisection)",
	     NULL},
	    {"name", 0, 0, G_OPTION_ARG_STRING, &name, "the scenario's name (default: reproduce)",
	     "NAME"},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FIELD"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_auto(KdhRunnerOptions) runner = {0};
	g_autoptr(GPtrArray) cases = NULL, batch = NULL,
	                     notes = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(KdhSession) session = NULL;
	g_autoptr(KdhField) field = NULL, repro = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *ini = NULL, *path = NULL, *text = NULL, *json = NULL, *md = NULL;
	KdhReproduceOptions ro = {0};
	KdhReproduceMatch match = {0};
	const KdhResult *r;
	Outcome o;
	int status, finish;

	if (!kdh_cli_parse_run("kdh reproduce",
	                       "- reproduce a field crash (console log, dmesg or vmcore)", entries,
	                       &runner, NULL, &argc, &argv))
		return KDH_EXIT_USAGE;
	if (!files || !files[0] || files[1]) {
		g_printerr("kdh reproduce: one FIELD (a console log, dmesg or vmcore) is needed\n");
		return KDH_EXIT_USAGE;
	}
	if (!(field = kdh_field_load(files[0], &error))) {
		g_printerr("kdh reproduce: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	print_field(stdout, field);
	fflush(stdout); /* before any error below, in order */
	ro.kernel = kernel;
	ro.image = image;
	ro.name = name ? name : "reproduce";
	if (!(ini = kdh_reproduce_scenario(field, &ro, notes, &error))) {
		g_printerr("kdh reproduce: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	for (guint i = 0; i < notes->len; i++)
		printf("  note: %s\n", (const char *)g_ptr_array_index(notes, i));
	/* Checked as a user's file is, before anything starts. */
	if (!(cases = kdh_scenario_load_data(ro.name, ini, &error))) {
		g_printerr("kdh reproduce: the scenario it made is refused: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	if (out && !g_file_set_contents(out, ini, -1, &error)) {
		g_printerr("kdh reproduce: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	/* The reproduced crash is read from its dump: keep it whatever the verdict. */
	g_free(runner.keep_dumps);
	runner.keep_dumps = g_strdup("always");
	if (!(session = kdh_session_new("kdh reproduce", &runner, cases, &status)))
		return status;
	if (!kdh_session_ensure_dir(session))
		return KDH_EXIT_ERROR;
	path = g_build_filename(kdh_session_context(session)->run_dir, "reproduce.ini", NULL);
	g_ptr_array_unref(cases);
	cases = NULL;
	if (!g_file_set_contents(path, ini, -1, &error) ||
	    !(cases = kdh_scenario_load(path, &error))) {
		g_printerr("kdh reproduce: %s\n", error->message);
		return KDH_EXIT_ERROR;
	}
	printf("scenario: %s%s%s\n", path, out ? " and " : "", out ? out : "");
	if ((status = kdh_session_run(session, cases, &batch)) != KDH_EXIT_OK || !batch->len)
		return status;
	r = g_ptr_array_index(batch, 0);
	if ((repro = reproduced(r)))
		kdh_reproduce_compare(field, repro, &match);
	if (size) {
		const KdhCase *tmpl = g_ptr_array_index(cases, 0);
		KdhSizingRow *row = kdh_sizing_row_new(tmpl->memory, 64 * KDH_MIB, 512 * KDH_MIB,
		                                       8 * KDH_MIB, &error);

		if (!row) {
			g_printerr("kdh reproduce: --size: %s\n", error->message);
			return KDH_EXIT_ERROR;
		}
		g_ptr_array_add(rows, row);
		status = kdh_cli_sizing_rounds(session, tmpl, rows);
		sized = size_line(&row->search);
		g_ptr_array_extend(probes, row->probes, (GCopyFunc)(void *)g_strdup, NULL);
		if (status != KDH_EXIT_OK)
			return status;
	}
	o = (Outcome){field, repro, r, &match, notes, path, sized, probes};
	text = summary(&o);
	fputs(text, stdout);
	json = g_build_filename(kdh_session_context(session)->run_dir, "reproduce.json", NULL);
	md = g_build_filename(kdh_session_context(session)->run_dir, "reproduce.md", NULL);
	if (!write_json(&o, json, &error) || !write_md(&o, text, md, &error)) {
		g_printerr("kdh reproduce: %s\n", error->message);
		return KDH_EXIT_ERROR;
	}
	finish = kdh_session_finish(session, NULL);
	if (finish >= 128)
		return finish; /* interrupted */
	/* The reproduction's own verdict: --size's too-small probes are
	 * answers, not failures. */
	{
		KdhVerdictCounts counts = {{0}};

		counts.n[r->verdict]++;
		finish = kdh_report_exit_status(&counts);
	}
	/* The reproduction's promise: a crash of the same kernel and class. */
	if (finish == KDH_EXIT_OK && (!repro || !match.klass || !match.release))
		return KDH_EXIT_FAIL;
	return finish;
}
