/* Module load order from modules.dep: dependencies first, built-ins left
 * out, unknown modules and cycles reported. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "util/util.h"

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
	const char *wanted[] = {"c499", NULL};
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

/* The names in the newc archive at DATA (LEN bytes), in order; *END gets
 * where the archive's TRAILER!!! record ends. */
static GPtrArray *cpio_names(const char *data, gsize len, gsize *end)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	gsize off = 0;

	while (off + 110 <= len && memcmp(data + off, "070701", 6) == 0) {
		char field[9] = {0};
		gsize namesize, filesize;
		memcpy(field, data + off + 54, 8);
		filesize = strtoul(field, NULL, 16);
		memcpy(field, data + off + 94, 8);
		namesize = strtoul(field, NULL, 16);
		ck_assert_uint_le(off + 110 + namesize, len);
		g_ptr_array_add(names, g_strndup(data + off + 110, namesize - 1));
		off = (off + 110 + namesize + 3) & ~(gsize)3;
		off = (off + filesize + 3) & ~(gsize)3;
		if (g_str_equal(g_ptr_array_index(names, names->len - 1), "TRAILER!!!"))
			break;
	}
	*end = off;
	return names;
}

static gboolean has_name(GPtrArray *names, const char *name)
{
	for (guint i = 0; i < names->len; i++) {
		if (g_str_equal(g_ptr_array_index(names, i), name))
			return TRUE;
	}
	return FALSE;
}

/* The whole mini image from host binaries (busybox-static, kexec-tools,
 * makedumpfile, cpio: ci/setup-host.sh installs them) and a fake kernel:
 * two concatenated newc archives, names sorted, the second holding /boot
 * with the kernel and the capture copy of the first; made once. */
START_TEST(mini_image_is_two_archives)
{
	g_autofree char *root = g_build_filename(tmpdir, "k", NULL);
	g_autofree char *mods = g_build_filename(root, "lib", "modules", "6.1.0-1", NULL);
	g_autofree char *ko = g_build_filename(mods, "kernel", "virtio_blk.ko", NULL);
	g_autofree char *vmlinuz = g_build_filename(root, "vmlinuz", NULL);
	g_autofree char *dep = g_build_filename(mods, "modules.dep", NULL);
	g_autofree char *builtin = g_build_filename(mods, "modules.builtin", NULL);
	g_autofree char *cache = g_build_filename(tmpdir, "cache", NULL);
	g_autofree char *initrd = NULL, *again = NULL, *data = NULL, *mini = NULL;
	g_autoptr(GPtrArray) first = NULL, second = NULL;
	g_autoptr(GError) error = NULL;
	KdhKernel k = {.release = "6.1.0-1",
	               .package = "p",
	               .version = "1",
	               .root = root,
	               .vmlinuz = vmlinuz,
	               .modules_dir = mods};
	gsize len, end, end2;
	g_autofree char *ko_dir = g_path_get_dirname(ko);

	g_mkdir_with_parents(ko_dir, 0755);
	ck_assert(g_file_set_contents(ko, "ko", -1, NULL));
	ck_assert(g_file_set_contents(vmlinuz, "kernel", -1, NULL));
	ck_assert(g_file_set_contents(dep, "kernel/virtio_blk.ko:\n", -1, NULL));
	ck_assert(g_file_set_contents(builtin,
	                              "kernel/virtio_pci.ko\nkernel/ext4.ko\n"
	                              "kernel/crc32c_generic.ko\n",
	                              -1, NULL));
	mini = g_canonicalize_filename("images/mini", NULL);
	initrd = kdh_image_mini(&k, mini, NULL, cache, &error);
	ck_assert_msg(initrd, "%s", error ? error->message : "");
	again = kdh_image_mini(&k, mini, NULL, cache, &error);
	ck_assert_str_eq(initrd, again);
	ck_assert(g_file_get_contents(initrd, &data, &len, NULL));
	first = cpio_names(data, len, &end);
	ck_assert(has_name(first, "init"));
	ck_assert(has_name(first, "bin/busybox"));
	ck_assert(has_name(first, "lib/modules/virtio_blk.ko"));
	for (guint i = 1; i + 1 < first->len; i++)
		ck_assert_str_lt(g_ptr_array_index(first, i - 1), g_ptr_array_index(first, i));
	/* cpio pads each archive to 512 bytes; the second follows. */
	end = (end + 511) & ~(gsize)511;
	ck_assert_uint_lt(end, len);
	second = cpio_names(data + end, len - end, &end2);
	ck_assert(has_name(second, "boot/vmlinuz"));
	ck_assert(has_name(second, "boot/capture.cpio"));
	kdh_rm_rf(root);
	kdh_rm_rf(cache);
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
	tcase_add_test(tc, mini_image_is_two_archives);
	suite_add_tcase(s, tc);
	return s;
}
