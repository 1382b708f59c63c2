/* Helpers shared by the test suites. */
#include "support.h"
#include "scenario/scenario.h"

#include <check.h>
#include <sys/wait.h>

/* build/kdh (or $KDH_BIN) and ARGS, NULL-terminated. */
static GPtrArray *kdh_argv(const char *const *args)
{
	GPtrArray *argv = g_ptr_array_new();
	const char *bin = g_getenv("KDH_BIN");

	g_ptr_array_add(argv, (gpointer)(bin && *bin ? bin : "build/kdh"));
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (gpointer)*a);
	g_ptr_array_add(argv, NULL);
	return argv;
}

int kdh_test_run(const char *const *args, GPid *pid)
{
	g_autoptr(GPtrArray) argv = kdh_argv(args);
	g_autoptr(GError) error = NULL;
	GPid child;
	int status = -1;
	ck_assert_msg(g_spawn_async(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
	                            NULL, NULL, &child, &error),
	              "%s", error ? error->message : "");
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	if (pid)
		*pid = child;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int kdh_test_run_output(const char *const *args, char **out, char **err)
{
	g_autoptr(GPtrArray) argv = kdh_argv(args);
	g_autoptr(GError) error = NULL;
	int status = -1;

	ck_assert_msg(g_spawn_sync(NULL, (char **)argv->pdata, NULL,
	                           (out ? 0 : G_SPAWN_CHILD_INHERITS_STDOUT) |
	                               (err ? 0 : G_SPAWN_CHILD_INHERITS_STDERR),
	                           NULL, NULL, out, err, &status, &error),
	              "%s", error ? error->message : "");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

GIOChannel *kdh_test_spawn(const char *const *args, GPid *pid)
{
	g_autoptr(GPtrArray) argv = kdh_argv(args);
	g_autoptr(GError) error = NULL;
	GIOChannel *out;
	int fd;

	ck_assert_msg(g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
	                                       G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, pid, NULL,
	                                       &fd, NULL, &error),
	              "%s", error ? error->message : "");
	out = g_io_channel_unix_new(fd);
	g_io_channel_set_close_on_unref(out, TRUE);
	g_io_channel_set_encoding(out, NULL, NULL);
	return out;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

char *kdh_test_list_dir(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	while (d && (name = g_dir_read_name(d)))
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, compare_names);
	g_ptr_array_add(names, NULL);
	return g_strjoinv(" ", (char **)names->pdata);
}

char *kdh_test_run_folder(const char *parent)
{
	g_autoptr(GDir) dir = g_dir_open(parent, 0, NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		g_autofree char *run = g_build_filename(parent, name, NULL);
		if (g_file_test(run, G_FILE_TEST_IS_DIR))
			return g_steal_pointer(&run);
	}
	ck_abort_msg("no run folder in %s", parent);
	return NULL;
}

JsonObject *kdh_test_read_verdict(const char *dir, JsonParser *parser)
{
	g_autofree char *path = g_build_filename(dir, "verdict.json", NULL);
	g_autoptr(GError) error = NULL;

	ck_assert_msg(json_parser_load_from_file(parser, path, &error), "%s: %s", path,
	              error ? error->message : "");
	return json_node_get_object(json_parser_get_root(parser));
}

/* The strings of member NAME (an array) of V, joined by " | ". */
static char *strings_of(JsonObject *v, const char *name)
{
	JsonArray *a = json_object_get_array_member(v, name);
	g_autoptr(GString) s = g_string_new(NULL);

	for (guint i = 0; a && i < json_array_get_length(a); i++)
		g_string_append_printf(s, "%s%s", i ? " | " : "",
		                       json_array_get_string_element(a, i));
	return g_strdup(s->str);
}

JsonObject *kdh_test_assert_case(const char *results, const char *case_name, const char *want,
                                 const char *const *needles, JsonParser *parser)
{
	g_autofree char *run = kdh_test_run_folder(results);
	g_autofree char *dir = g_build_filename(run, case_name, NULL);
	JsonObject *v = kdh_test_read_verdict(dir, parser);
	g_autofree char *checks = strings_of(v, "checks");
	g_autofree char *reasons = strings_of(v, "reasons");
	const char *in = g_str_equal(want, "PASS") ? checks : reasons;

	ck_assert_msg(g_str_equal(json_object_get_string_member(v, "verdict"), want),
	              "%s: %s, not %s; reasons: %s", case_name,
	              json_object_get_string_member(v, "verdict"), want, reasons);
	for (const char *const *n = needles; *n; n++)
		ck_assert_msg(strstr(in, *n), "%s: no '%s' in: %s", case_name, *n, in);
	return v;
}

GPtrArray *kdh_test_shipped_cases(void)
{
	g_autoptr(GDir) dir = g_dir_open("scenarios", 0, NULL);
	GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_case_free);
	const char *name;

	ck_assert_ptr_nonnull(dir);
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *path = g_build_filename("scenarios", name, NULL);
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) cases = NULL;
		if (!g_str_has_suffix(name, ".ini"))
			continue;
		cases = kdh_scenario_load(path, &error);
		ck_assert_msg(cases, "%s", error ? error->message : "");
		g_ptr_array_set_free_func(cases, NULL);
		g_ptr_array_extend_and_steal(all, g_steal_pointer(&cases));
	}
	return all;
}

/* Whether one of ARRAY's strings holds NEEDLE. */
gboolean has(GPtrArray *array, const char *needle)
{
	for (guint i = 0; i < array->len; i++) {
		if (strstr(g_ptr_array_index(array, i), needle))
			return TRUE;
	}
	return FALSE;
}

char *joined(GPtrArray *array)
{
	g_autoptr(GString) s = g_string_new(NULL);

	for (guint i = 0; i < array->len; i++)
		g_string_append_printf(s, "%s[%s]", i ? " " : "",
		                       (char *)g_ptr_array_index(array, i));
	return g_strdup(s->str);
}
