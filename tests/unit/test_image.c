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
	ck_assert_ptr_nonnull(strstr(error->message, "cycle"));
}
END_TEST

Suite *image_suite(void);
Suite *image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("modules");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, dependencies_come_first);
	tcase_add_test(tc, unknown_module_is_named);
	tcase_add_test(tc, cycle_is_reported);
	suite_add_tcase(s, tc);
	return s;
}
