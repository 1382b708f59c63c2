/* kdh matrix: the kernels of a matrix file x its scenario files, a case per
 * cell, with the run's reports (report.html and summary.md show the grid).
 * --resume DIR carries over every cell an earlier run passed with the same
 * inputs (kernel entry, image entry, scenario text): a CI job that died
 * half-way, or a matrix that gained a kernel, reruns only what is new. */
#include "cli/commands.h"
#include "scenario/scenario.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* The most files a carried case folder may hold: kdh writes about ten. */
#define CARRY_MAX_FILES 256u

/* Copies the regular files of FROM into the new folder TO (links are not
 * followed, folders not entered: kdh writes none in a case folder).  A hard
 * link where the file system allows, so a kept dump costs nothing. */
static gboolean copy_case_dir(const char *from, const char *to, GError **error)
{
	g_autoptr(GDir) dir = g_dir_open(from, 0, error);
	const char *name;
	guint n = 0;

	if (!dir || g_mkdir_with_parents(to, 0755) != 0) {
		if (dir)
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s",
			            to, g_strerror(errno));
		return FALSE;
	}
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *src = g_build_filename(from, name, NULL);
		g_autofree char *dst = g_build_filename(to, name, NULL);
		g_autoptr(GFile) fsrc = NULL, fdst = NULL;
		struct stat st;

		if (lstat(src, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (++n > CARRY_MAX_FILES) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			            "%s holds more than %u files: not a kdh case folder", from,
			            CARRY_MAX_FILES);
			return FALSE;
		}
		if (link(src, dst) == 0)
			continue;
		fsrc = g_file_new_for_path(src);
		fdst = g_file_new_for_path(dst);
		if (!g_file_copy(fsrc, fdst, G_FILE_COPY_NOFOLLOW_SYMLINKS, NULL, NULL, NULL,
		                 error))
			return FALSE;
	}
	return TRUE;
}

/* Whether NODE (a verdict.json) ran what C would run now (INPUTS). */
static gboolean same_inputs(JsonNode *node, const KdhInputs *inputs, const char **differs)
{
	JsonObject *o = json_node_get_object(node);
	JsonObject *in = json_object_get_member(o, "inputs") &&
	                         JSON_NODE_HOLDS_OBJECT(json_object_get_member(o, "inputs"))
	                     ? json_object_get_object_member(o, "inputs")
	                     : NULL;
	const struct {
		const char *name;
		const char *now;
	} items[] = {
	    {"kernel", inputs->kernel},
	    {"image", inputs->image},
	    {"scenario", inputs->scenario},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(items); i++) {
		const char *then =
		    in ? json_object_get_string_member_with_default(in, items[i].name, NULL) : NULL;
		if (!items[i].now || !then || !g_str_equal(items[i].now, then)) {
			*differs = items[i].name;
			return FALSE;
		}
	}
	return TRUE;
}

/* Moves the cases of CASES that PREVIOUS (an earlier run's folder) passed
 * with the same inputs into the session, as carried; the rest stay in
 * CASES.  Each case says which it is and why.  FALSE (said) when a carried
 * case's folder cannot be copied. */
static gboolean resume(KdhSession *s, const char *previous, GPtrArray *cases)
{
	const KdhRunContext *ctx = kdh_session_context(s);
	guint carried = 0;

	for (guint i = 0; i < cases->len;) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		g_autofree char *dir = g_build_filename(previous, c->name, NULL);
		g_autofree char *file = g_build_filename(dir, "verdict.json", NULL);
		g_autofree char *to = g_build_filename(ctx->run_dir, c->name, NULL);
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonNode) node = NULL;
		g_auto(KdhInputs) inputs = {0};
		KdhVerdict v = KDH_VERDICT_ERROR;
		const char *differs = NULL, *verdict;

		if (!g_file_test(file, G_FILE_TEST_EXISTS)) {
			g_print("kdh: resume %s: not in %s, runs\n", c->name, previous);
			i++;
			continue;
		}
		if (!(node = kdh_report_read_verdict(file, &error))) {
			g_print("kdh: resume %s: runs (%s)\n", c->name, error->message);
			i++;
			continue;
		}
		verdict = json_object_get_string_member(json_node_get_object(node), "verdict");
		kdh_run_case_inputs(kdh_session_prepared(s), c, &inputs);
		if (!kdh_verdict_from_name(verdict, &v) || v != KDH_VERDICT_PASS ||
		    !same_inputs(node, &inputs, &differs)) {
			if (differs)
				g_print("kdh: resume %s: runs (its %s changed since)\n", c->name,
				        differs);
			else
				g_print("kdh: resume %s: runs (it was %s)\n", c->name, verdict);
			i++;
			continue;
		}
		if (!copy_case_dir(dir, to, &error)) {
			g_printerr("kdh matrix: --resume: %s\n", error->message);
			return FALSE;
		}
		json_object_set_string_member(json_node_get_object(node), "resumed_from", previous);
		json_object_set_string_member(json_node_get_object(node), "results_dir", to);
		kdh_session_add_carried(s, g_steal_pointer(&node), v);
		g_print("kdh: resume %s: PASS carried over from %s\n", c->name, previous);
		g_ptr_array_remove_index(cases, i);
		carried++;
	}
	g_print("kdh: resume: %u cell%s carried over, %u to run\n", carried,
	        carried == 1 ? "" : "s", cases->len);
	return TRUE;
}

int kdh_cmd_matrix(int argc, char **argv)
{
	g_auto(GStrv) files = NULL;
	g_autofree char *previous = NULL;
	GOptionEntry entries[] = {
	    {"resume", 0, 0, G_OPTION_ARG_FILENAME, &previous,
	     "carry over every cell the earlier run in DIR (results/<run id>) passed with the "
	     "same kernel build, image and scenario text; run the others",
	     "DIR"},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "MATRIX-FILE"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_auto(KdhRunnerOptions) runner = {0};
	g_auto(KdhSelectOptions) select = {0};
	g_autoptr(GPtrArray) cases = NULL, batch = NULL;
	g_autoptr(KdhSession) session = NULL;
	g_autoptr(GError) error = NULL;
	int status;

	if (!kdh_cli_parse_run("kdh matrix",
	                       "- run every scenario of a matrix file on each of its kernels",
	                       entries, &runner, &select, &argc, &argv))
		return KDH_EXIT_USAGE;
	if (previous && !g_file_test(previous, G_FILE_TEST_IS_DIR)) {
		g_printerr("kdh matrix: --resume %s: not a folder\n", previous);
		return KDH_EXIT_USAGE;
	}
	cases = kdh_cli_load_matrix((const char *const *)files, &select, &error);
	if (!cases) {
		g_printerr("kdh matrix: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	if (!(session = kdh_session_new("kdh matrix", &runner, cases, &status)))
		return status;
	kdh_session_set_order(session, cases);
	if (previous && cases->len) {
		/* The inputs of a cell are known once its kernel and image are. */
		if ((status = kdh_session_prepare(session, cases)) != KDH_EXIT_OK)
			return status;
		if (!resume(session, previous, cases))
			return KDH_EXIT_ERROR;
	}
	if (cases->len && (status = kdh_session_run(session, cases, &batch)) != KDH_EXIT_OK)
		return status;
	return kdh_session_finish(session, &select);
}
