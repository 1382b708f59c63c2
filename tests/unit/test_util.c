/* util/: the command runner, the cache-entry sequence (lock, build in a
 * temporary folder, publish), file copies. */
#include <check.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

Suite *util_suite(void);

static char *tmpdir;

static void setup(void)
{
	tmpdir = g_dir_make_tmp("kdh-util-test-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmpdir);
}

static void teardown(void)
{
	kdh_rm_rf(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
}

static char *path_in(const char *rel)
{
	return g_build_filename(tmpdir, rel, NULL);
}

/* Names in DIR that start with PREFIX. */
static guint count_prefixed(const char *dir, const char *prefix)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;
	guint n = 0;

	while (d && (name = g_dir_read_name(d)))
		n += g_str_has_prefix(name, prefix);
	return n;
}

START_TEST(runner_captures_output_and_status)
{
	const char *echo[] = {"sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2", NULL};
	const char *fail[] = {"sh", "-c", "echo line1 >&2; echo why-it-failed >&2; exit 3", NULL};
	const char *missing[] = {"kdh-no-such-command-xyz", NULL};
	g_autofree char *out = NULL;
	g_autoptr(GError) e1 = NULL, e2 = NULL;

	ck_assert(kdh_run(echo, NULL, &out, NULL));
	ck_assert_str_eq(out, "out\n");
	ck_assert(!kdh_run(fail, NULL, NULL, &e1));
	/* The command, its status and its stderr's last lines. */
	ck_assert_msg(strstr(e1->message, "sh -c") && strstr(e1->message, "exit status 3") &&
	                  strstr(e1->message, "why-it-failed"),
	              "%s", e1->message);
	ck_assert(!kdh_run(missing, NULL, NULL, &e2));
	ck_assert_ptr_nonnull(strstr(e2->message, "kdh-no-such-command-xyz"));
}
END_TEST

START_TEST(runner_cwd_env_stdin_and_any_status)
{
	const char *pwd[] = {"pwd", NULL};
	const char *env[] = {"sh", "-c", "echo \"$KDH_T1 $LC_ALL\"", NULL};
	const char *cat[] = {"cat", NULL};
	const char *exit7[] = {"sh", "-c", "echo partial; exit 7", NULL};
	const char *vars[] = {"KDH_T1", "one", NULL};
	g_autoptr(GBytes) in = g_bytes_new_static("fed\n", 4);
	KdhRunOptions o_env = {.env = vars};
	KdhRunOptions o_in = {.stdin_data = in};
	KdhRunOptions o_any = {.any_status = TRUE};
	g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *real = NULL;
	int status = -1;

	ck_assert(kdh_run(pwd, tmpdir, &a, NULL));
	real = realpath(tmpdir, NULL);
	ck_assert_str_eq(g_strstrip(a), real);
	ck_assert(kdh_run_full(env, &o_env, &b, NULL, NULL));
	ck_assert_str_eq(b, "one C\n");
	ck_assert(kdh_run_full(cat, &o_in, &c, NULL, NULL));
	ck_assert_str_eq(c, "fed\n");
	ck_assert(kdh_run_full(exit7, &o_any, &d, &status, NULL));
	ck_assert_int_eq(status, 7);
	ck_assert_str_eq(d, "partial\n");
}
END_TEST

/* An ordinary user's PATH on Debian has no /usr/sbin, yet depmod (kmod)
 * lives there and imports need it. */
START_TEST(runner_finds_tools_in_sbin)
{
	const char *depmod[] = {"depmod", "--version", NULL};
	g_autoptr(GError) error = NULL;

	g_setenv("PATH", "/usr/local/bin:/usr/bin:/bin", TRUE);
	ck_assert_msg(kdh_run(depmod, NULL, NULL, &error), "%s (package kmod)",
	              error ? error->message : "");
}
END_TEST

static void collect(const char *line, gpointer data)
{
	g_ptr_array_add(data, g_strdup(line));
}

START_TEST(runner_hands_over_lines_with_stderr)
{
	const char *argv[] = {"sh", "-c", "echo a; echo b >&2; printf 'c\\377'; exit 1", NULL};
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	KdhRunOptions opts = {.line = collect, .line_data = lines};
	g_autoptr(GError) error = NULL;

	ck_assert(!kdh_run_full(argv, &opts, NULL, NULL, &error));
	ck_assert_uint_eq(lines->len, 3);
	ck_assert_str_eq(g_ptr_array_index(lines, 0), "a");
	ck_assert_str_eq(g_ptr_array_index(lines, 1), "b");
	/* Made valid UTF-8 on the way. */
	ck_assert(g_utf8_validate(g_ptr_array_index(lines, 2), -1, NULL));
	ck_assert_ptr_nonnull(strstr(error->message, "exit status 1"));
}
END_TEST

typedef struct {
	gint calls;
	gboolean fail;
	char *path[2];
} Fill;

static gboolean fill_entry(const char *out, const char *scratch, gpointer data, GError **error)
{
	Fill *f = data;
	g_autofree char *file = g_build_filename(out, "content", NULL);

	g_atomic_int_inc(&f->calls);
	ck_assert(g_file_test(scratch, G_FILE_TEST_IS_DIR));
	ck_assert(!g_file_test(out, G_FILE_TEST_EXISTS));
	g_mkdir(out, 0755);
	/* Long enough for a second thread to reach the lock meanwhile. */
	g_usleep(200 * 1000);
	if (f->fail) {
		g_set_error(error, KDH_UTIL_ERROR, 0, "failed on purpose");
		return FALSE;
	}
	return g_file_set_contents(file, "done", -1, error);
}

typedef struct {
	Fill *fill;
	char **result;
} Racer;

static gpointer race(gpointer data)
{
	Racer *r = data;
	*r->result = kdh_cache_entry_ensure(tmpdir, "entry", fill_entry, r->fill, NULL);
	return NULL;
}

START_TEST(two_threads_build_one_entry_once)
{
	Fill f = {0};
	Racer racers[2] = {{&f, &f.path[0]}, {&f, &f.path[1]}};
	GThread *threads[2];
	g_autofree char *content = NULL, *file = NULL;

	for (guint i = 0; i < 2; i++)
		threads[i] = g_thread_new("racer", race, &racers[i]);
	for (guint i = 0; i < 2; i++)
		g_thread_join(threads[i]);
	ck_assert_ptr_nonnull(f.path[0]);
	ck_assert_ptr_nonnull(f.path[1]);
	ck_assert_str_eq(f.path[0], f.path[1]);
	ck_assert_int_eq(f.calls, 1);
	file = g_build_filename(f.path[0], "content", NULL);
	ck_assert(g_file_get_contents(file, &content, NULL, NULL));
	ck_assert_str_eq(content, "done");
	ck_assert_uint_eq(count_prefixed(tmpdir, ".tmp-"), 0);
	g_free(f.path[0]);
	g_free(f.path[1]);
}
END_TEST

START_TEST(failed_build_leaves_no_entry)
{
	Fill f = {.fail = TRUE};
	g_autoptr(GError) error = NULL;
	g_autofree char *entry = path_in("entry");
	char *made = kdh_cache_entry_ensure(tmpdir, "entry", fill_entry, &f, &error);

	ck_assert_ptr_null(made);
	ck_assert_ptr_nonnull(strstr(error->message, "failed on purpose"));
	ck_assert(!g_file_test(entry, G_FILE_TEST_EXISTS));
	ck_assert_uint_eq(count_prefixed(tmpdir, ".tmp-"), 0);
}
END_TEST

START_TEST(killed_runs_leftovers_are_removed_unless_locked)
{
	g_autofree char *stale = path_in(".tmp-entry-Ab12Cd");
	g_autofree char *other = path_in(".tmp-other-Ef34Gh");
	g_autofree char *busy = path_in(".tmp-busy-Ij56Kl");
	g_autofree char *busy_lock = path_in(".lock-busy");
	g_autofree char *made = NULL;
	Fill f = {0};
	int held;

	/* A killed run of this entry, one of another entry nobody holds, and
	 * one whose entry is being made right now (its lock held). */
	g_mkdir(stale, 0755);
	g_mkdir(other, 0755);
	g_mkdir(busy, 0755);
	held = kdh_lock(busy_lock, NULL);
	ck_assert_int_ge(held, 0);
	made = kdh_cache_entry_ensure(tmpdir, "entry", fill_entry, &f, NULL);
	ck_assert_ptr_nonnull(made);
	ck_assert(!g_file_test(stale, G_FILE_TEST_EXISTS));
	ck_assert(!g_file_test(other, G_FILE_TEST_EXISTS));
	ck_assert(g_file_test(busy, G_FILE_TEST_IS_DIR));
	kdh_unlock(held);
}
END_TEST

static gboolean fill_file(const char *out, const char *scratch, gpointer data, GError **error)
{
	(void)scratch;
	g_atomic_int_inc((gint *)data);
	return g_file_set_contents(out, "disk", -1, error);
}

START_TEST(entry_can_be_a_file_and_is_made_once)
{
	gint calls = 0;
	g_autofree char *made =
	    kdh_cache_entry_ensure(tmpdir, "disk.qcow2", fill_file, &calls, NULL);
	g_autofree char *again =
	    kdh_cache_entry_ensure(tmpdir, "disk.qcow2", fill_file, &calls, NULL);

	ck_assert_ptr_nonnull(made);
	ck_assert(g_file_test(made, G_FILE_TEST_IS_REGULAR));
	ck_assert_str_eq(made, again);
	ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(copies_files_and_trees_without_symlinks)
{
	g_autofree char *src = path_in("src");
	g_autofree char *a = path_in("src/a"), *sub = path_in("src/sub/b");
	g_autofree char *link = path_in("src/sub/link");
	g_autofree char *dest = path_in("dest");
	g_autofree char *copied_b = path_in("dest/sub/b"), *copied_link = path_in("dest/sub/link");
	g_autofree char *one = path_in("one/deep/a");
	g_autofree char *sub_dir = path_in("src/sub");
	GStatBuf st;

	g_mkdir_with_parents(src, 0755);
	ck_assert(g_file_set_contents(a, "A", -1, NULL));
	g_mkdir_with_parents(sub_dir, 0755);
	ck_assert(g_file_set_contents(sub, "B", -1, NULL));
	ck_assert_int_eq(symlink("/etc/passwd", link), 0);
	ck_assert(kdh_copy_tree(src, dest, NULL));
	ck_assert(g_file_test(copied_b, G_FILE_TEST_IS_REGULAR));
	ck_assert(!g_file_test(copied_link, G_FILE_TEST_EXISTS) &&
	          !g_file_test(copied_link, G_FILE_TEST_IS_SYMLINK));
	/* One file, its folder made, its mode set. */
	ck_assert(kdh_copy_file(a, one, 0751, NULL));
	ck_assert_int_eq(g_stat(one, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0751);
	ck_assert(!kdh_copy_file("/nonexistent/x", one, -1, NULL));
}
END_TEST

Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, runner_captures_output_and_status);
	tcase_add_test(tc, runner_cwd_env_stdin_and_any_status);
	tcase_add_test(tc, runner_hands_over_lines_with_stderr);
	tcase_add_test(tc, runner_finds_tools_in_sbin);
	tcase_add_test(tc, two_threads_build_one_entry_once);
	tcase_add_test(tc, failed_build_leaves_no_entry);
	tcase_add_test(tc, killed_runs_leftovers_are_removed_unless_locked);
	tcase_add_test(tc, entry_can_be_a_file_and_is_made_once);
	tcase_add_test(tc, copies_files_and_trees_without_symlinks);
	suite_add_tcase(s, tc);
	return s;
}
