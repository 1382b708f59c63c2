/* Helpers for the kernel and package suites. */
#include "kernel_support.h"

#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

#include "util/util.h"

char *kdh_test_write_file(const char *dir, const char *rel, const char *text)
{
	char *path = g_build_filename(dir, rel, NULL);
	g_autofree char *parent = g_path_get_dirname(path);

	g_mkdir_with_parents(parent, 0755);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	return path;
}

char *kdh_test_write_bzimage(const char *dir, const char *rel, const char *release)
{
	char *path = g_build_filename(dir, rel, NULL);
	g_autofree char *parent = g_path_get_dirname(path);
	g_autofree guint8 *buf = g_malloc0(0x1000);
	g_autofree char *banner = g_strdup_printf("%s (kdh@test) #1 SMP", release);

	memcpy(buf + 0x202, "HdrS", 4);
	buf[0x20e] = 0x00; /* kernel_version at 0x200 + 0x400 */
	buf[0x20f] = 0x04;
	g_strlcpy((char *)buf + 0x600, banner, 0x1000 - 0x600);
	g_mkdir_with_parents(parent, 0755);
	ck_assert(g_file_set_contents(path, (char *)buf, 0x1000, NULL));
	return path;
}

void kdh_test_run_tool(const char *const *argv)
{
	g_autoptr(GError) error = NULL;

	ck_assert_msg(kdh_run(argv, NULL, NULL, &error), "%s (ci/setup-host.sh installs it)",
	              error ? error->message : "");
}

static guint count_in_kernels(const char *cache, gboolean tmp)
{
	g_autofree char *kernels = g_build_filename(cache, "kernels", NULL);
	g_autoptr(GDir) d = g_dir_open(kernels, 0, NULL);
	const char *name;
	guint n = 0;

	while (d && (name = g_dir_read_name(d))) {
		if (tmp ? g_str_has_prefix(name, ".tmp-")
		        : name[0] != '.' && !g_str_equal(name, "logs"))
			n++;
	}
	return n;
}

guint kdh_test_count_entries(const char *cache)
{
	return count_in_kernels(cache, FALSE);
}

guint kdh_test_count_tmp(const char *cache)
{
	return count_in_kernels(cache, TRUE);
}

char *scratch_dir;
char *scratch_cache;

void scratch_setup(void)
{
	scratch_dir = g_dir_make_tmp("kdh-kernel-test-XXXXXX", NULL);
	ck_assert_ptr_nonnull(scratch_dir);
	scratch_cache = g_build_filename(scratch_dir, "cache", NULL);
	ck_assert_int_eq(g_mkdir(scratch_cache, 0755), 0);
}

void scratch_teardown(void)
{
	kdh_rm_rf(scratch_dir);
	g_clear_pointer(&scratch_dir, g_free);
	g_clear_pointer(&scratch_cache, g_free);
}

char *scratch_write_file(const char *rel, const char *text)
{
	return kdh_test_write_file(scratch_dir, rel, text);
}

char *scratch_write_bzimage(const char *rel, const char *release)
{
	return kdh_test_write_bzimage(scratch_dir, rel, release);
}

guint scratch_count_entries(void)
{
	return kdh_test_count_entries(scratch_cache);
}

guint scratch_count_tmp(void)
{
	return kdh_test_count_tmp(scratch_cache);
}
