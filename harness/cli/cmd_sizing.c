/* kdh sizing: per RAM size, the smallest crashkernel= whose real crash and
 * capture PASS, found by bisection (sizing/), each round one probe per RAM
 * size still searching, all of a round run at once by the session's jobs. */
#include "cli/commands.h"
#include "scenario/scenario.h"
#include "sizing/sizing.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/stat.h>

/* The most RAM sizes one sizing takes. */
#define MAX_RAM_SIZES 16u

typedef struct {
	char *memory, *kernel, *image, *collector, *trigger, *step, *low, *high;
	gint margin;
} Options;

static void options_clear(Options *o)
{
	g_free(o->memory);
	g_free(o->kernel);
	g_free(o->image);
	g_free(o->collector);
	g_free(o->trigger);
	g_free(o->step);
	g_free(o->low);
	g_free(o->high);
}

/* TEXT, a size ("104M"), into *BYTES, a whole number of MiB; FALSE (said)
 * otherwise. */
static gboolean size_option(const char *name, const char *text, guint64 *bytes)
{
	if (!kdh_parse_size(text, bytes) || !*bytes || *bytes % KDH_MIB) {
		g_autofree char *shown = g_strescape(text, NULL);
		g_printerr("kdh sizing: %s '%s': a size in whole MiB (e.g. 8M, 1G)\n", name, shown);
		return FALSE;
	}
	return TRUE;
}

static gint by_size(gconstpointer a, gconstpointer b)
{
	guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;

	return x < y ? -1 : x > y;
}

/* --memory 512M,1G,...: distinct sizes, sorted. */
static GArray *ram_sizes(const char *text)
{
	g_auto(GStrv) parts = g_strsplit(text ? text : "", ",", -1);
	g_autoptr(GArray) sizes = g_array_new(FALSE, FALSE, sizeof(guint64));

	if (!text || !*text) {
		g_printerr("kdh sizing: --memory is required (e.g. --memory 512M,1G,2G)\n");
		return NULL;
	}
	for (char **p = parts; *p; p++) {
		guint64 bytes;
		if (!size_option("--memory", g_strstrip(*p), &bytes))
			return NULL;
		for (guint i = 0; i < sizes->len; i++) {
			if (g_array_index(sizes, guint64, i) == bytes) {
				g_printerr("kdh sizing: --memory lists %s twice\n", *p);
				return NULL;
			}
		}
		g_array_append_val(sizes, bytes);
	}
	if (sizes->len > MAX_RAM_SIZES) {
		g_printerr("kdh sizing: --memory takes at most %u sizes\n", MAX_RAM_SIZES);
		return NULL;
	}
	g_array_sort(sizes, by_size);
	return g_steal_pointer(&sizes);
}

/* The probes' template: SCENARIO (one case, no [matrix]) or the built-in
 * one, with the options' kernel, image, collector and trigger, always
 * expecting a dump; loaded as a user's file is, so every value is checked. */
static KdhCase *template_case(const char *scenario, const Options *o, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GPtrArray) cases = NULL;
	g_autofree char *text = NULL, *name = NULL;

	if (scenario) {
		g_autoptr(GPtrArray) own = kdh_scenario_load(scenario, error);
		if (!own)
			return NULL;
		if (own->len != 1) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
			            "%s: a sizing scenario has one case, not a [matrix] of %u",
			            scenario, own->len);
			return NULL;
		}
		/* Read by the scenario files' own rules (bounds, comments). */
		text = kdh_scenario_read_text(scenario, error);
		if (!text || !g_key_file_load_from_data(kf, text, -1, G_KEY_FILE_NONE, error))
			return NULL;
		g_clear_pointer(&text, g_free);
	} else {
		g_key_file_set_string(kf, "scenario", "name", "sizing");
		g_key_file_set_string(kf, "scenario", "description",
		                      "kdh sizing's probe: a sysrq crash in the mini guest");
	}
	if (o->kernel)
		g_key_file_set_string(kf, "kernel", "ref", o->kernel);
	if (o->image)
		g_key_file_set_string(kf, "vm", "image", o->image);
	if (o->collector)
		g_key_file_set_string(kf, "capture", "collector", o->collector);
	if (o->trigger)
		g_key_file_set_string(kf, "crash", "trigger", o->trigger);
	/* A probe must capture a dump: that is what "works" means. */
	g_key_file_set_string(kf, "expect", "outcome", "dump");
	g_key_file_remove_key(kf, "expect", "reason", NULL);
	/* kdh's reader verifies every probe's dump; crash(8)'s second opinion
	 * (12 s a probe here) says nothing about memory. */
	g_key_file_set_string(kf, "verify", "crash", "no");
	text = g_key_file_to_data(kf, NULL, NULL);
	name = g_strdup_printf("%s (as the sizing's probe)", scenario ? scenario : "sizing");
	if (!(cases = kdh_scenario_load_data(name, text, error)))
		return NULL;
	return kdh_case_copy(g_ptr_array_index(cases, 0));
}

/* Probe SIZE for RAM with TEMPLATE: a case of its own name. */
static KdhCase *probe_case(const KdhCase *tmpl, guint64 ram, guint64 size, gboolean retry)
{
	KdhCase *c = kdh_case_copy(tmpl);
	g_autofree char *r = kdh_sizing_size_text(ram), *s = kdh_sizing_size_text(size);

	c->memory = ram;
	g_free(c->crashkernel);
	c->crashkernel = g_strdup(s);
	g_free(c->name);
	c->name = g_strdup_printf("%s-ram%s-ck%s%s", tmpl->name, r, s, retry ? "-retry" : "");
	return c;
}

static double result_seconds(const KdhResult *r)
{
	double total = 0;

	for (guint i = 0; i < r->phases->len; i++)
		total += ((const KdhPhase *)g_ptr_array_index(r->phases, i))->seconds;
	return total;
}

/* The outcome of probe R for the search, and what to say of it. */
static KdhProbeOutcome outcome_of(const KdhResult *r, const char **why)
{
	KdhProbeOutcome out =
	    kdh_sizing_probe_outcome(r->verdict == KDH_VERDICT_PASS, r->diagnosis);

	*why = r->diagnosis;
	if (out == KDH_PROBE_OTHER && !*why)
		*why = r->reasons->len ? g_ptr_array_index(r->reasons, 0)
		                       : kdh_verdict_name(r->verdict);
	return out;
}

static gsize file_size(const char *path)
{
	struct stat st;

	return path && g_stat(path, &st) == 0 ? (gsize)st.st_size : 0;
}

/* Rounds until every search is over or the run is cancelled; an exit
 * status other than KDH_EXIT_OK when the session could not run.  The first
 * round probes both bounds of every RAM size at once (the low one is
 * wasted only where even the high one fails); a probe whose answer the
 * search no longer needs is logged and not recorded. */
int kdh_cli_sizing_rounds(KdhSession *session, const KdhCase *tmpl, GPtrArray *rows)
{
	for (guint round = 0;; round++) {
		g_autoptr(GPtrArray) cases =
		    g_ptr_array_new_with_free_func((GDestroyNotify)kdh_case_free);
		g_autoptr(GPtrArray) owners = g_ptr_array_new();
		g_autoptr(GArray) sizes = g_array_new(FALSE, FALSE, sizeof(guint64));
		g_autoptr(GPtrArray) batch = NULL;
		int status;

		for (guint i = 0; i < rows->len; i++) {
			KdhSizingRow *row = g_ptr_array_index(rows, i);
			guint64 size = kdh_sizing_search_next(&row->search);
			if (!size)
				continue;
			g_ptr_array_add(cases, probe_case(tmpl, row->search.ram, size,
			                                  row->search.retrying != 0));
			g_ptr_array_add(owners, row);
			g_array_append_val(sizes, size);
			if (round == 0 && size == row->search.high) {
				g_ptr_array_add(cases, probe_case(tmpl, row->search.ram,
				                                  row->search.low, FALSE));
				g_ptr_array_add(owners, row);
				g_array_append_val(sizes, row->search.low);
			}
		}
		if (!cases->len || kdh_session_cancelled(session))
			return KDH_EXIT_OK;
		if ((status = kdh_session_run(session, cases, &batch)) != KDH_EXIT_OK)
			return status;
		for (guint i = 0; i < batch->len; i++) {
			const KdhResult *r = g_ptr_array_index(batch, i);
			KdhSizingRow *row = g_ptr_array_index(owners, i);
			const KdhCase *c = g_ptr_array_index(cases, i);
			const char *why;
			KdhProbeOutcome out = outcome_of(r, &why);
			guint64 size = g_array_index(sizes, guint64, i);

			if (r->verdict == KDH_VERDICT_NOT_RUN)
				return KDH_EXIT_OK;
			g_ptr_array_add(
			    row->probes,
			    g_strdup_printf("%s %s%s%s (%s, %.0f s)", c->crashkernel,
			                    out == KDH_PROBE_PASS        ? "works"
			                    : out == KDH_PROBE_TOO_SMALL ? "too small"
			                    : out == KDH_PROBE_TOO_LARGE ? "cannot be reserved"
			                                                 : "failed otherwise",
			                    why ? ": " : "", why ? why : "",
			                    kdh_verdict_name(r->verdict), result_seconds(r)));
			if (size != kdh_sizing_search_next(&row->search)) {
				row->unneeded++;
				g_ptr_array_add(
				    row->probes,
				    g_strdup_printf("%s not needed: the search had ended",
				                    c->crashkernel));
				continue;
			}
			kdh_sizing_search_record(&row->search, size, out, why, result_seconds(r));
		}
	}
}

int kdh_cmd_sizing(int argc, char **argv)
{
	g_auto(GStrv) files = NULL;
	Options o = {.margin = 20};
	GOptionEntry entries[] = {
	    {"memory", 'm', 0, G_OPTION_ARG_STRING, &o.memory,
	     "the guest RAM sizes to measure, e.g. 512M,1G,2G,4G (required)", "LIST"},
	    {"kernel", 0, 0, G_OPTION_ARG_STRING, &o.kernel, "the kernel (default: debian:default)",
	     "REF"},
	    {"image", 0, 0, G_OPTION_ARG_STRING, &o.image, "mini (default) or debian", "KIND"},
	    {"collector", 0, 0, G_OPTION_ARG_STRING, &o.collector,
	     "the collector (default: the image's)", "NAME"},
	    {"trigger", 0, 0, G_OPTION_ARG_STRING, &o.trigger, "the crash (default: sysrq)",
	     "NAME"},
	    {"step", 0, 0, G_OPTION_ARG_STRING, &o.step, "the bisection's resolution (default: 8M)",
	     "SIZE"},
	    {"low", 0, 0, G_OPTION_ARG_STRING, &o.low, "the lower bound (default: 64M)", "SIZE"},
	    {"high", 0, 0, G_OPTION_ARG_STRING, &o.high, "the upper bound (default: 512M)", "SIZE"},
	    {"margin", 0, 0, G_OPTION_ARG_INT, &o.margin,
	     "the suggestion's safety margin over the measurement, percent (default: 20)", "PCT"},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "[SCENARIO]"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_auto(KdhRunnerOptions) runner = {0};
	g_autoptr(GArray) rams = NULL;
	g_autoptr(KdhCase) tmpl = NULL;
	g_autoptr(GPtrArray) rows =
	    g_ptr_array_new_with_free_func((GDestroyNotify)kdh_sizing_row_free);
	g_autoptr(GPtrArray) sized = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_case_free);
	g_autoptr(KdhSession) session = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL, *kernel_text = NULL;
	guint64 step = 8 * KDH_MIB, low = 64 * KDH_MIB, high = 512 * KDH_MIB;
	gint64 start = g_get_monotonic_time();
	const KdhKernel *k;
	const KdhBootImage *img;
	KdhSizingReport report = {0};
	int status, finished;
	guint margin;

	if (!kdh_cli_parse_run("kdh sizing", "- the smallest crashkernel= that works, per RAM size",
	                       entries, &runner, NULL, &argc, &argv)) {
		options_clear(&o);
		return KDH_EXIT_USAGE;
	}
	status = KDH_EXIT_USAGE;
	if (files && files[0] && files[1])
		g_printerr("kdh sizing: at most one SCENARIO\n");
	else if (!(rams = ram_sizes(o.memory)) ||
	         (o.step && !size_option("--step", o.step, &step)) ||
	         (o.low && !size_option("--low", o.low, &low)) ||
	         (o.high && !size_option("--high", o.high, &high)))
		;
	else if (o.margin < 0 || o.margin > 400)
		g_printerr("kdh sizing: --margin must be 0 to 400\n");
	else if (!(tmpl = template_case(files ? files[0] : NULL, &o, &error)))
		g_printerr("kdh sizing: %s\n", error->message);
	else
		status = KDH_EXIT_OK;
	margin = (guint)o.margin;
	options_clear(&o);
	if (status != KDH_EXIT_OK)
		return status;
	for (guint i = 0; i < rams->len; i++) {
		KdhSizingRow *row =
		    kdh_sizing_row_new(g_array_index(rams, guint64, i), low, high, step, &error);
		if (!row) {
			g_printerr("kdh sizing: %s\n", error->message);
			return KDH_EXIT_USAGE;
		}
		g_ptr_array_add(rows, row);
		g_ptr_array_add(sized, probe_case(tmpl, row->search.ram, high, FALSE));
	}
	if (!(session = kdh_session_new("kdh sizing", &runner, sized, &status)))
		return status;
	/* The kernel and image first: the estimators read their sizes. */
	if ((status = kdh_session_prepare(session, sized)) != KDH_EXIT_OK)
		return status;
	g_print("kdh sizing: %u RAM size%s, bounds %" G_GUINT64_FORMAT "M..%" G_GUINT64_FORMAT
	        "M in %" G_GUINT64_FORMAT "M steps: at most %u probes each\n",
	        rows->len, rows->len == 1 ? "" : "s", low / KDH_MIB, high / KDH_MIB, step / KDH_MIB,
	        kdh_sizing_bisect_bound(low, high, step) + 2);
	if ((status = kdh_cli_sizing_rounds(session, tmpl, rows)) != KDH_EXIT_OK)
		return status;

	k = kdh_prepared_kernel(kdh_session_prepared(session), g_ptr_array_index(sized, 0));
	img = kdh_prepared_image(kdh_session_prepared(session), g_ptr_array_index(sized, 0));
	kernel_text = g_strdup_printf("%s (%s)", tmpl->kernel_ref, k ? k->release : "?");
	report = (KdhSizingReport){
	    .kernel = kernel_text,
	    .image = tmpl->image,
	    .collector = tmpl->collector,
	    .trigger = tmpl->trigger->name,
	    .low = low,
	    .high = high,
	    .step = step,
	    .margin_pct = margin,
	    .inputs = {.vmlinuz = k ? file_size(k->vmlinuz) : 0,
	               .initrd = img ? file_size(img->initrd) : 0},
	    .wall_seconds = (g_get_monotonic_time() - start) / 1e6,
	    .rows = rows,
	};
	finished = kdh_session_finish(session, NULL);
	text = kdh_sizing_report_text(&report, FALSE);
	g_print("\n%s", text);
	/* After the session's reports: sizing's junit.xml replaces the probes'
	 * (an expected too-small probe is no test failure). */
	if (!kdh_sizing_report_write(&report, kdh_session_context(session)->run_dir, &error)) {
		g_printerr("kdh sizing: %s\n", error->message);
		return KDH_EXIT_ERROR;
	}
	g_print("kdh sizing: sizing.json, sizing.md, sizing.svg in %s\n",
	        kdh_session_context(session)->run_dir);
	if (kdh_session_cancelled(session))
		return finished;
	return kdh_sizing_report_status(&report);
}
