/* A matrix file: the kernels a set of scenario files runs on, each scenario
 * case once per kernel (kdh matrix).  It is text of the same rules as a
 * scenario file (size, UTF-8, comments) and names every mistake with file
 * and line. */
#include "scenario/internal.h"
#include "scenario/scenario.h"
#include "util/util.h"

#include <string.h>

/* Where each "group/key" was written, for errors; and the refusals of
 * anything else than the three groups and their keys. */
static gboolean scan(const char *name, const char *text, GHashTable *lines, GError **error)
{
	g_auto(GStrv) split = g_strsplit(text, "\n", -1);
	g_autofree char *group = NULL;
	guint lineno = 0;

	for (char **l = split; *l; l++) {
		const char *line = *l, *eq;
		g_autofree char *key = NULL, *id = NULL;

		lineno++;
		if (!*line)
			continue;
		if (*line == '[') {
			const char *close = strchr(line, ']');
			g_free(group);
			group = close ? g_strndup(line + 1, close - line - 1) : NULL;
			if (!group || close[1] ||
			    !g_strv_contains(
			        (const char *const[]){"matrix", "kernels", "scenarios", NULL},
			        group)) {
				g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_KEY,
				            "%s:%u: unknown group %s (a matrix file has [matrix], "
				            "[kernels] and [scenarios])",
				            name, lineno, line);
				return FALSE;
			}
			/* "group/": the header's line (no key is empty) */
			id = g_strdup_printf("%s/", group);
			if (g_hash_table_contains(lines, id)) {
				g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_KEY,
				            "%s:%u: [%s] given twice (first at line %u)", name,
				            lineno, group,
				            GPOINTER_TO_UINT(g_hash_table_lookup(lines, id)));
				return FALSE;
			}
			g_hash_table_insert(lines, g_steal_pointer(&id), GUINT_TO_POINTER(lineno));
			continue;
		}
		if (!group || !(eq = strchr(line, '=')) || eq == line) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_SYNTAX,
			            "%s:%u: expected key=value in a group", name, lineno);
			return FALSE;
		}
		key = g_strstrip(g_strndup(line, eq - line));
		if ((g_str_equal(group, "matrix") &&
		     !g_strv_contains((const char *const[]){"name", "description", NULL}, key)) ||
		    (g_str_equal(group, "scenarios") && !g_str_equal(key, "files"))) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_KEY,
			            "%s:%u: [%s] %s: unknown key", name, lineno, group, key);
			return FALSE;
		}
		id = g_strdup_printf("%s/%s", group, key);
		if (g_hash_table_contains(lines, id)) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_KEY,
			            "%s:%u: [%s] %s: given twice (first at line %u)", name, lineno,
			            group, key, GPOINTER_TO_UINT(g_hash_table_lookup(lines, id)));
			return FALSE;
		}
		g_hash_table_insert(lines, g_steal_pointer(&id), GUINT_TO_POINTER(lineno));
	}
	return TRUE;
}

/* The line of [GROUP] KEY; when absent, of GROUP's header; else 1: every
 * error names a line. */
static guint line_of(GHashTable *lines, const char *group, const char *key)
{
	g_autofree char *id = g_strdup_printf("%s/%s", group, key);
	g_autofree char *header = g_strdup_printf("%s/", group);
	guint line = GPOINTER_TO_UINT(g_hash_table_lookup(lines, id));

	if (!line)
		line = GPOINTER_TO_UINT(g_hash_table_lookup(lines, header));
	return MAX(line, 1);
}

/* The cases of FILE (relative to the matrix file NAME's folder DIR, named
 * at LINE), which must all run the same kernel: the matrix decides it. */
static GPtrArray *load_scenario(const char *name, guint line, const char *dir, const char *file,
                                GError **error)
{
	/* "../a.ini" from scenarios/matrices/ reads as scenarios/a.ini. */
	g_autofree char *base = g_canonicalize_filename(dir, NULL);
	g_autofree char *path = g_canonicalize_filename(file, base);
	g_autoptr(GError) why = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load(path, &why);

	if (!cases) {
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
		            "%s:%u: [scenarios] files: %s", name, line, why->message);
		return NULL;
	}
	for (guint i = 1; i < cases->len; i++) {
		const KdhCase *a = g_ptr_array_index(cases, 0), *b = g_ptr_array_index(cases, i);
		if (!g_str_equal(a->kernel_ref, b->kernel_ref)) {
			g_set_error(
			    error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
			    "%s:%u: [scenarios] files: %s:%u varies the kernel; in a matrix "
			    "the matrix file's [kernels] decide it",
			    name, line, path, b->kernel_line);
			return NULL;
		}
	}
	return g_steal_pointer(&cases);
}

/* SRC's cell on the kernel LABEL (REF, at LINE of NAME), appended to OUT. */
static gboolean add_cell(const char *name, guint line, const char *label, const char *ref,
                         const KdhCase *src, GPtrArray *out, GError **error)
{
	g_autofree char *joined = g_strdup_printf("%s+%s", label, src->name);
	g_autoptr(GError) bad = NULL;
	char *safe = kdh_safe_name(joined, &bad);
	KdhCase *c;

	if (!safe) {
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
		            "%s:%u: [kernels] %s: case %s: %s", name, line, label, src->name,
		            bad->message);
		return FALSE;
	}
	c = kdh_case_copy(src);
	g_free(c->name);
	c->name = safe;
	g_free(c->kernel_ref);
	c->kernel_ref = g_strdup(ref);
	c->matrix_kernel = g_strdup(label);
	c->matrix_scenario = g_strdup(src->name);
	g_ptr_array_add(out, c);
	return TRUE;
}

GPtrArray *kdh_matrix_load(const char *path, GError **error)
{
	g_autofree char *text = scenario_read_file(path, error);

	return text ? kdh_matrix_load_data(path, text, error) : NULL;
}

GPtrArray *kdh_matrix_load_data(const char *path, const char *text, GError **error)
{
	g_autofree char *clean = NULL, *dir = NULL;
	g_autoptr(GHashTable) lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_case_free);
	g_autoptr(GPtrArray) scenarios = NULL;
	g_autoptr(GError) local = NULL;
	g_auto(GStrv) labels = NULL, files = NULL;
	gsize n_labels = 0, n_files = 0, n_cells = 0;

	if (!scenario_check_text(path, text, strlen(text), error))
		return NULL;
	clean = scenario_strip_comments(text);
	if (!scan(path, clean, lines, error))
		return NULL;
	if (!g_key_file_load_from_data(kf, clean, -1, G_KEY_FILE_NONE, &local)) {
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_SYNTAX, "%s:1: %s", path,
		            local->message);
		return NULL;
	}
	labels = g_key_file_get_keys(kf, "kernels", &n_labels, NULL);
	if (!n_labels || n_labels > KDH_MATRIX_MAX_KERNELS) {
		g_set_error(
		    error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_MISSING,
		    "%s:%u: [kernels] must list 1 to %u kernels, as LABEL=REF lines (it has %zu)",
		    path, line_of(lines, "kernels", ""), KDH_MATRIX_MAX_KERNELS, n_labels);
		return NULL;
	}
	for (char **label = labels; *label; label++) {
		g_autofree char *ref = g_key_file_get_string(kf, "kernels", *label, NULL);
		g_autofree char *why = NULL, *safe = kdh_safe_name(*label, NULL);
		guint line = line_of(lines, "kernels", *label);

		if (!safe || !g_str_equal(safe, *label)) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
			            "%s:%u: [kernels] %s: a label is letters, digits and ._+- only",
			            path, line, *label);
			return NULL;
		}
		if (!ref || !scenario_kernel_ref_check(g_strstrip(ref), &why)) {
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
			            "%s:%u: [kernels] %s: %s", path, line, *label,
			            why ? why : "no kernel ref");
			return NULL;
		}
	}
	files = g_key_file_get_string_list(kf, "scenarios", "files", &n_files, NULL);
	if (!n_files || n_files > KDH_MATRIX_MAX_SCENARIOS) {
		g_set_error(
		    error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_MISSING,
		    "%s:%u: [scenarios] files= must list 1 to %u scenario files, separated by ';'",
		    path, line_of(lines, "scenarios", "files"), KDH_MATRIX_MAX_SCENARIOS);
		return NULL;
	}
	dir = g_path_get_dirname(path);
	scenarios = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
	for (char **f = files; *f; f++) {
		GPtrArray *more = load_scenario(path, line_of(lines, "scenarios", "files"), dir,
		                                g_strstrip(*f), error);
		if (!more)
			return NULL;
		g_ptr_array_add(scenarios, more);
	}
	for (guint f = 0; f < scenarios->len; f++)
		n_cells += ((GPtrArray *)g_ptr_array_index(scenarios, f))->len;
	n_cells *= n_labels;
	if (n_cells > KDH_MATRIX_MAX_CASES) {
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE,
		            "%s:%u: [scenarios] files: %zu kernels times their cases make %zu "
		            "cases, more than %u",
		            path, line_of(lines, "scenarios", "files"), n_labels, n_cells,
		            KDH_MATRIX_MAX_CASES);
		return NULL;
	}
	/* Kernel by kernel: a row of the grid runs together. */
	for (char **label = labels; *label; label++) {
		g_autofree char *ref =
		    g_strstrip(g_key_file_get_string(kf, "kernels", *label, NULL));
		for (guint f = 0; f < scenarios->len; f++) {
			GPtrArray *of = g_ptr_array_index(scenarios, f);
			for (guint i = 0; i < of->len; i++) {
				if (!add_cell(path, line_of(lines, "kernels", *label), *label, ref,
				              g_ptr_array_index(of, i), cases, error))
					return NULL;
			}
		}
	}
	if (!kdh_cases_names_unique(cases, &local)) {
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_VALUE, "%s:%u: %s", path,
		            line_of(lines, "scenarios", "files"), local->message);
		return NULL;
	}
	return g_steal_pointer(&cases);
}
