/* Module load order from modules.dep: dependencies first, built-ins left
 * out, unknown modules and cycles reported. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "image/image.h"

static char *tmpdir;

static void write_file(const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(tmpdir, name, NULL);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
}

static void setup(void)
{
	tmpdir = g_dir_make_tmp("kdh-test-XXXXXX", NULL);
	/* The shape of Debian 6.1's real entries for the virtio disk. */
	write_file("modules.dep",
	           "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko "
	           "kernel/drivers/virtio/virtio_ring.ko\n"
	           "kernel/drivers/virtio/virtio_pci.ko: "
	           "kernel/drivers/virtio/virtio_pci_legacy_dev.ko "
	           "kernel/drivers/virtio/virtio_pci_modern_dev.ko "
	           "kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	           "kernel/drivers/virtio/virtio_pci_legacy_dev.ko:\n"
	           "kernel/drivers/virtio/virtio_pci_modern_dev.ko:\n"
	           "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
	           "kernel/drivers/virtio/virtio_ring.ko:\n"
	           "kernel/a.ko: kernel/b.ko\n"
	           "kernel/b.ko: kernel/a.ko\n");
	write_file("modules.builtin", "kernel/fs/ext4/ext4.ko\n");
}

static void teardown(void)
{
	g_autofree char *dep = g_build_filename(tmpdir, "modules.dep", NULL);
	g_autofree char *builtin = g_build_filename(tmpdir, "modules.builtin", NULL);
	g_unlink(dep);
	g_unlink(builtin);
	g_rmdir(tmpdir);
	g_free(tmpdir);
}

static guint index_of(GPtrArray *order, const char *suffix)
{
	for (guint i = 0; i < order->len; i++) {
		if (g_str_has_suffix(g_ptr_array_index(order, i), suffix))
			return i;
	}
	ck_abort_msg("%s missing from the load order", suffix);
	return 0;
}

START_TEST(dependencies_come_first)
{
	const char *wanted[] = {"virtio_pci", "virtio_blk", "ext4", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) order = kdh_modules_load_order(tmpdir, wanted, &error);

	ck_assert_msg(order, "%s", error ? error->message : "");
	ck_assert_uint_eq(order->len, 6); /* ext4 is built in */
	ck_assert_uint_lt(index_of(order, "/virtio_ring.ko"), index_of(order, "/virtio.ko"));
	ck_assert_uint_lt(index_of(order, "/virtio.ko"), index_of(order, "/virtio_pci.ko"));
	ck_assert_uint_lt(index_of(order, "_modern_dev.ko"), index_of(order, "/virtio_pci.ko"));
	ck_assert_uint_lt(index_of(order, "_legacy_dev.ko"), index_of(order, "/virtio_pci.ko"));
	ck_assert_uint_lt(index_of(order, "/virtio.ko"), index_of(order, "/virtio_blk.ko"));
}
END_TEST

START_TEST(unknown_module_is_named)
{
	const char *wanted[] = {"virtio_blk", "no_such_mod", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) order = kdh_modules_load_order(tmpdir, wanted, &error);

	ck_assert_ptr_null(order);
	ck_assert_ptr_nonnull(strstr(error->message, "no_such_mod"));
}
END_TEST

START_TEST(cycle_is_reported)
{
	const char *wanted[] = {"a", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) order = kdh_modules_load_order(tmpdir, wanted, &error);

	ck_assert_ptr_null(order);
	/* The modules of the cycle, in order. */
	ck_assert_msg(strstr(error->message, "cycle a -> b -> a"), "%s", error->message);
}
END_TEST

/* N modules, m<i> depending on every m<j> with j < i (N(N-1)/2 edges),
 * then a chain c0 <- c1 <- ... of CHAIN modules, deeper than any depth
 * limit, with c<CHAIN-1> also needing m<N-1>. */
static void write_dense(guint n, guint chain, gboolean cycle)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < n; i++) {
		g_string_append_printf(s, "kernel/m%u.ko:", i);
		for (guint j = 0; j < i; j++)
			g_string_append_printf(s, " kernel/m%u.ko", j);
		/* A back edge from the first module to the last closes a cycle
		 * through every module. */
		if (cycle && i == 0)
			g_string_append_printf(s, " kernel/m%u.ko", n - 1);
		g_string_append_c(s, '\n');
	}
	for (guint i = 0; i < chain; i++) {
		g_string_append_printf(s, "kernel/c%u.ko:", i);
		if (i > 0)
			g_string_append_printf(s, " kernel/c%u.ko", i - 1);
		else
			g_string_append_printf(s, " kernel/m%u.ko", n - 1);
		g_string_append_c(s, '\n');
	}
	write_file("modules.dep", s->str);
	g_string_free(s, TRUE);
}

START_TEST(dense_graph_and_long_chain_in_linear_order)
{
	g_autofree char *last = g_strdup_printf("c%u", 499);
	const char *wanted[] = {last, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) order = NULL;

	write_dense(400, 500, FALSE);
	order = kdh_modules_load_order(tmpdir, wanted, &error);
	ck_assert_msg(order, "%s", error ? error->message : "");
	ck_assert_uint_eq(order->len, 900);
	ck_assert_str_eq(g_ptr_array_index(order, 0), "kernel/m0.ko");
	ck_assert_uint_lt(index_of(order, "/m399.ko"), index_of(order, "/c0.ko"));
	ck_assert_str_eq(g_ptr_array_index(order, 899), "kernel/c499.ko");
}
END_TEST

START_TEST(dense_cycle_is_an_error_naming_modules)
{
	const char *wanted[] = {"m399", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) order = NULL;

	write_dense(400, 0, TRUE);
	order = kdh_modules_load_order(tmpdir, wanted, &error);
	ck_assert_ptr_null(order);
	ck_assert_msg(strstr(error->message, "dependency cycle m399 -> m0 -> m399"), "%s",
	              error->message);
}
END_TEST

START_TEST(oversized_lines_are_refused)
{
	g_autofree char *line = g_strnfill(70000, 'x');
	g_autofree char *text = g_strdup_printf("kernel/a.ko: %s.ko\n", line);
	const char *wanted[] = {"a", NULL};
	g_autoptr(GError) error = NULL;

	write_file("modules.dep", text);
	ck_assert_ptr_null(kdh_modules_load_order(tmpdir, wanted, &error));
	ck_assert_msg(strstr(error->message, "modules.dep: line 1"), "%s", error->message);
}
END_TEST

Suite *image_suite(void);
Suite *image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("modules");

	tcase_add_checked_fixture(tc, setup, teardown);
	/* A hang guard: the old depth-first search without in-progress marks
	 * was exponential on dense cyclic graphs. */
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, dependencies_come_first);
	tcase_add_test(tc, unknown_module_is_named);
	tcase_add_test(tc, cycle_is_reported);
	tcase_add_test(tc, dense_graph_and_long_chain_in_linear_order);
	tcase_add_test(tc, dense_cycle_is_an_error_naming_modules);
	tcase_add_test(tc, oversized_lines_are_refused);
	suite_add_tcase(s, tc);
	return s;
}
