/* The crash module's recipe without a VM or a kernel: the cache key, the
 * build trees each kernel source offers (kdh_kernel_build_tree), and
 * kdh_crashmod_build against a fake build tree whose Makefile stands in for
 * Kbuild (it makes a kdh_crash.ko carrying only a .modinfo vermagic, or
 * fails with a long log). */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"
#include "kernel/kernel.h"
#include "kernel_support.h"
#include "util/util.h"

Suite *crashmod_suite(void);

#define RELEASE "6.1.0-kdhtest"

/* A copy of images/crashmod in the scratch folder, to change freely. */
static char *copy_source(void)
{
	char *dir = g_build_filename(scratch_dir, "crashmod", NULL);
	g_autoptr(GError) error = NULL;

	ck_assert_msg(kdh_copy_tree("images/crashmod", dir, &error), "%s",
	              error ? error->message : "");
	return dir;
}

/* A kernel as kdh_kernel_load would give it, of SOURCE, with entry ID in
 * the scratch cache and the .config text CONFIG. */
static KdhKernel *fake_kernel(const char *source, const char *id, const char *config)
{
	KdhKernel *k = g_new0(KdhKernel, 1);
	g_autofree char *rel = g_strdup_printf("cache/kernels/%s/boot/config-%s", id, RELEASE);

	k->source = g_strdup(source);
	k->id = g_strdup(id);
	k->ref = g_strdup_printf("%s:%s", source, id);
	k->release = g_strdup(RELEASE);
	k->version = g_strdup("1");
	k->root = g_build_filename(scratch_cache, "kernels", id, NULL);
	k->modules_dir = g_build_filename(k->root, "lib", "modules", RELEASE, NULL);
	k->config = scratch_write_file(rel, config);
	return k;
}

/* The Makefile of a fake build tree: `make -C tree M=dir modules` appends a
 * line to COUNTER, prints 30 numbered lines, then makes M/kdh_crash.ko
 * with the vermagic of VERMAGIC_RELEASE, or fails when that is NULL. */
static char *fake_makefile(const char *counter, const char *vermagic_release)
{
	GString *s = g_string_new("modules:\n");

	g_string_append_printf(s, "\t@echo built >> %s\n", counter);
	g_string_append(s, "\t@for i in $$(seq 1 30); do echo \"build line $$i\"; done\n");
	if (!vermagic_release) {
		g_string_append(s, "\t@echo 'kdh_crash.c:1: error: broken on purpose'; exit 1\n");
	} else {
		g_string_append_printf(
		    s, "\t@printf 'vermagic=%s SMP mod_unload \\0' > $(M)/modinfo.bin\n",
		    vermagic_release);
		g_string_append(s, "\t@printf '' | gcc -x c -c -o $(M)/kdh_crash.ko -\n");
		g_string_append(s, "\t@objcopy --add-section .modinfo=$(M)/modinfo.bin "
		                   "$(M)/kdh_crash.ko\n");
	}
	return g_string_free(s, FALSE);
}

/* An imported kernel: a folder with a bzImage and, with a MAKEFILE text,
 * lib/modules/<release>/build/Makefile. */
static KdhKernel *imported_kernel(const char *name, const char *makefile)
{
	g_autofree char *rel_bz = g_strdup_printf("%s/vmlinuz-%s", name, RELEASE);
	g_autofree char *rel_order =
	    g_strdup_printf("%s/lib/modules/%s/modules.order", name, RELEASE);
	g_autofree char *folder = g_build_filename(scratch_dir, name, NULL);
	g_autoptr(GError) error = NULL;
	KdhKernel *k;

	g_free(scratch_write_bzimage(rel_bz, RELEASE));
	g_free(scratch_write_file(rel_order, ""));
	if (makefile) {
		g_autofree char *rel_make =
		    g_strdup_printf("%s/lib/modules/%s/build/Makefile", name, RELEASE);
		g_free(scratch_write_file(rel_make, makefile));
	}
	k = kdh_kernel_import(folder, scratch_cache, &error);
	ck_assert_msg(k, "%s", error ? error->message : "");
	return k;
}

/* The folders under CACHE/crashmod other than logs: entries and
 * temporary folders alike. */
static guint crashmod_folders(void)
{
	g_autofree char *dir = g_build_filename(scratch_cache, "crashmod", NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;
	guint n = 0;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (!g_str_equal(name, "logs") && g_file_test(path, G_FILE_TEST_IS_DIR))
			n++;
	}
	return n;
}

static guint count_lines(const char *path)
{
	g_autofree char *text = NULL;
	guint n = 0;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

START_TEST(entry_name_follows_source_kernel_not_build_products)
{
	g_autofree char *src = copy_source();
	g_autoptr(KdhKernel) a = fake_kernel("debian", "linux-image-a_1", "CONFIG_MODULES=y\n");
	g_autoptr(KdhKernel) b = fake_kernel("debian", "linux-image-b_1", "CONFIG_MODULES=y\n");
	g_autoptr(GError) error = NULL;
	g_autofree char *first = kdh_crashmod_entry_name(a, src, &error);
	g_autofree char *same = NULL, *other_kernel = NULL, *products = NULL, *changed = NULL;
	g_autofree char *c_path = g_build_filename(src, "kdh_crash.c", NULL);
	g_autofree char *text = NULL;

	ck_assert_msg(first, "%s", error ? error->message : "");
	ck_assert(g_str_has_prefix(first, RELEASE "-"));
	same = kdh_crashmod_entry_name(a, src, NULL);
	ck_assert_str_eq(first, same);
	other_kernel = kdh_crashmod_entry_name(b, src, NULL);
	ck_assert_str_ne(first, other_kernel);

	/* What a build by hand leaves in the folder is no input. */
	g_free(scratch_write_file("crashmod/kdh_crash.o", "object"));
	g_free(scratch_write_file("crashmod/kdh_crash.mod.c", "generated"));
	g_free(scratch_write_file("crashmod/.kdh_crash.o.cmd", "cmd"));
	products = kdh_crashmod_entry_name(a, src, NULL);
	ck_assert_str_eq(first, products);

	/* One byte of the source is. */
	ck_assert(g_file_get_contents(c_path, &text, NULL, NULL));
	text[0] = text[0] == '/' ? ' ' : '/';
	ck_assert(g_file_set_contents(c_path, text, -1, NULL));
	changed = kdh_crashmod_entry_name(a, src, NULL);
	ck_assert_str_ne(first, changed);
}
END_TEST

START_TEST(source_without_kbuild_is_refused)
{
	g_autoptr(KdhKernel) k = fake_kernel("debian", "linux-image-a_1", "");
	g_autoptr(GError) error = NULL;
	g_autofree char *empty = g_build_filename(scratch_dir, "empty", NULL);

	g_mkdir(empty, 0755);
	ck_assert_ptr_null(kdh_crashmod_build(k, empty, scratch_cache, &error));
	ck_assert(g_error_matches(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED));
	ck_assert_ptr_nonnull(strstr(error->message, "no Kbuild"));
}
END_TEST

START_TEST(import_without_build_tree_is_unsupported)
{
	g_autofree char *src = copy_source();
	g_autoptr(KdhKernel) k = imported_kernel("plain", NULL);
	g_autoptr(GError) error = NULL;

	ck_assert_ptr_null(kdh_crashmod_build(k, src, scratch_cache, &error));
	ck_assert(g_error_matches(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_UNSUPPORTED));
	ck_assert_ptr_nonnull(strstr(error->message, "lib/modules/" RELEASE "/build"));
	ck_assert_uint_eq(crashmod_folders(), 0);
}
END_TEST

START_TEST(failed_build_quotes_log_tail_and_leaves_no_entry)
{
	g_autofree char *src = copy_source();
	g_autofree char *counter = g_build_filename(scratch_dir, "builds", NULL);
	g_autofree char *makefile = fake_makefile(counter, NULL);
	g_autoptr(KdhKernel) k = imported_kernel("broken", makefile);
	g_autoptr(GError) error = NULL;
	g_autofree char *log = NULL, *log_text = NULL;
	const char *at, *end;

	ck_assert_ptr_null(kdh_crashmod_build(k, src, scratch_cache, &error));
	ck_assert(g_error_matches(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED));
	/* The tail: the compiler's error and the last lines, not the first. */
	ck_assert_ptr_nonnull(strstr(error->message, "error: broken on purpose"));
	ck_assert_ptr_nonnull(strstr(error->message, "build line 30"));
	ck_assert_ptr_null(strstr(error->message, "build line 1\n"));
	/* The full log, named in the message, has every line. */
	at = strstr(error->message, "full log: ");
	ck_assert_ptr_nonnull(at);
	at += strlen("full log: ");
	end = strchr(at, ')');
	ck_assert_ptr_nonnull(end);
	log = g_strndup(at, end - at);
	ck_assert(g_file_get_contents(log, &log_text, NULL, NULL));
	ck_assert_ptr_nonnull(strstr(log_text, "build line 1\n"));
	ck_assert_uint_eq(crashmod_folders(), 0);

	/* Nothing cached: the next call builds again. */
	g_clear_error(&error);
	ck_assert_ptr_null(kdh_crashmod_build(k, src, scratch_cache, &error));
	ck_assert_uint_eq(count_lines(counter), 2);
}
END_TEST

START_TEST(built_module_is_cached_and_built_once)
{
	g_autofree char *src = copy_source();
	g_autofree char *counter = g_build_filename(scratch_dir, "builds", NULL);
	g_autofree char *makefile = fake_makefile(counter, RELEASE);
	g_autoptr(KdhKernel) k = imported_kernel("good", makefile);
	g_autoptr(GError) error = NULL;
	g_autofree char *ko = kdh_crashmod_build(k, src, scratch_cache, &error);
	g_autofree char *again = NULL, *name = NULL, *want = NULL;

	ck_assert_msg(ko, "%s", error ? error->message : "");
	name = kdh_crashmod_entry_name(k, src, NULL);
	want = g_build_filename(scratch_cache, "crashmod", name, "kdh_crash.ko", NULL);
	ck_assert_str_eq(ko, want);
	ck_assert(g_file_test(ko, G_FILE_TEST_IS_REGULAR));
	again = kdh_crashmod_build(k, src, scratch_cache, &error);
	ck_assert_msg(again, "%s", error ? error->message : "");
	ck_assert_str_eq(again, ko);
	ck_assert_uint_eq(count_lines(counter), 1);
	ck_assert_uint_eq(crashmod_folders(), 1);
}
END_TEST

START_TEST(module_for_another_release_is_refused)
{
	g_autofree char *src = copy_source();
	g_autofree char *counter = g_build_filename(scratch_dir, "builds", NULL);
	g_autofree char *makefile = fake_makefile(counter, "5.10.0-other");
	g_autoptr(KdhKernel) k = imported_kernel("other", makefile);
	g_autoptr(GError) error = NULL;

	ck_assert_ptr_null(kdh_crashmod_build(k, src, scratch_cache, &error));
	ck_assert(g_error_matches(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED));
	ck_assert_ptr_nonnull(strstr(error->message, "5.10.0-other"));
	ck_assert_uint_eq(crashmod_folders(), 0);
}
END_TEST

/* An object tree under the scratch cache as a kdh build leaves it, holding
 * CONFIG and RELEASE; its Makefile's build (bzImage) appends a line to
 * COUNTER. */
static char *fake_obj_tree(const char *name, const char *config, const char *release,
                           const char *counter)
{
	g_autofree char *rel_config = g_strdup_printf("cache/kernels/%s/.config", name);
	g_autofree char *rel_release =
	    g_strdup_printf("cache/kernels/%s/include/config/kernel.release", name);
	g_autofree char *rel_make = g_strdup_printf("cache/kernels/%s/Makefile", name);
	g_autofree char *makefile = g_strdup_printf("olddefconfig:\n\t@:\nmodules:\n\t@:\n"
	                                            "bzImage:\n\t@echo built >> %s\n",
	                                            counter);

	g_free(scratch_write_file(rel_config, config));
	g_free(scratch_write_file(rel_release, release));
	g_free(scratch_write_file(rel_make, makefile));
	return g_build_filename(scratch_cache, "kernels", name, NULL);
}

/* A kernel kdh built from the folder SOURCE with CONFIG, by COMPILER (as
 * its kdh-kernel.ini says). */
static KdhKernel *built_kernel(const char *source, const char *config, const char *compiler)
{
	KdhKernel *k = fake_kernel("build", "build-6.1.99-0123456789ab", config);
	g_autofree char *meta = g_strdup_printf("[kernel]\ncompiler=%s\n", compiler);

	k->package = g_strdup(source);
	g_free(scratch_write_file("cache/kernels/build-6.1.99-0123456789ab/kdh-kernel.ini", meta));
	return k;
}

static char *gcc_version(void)
{
	const char *argv[] = {"gcc", "--version", NULL};
	g_autoptr(GError) error = NULL;
	char *out = NULL;

	ck_assert_msg(kdh_run(argv, NULL, &out, &error), "%s", error ? error->message : "");
	out[strcspn(out, "\n")] = '\0';
	return out;
}

START_TEST(built_kernel_uses_its_object_tree)
{
	const char *config = "CONFIG_MODULES=y\nCONFIG_LKDTM=y\n";
	const char *other = "CONFIG_MODULES=y\n";
	g_autofree char *counter = g_build_filename(scratch_dir, "builds", NULL);
	g_autofree char *source = g_build_filename(scratch_dir, "linux", NULL);
	g_autofree char *gcc = gcc_version();
	g_autoptr(KdhKernel) k = built_kernel(source, config, gcc);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhBuildTree) none = NULL, foreign = NULL, found = NULL, again = NULL;
	g_autofree char *obj = NULL, *link = NULL, *obj_config = NULL, *text = NULL;

	g_mkdir(source, 0755);
	/* No object tree at all. */
	none = kdh_kernel_build_tree(k, &error);
	ck_assert_ptr_null(none);
	ck_assert(g_error_matches(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_BUILD_TREE));
	ck_assert_ptr_nonnull(strstr(error->message, "gone"));
	g_clear_error(&error);

	/* A tree of this version with another configuration, of other sources:
	 * neither used nor rebuilt. */
	obj = fake_obj_tree(".obj-6.1.99-aaaaaaaaaaaa", other, RELEASE "\n", counter);
	foreign = kdh_kernel_build_tree(k, &error);
	ck_assert_ptr_null(foreign);
	ck_assert(g_error_matches(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_BUILD_TREE));
	ck_assert_ptr_nonnull(strstr(error->message, "other sources"));
	ck_assert_uint_eq(count_lines(counter), 0);
	g_clear_error(&error);

	/* Of this kernel's sources: rebuilt with its .config, then used,
	 * locked while in use. */
	link = g_build_filename(obj, "source", NULL);
	ck_assert_int_eq(symlink(source, link), 0);
	found = kdh_kernel_build_tree(k, &error);
	ck_assert_msg(found, "%s", error ? error->message : "");
	ck_assert_str_eq(found->dir, obj);
	ck_assert_int_ge(found->lock, 0);
	ck_assert_uint_eq(count_lines(counter), 1);
	obj_config = g_build_filename(obj, ".config", NULL);
	ck_assert(g_file_get_contents(obj_config, &text, NULL, NULL));
	ck_assert_str_eq(text, config);
	/* Released: its lock too. */
	kdh_build_tree_free(g_steal_pointer(&found));

	/* Holding it now: used as it is. */
	again = kdh_kernel_build_tree(k, &error);
	ck_assert_msg(again, "%s", error ? error->message : "");
	ck_assert_uint_eq(count_lines(counter), 1);
}
END_TEST

START_TEST(built_kernel_of_another_compiler_is_not_rebuilt)
{
	g_autofree char *counter = g_build_filename(scratch_dir, "builds", NULL);
	g_autofree char *source = g_build_filename(scratch_dir, "linux", NULL);
	g_autoptr(KdhKernel) k = built_kernel(source, "CONFIG_MODULES=y\n", "gcc (Old) 4.9");
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhBuildTree) tree = NULL;
	g_autofree char *obj = NULL, *link = NULL;

	g_mkdir(source, 0755);
	obj = fake_obj_tree(".obj-6.1.99-aaaaaaaaaaaa", "CONFIG_LKDTM=y\n", RELEASE "\n", counter);
	link = g_build_filename(obj, "source", NULL);
	ck_assert_int_eq(symlink(source, link), 0);
	tree = kdh_kernel_build_tree(k, &error);
	ck_assert_ptr_null(tree);
	ck_assert(g_error_matches(error, KDH_KERNEL_ERROR, KDH_KERNEL_ERROR_NO_BUILD_TREE));
	ck_assert_ptr_nonnull(strstr(error->message, "compiler"));
	ck_assert_uint_eq(count_lines(counter), 0);
}
END_TEST

Suite *crashmod_suite(void)
{
	Suite *s = suite_create("crashmod");
	TCase *tc = tcase_create("recipe");

	tcase_add_checked_fixture(tc, scratch_setup, scratch_teardown);
	tcase_add_test(tc, entry_name_follows_source_kernel_not_build_products);
	tcase_add_test(tc, source_without_kbuild_is_refused);
	tcase_add_test(tc, import_without_build_tree_is_unsupported);
	tcase_add_test(tc, failed_build_quotes_log_tail_and_leaves_no_entry);
	tcase_add_test(tc, built_module_is_cached_and_built_once);
	tcase_add_test(tc, module_for_another_release_is_refused);
	tcase_add_test(tc, built_kernel_uses_its_object_tree);
	tcase_add_test(tc, built_kernel_of_another_compiler_is_not_rebuilt);
	suite_add_tcase(s, tc);
	return s;
}
