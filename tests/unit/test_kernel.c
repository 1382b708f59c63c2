/* Kernel sources and cache without network or a real kernel build:
 * kconfig parsing and the "did every option survive" check, check-config,
 * bzImage headers, imports of folders, `kdh kernel` through build/kdh, and
 * builds of a fake kernel tree whose Makefile mimics Kbuild's targets, for
 * the failure paths and the cache's no-op.  Packages: test_packages.c. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "kernel/kernel.h"
#include "kernel_support.h"
#include "util/util.h"

Suite *kernel_suite(void);

START_TEST(parses_config_lines)
{
	g_autoptr(GHashTable) c = kdh_kconfig_parse("#\n# Linux/x86 6.12\nCONFIG_A=y\n"
	                                            "CONFIG_B=m\n# CONFIG_C is not set\n"
	                                            "CONFIG_S=\"text\"\nCONFIG_N=0x10\n"
	                                            "# comment CONFIG_D=y\n");
	ck_assert_str_eq(g_hash_table_lookup(c, "A"), "y");
	ck_assert_str_eq(g_hash_table_lookup(c, "B"), "m");
	ck_assert_str_eq(g_hash_table_lookup(c, "C"), "n");
	ck_assert_str_eq(g_hash_table_lookup(c, "S"), "\"text\"");
	ck_assert_str_eq(g_hash_table_lookup(c, "N"), "0x10");
	ck_assert_ptr_null(g_hash_table_lookup(c, "D"));
}
END_TEST

START_TEST(optional_marker_applies_to_next_option_only)
{
	g_autoptr(GArray) r = kdh_kconfig_requests("# why\n# kdh: optional\nCONFIG_A=y\n"
	                                           "CONFIG_B=y\n# CONFIG_C is not set\n");
	ck_assert_uint_eq(r->len, 3);
	ck_assert_str_eq(g_array_index(r, KdhKconfigRequest, 0).name, "A");
	ck_assert(g_array_index(r, KdhKconfigRequest, 0).optional);
	ck_assert_uint_eq(g_array_index(r, KdhKconfigRequest, 0).line, 3);
	ck_assert(!g_array_index(r, KdhKconfigRequest, 1).optional);
	ck_assert_str_eq(g_array_index(r, KdhKconfigRequest, 2).value, "n");
}
END_TEST

START_TEST(unmet_names_dropped_unknown_and_selected)
{
	const char *frag = "CONFIG_KEPT=y\n"
	                   "CONFIG_DROPPED=y\n"
	                   "CONFIG_TYPO=y\n"
	                   "# kdh: optional\n"
	                   "CONFIG_NEWER=y\n"
	                   "# CONFIG_OFF is not set\n"
	                   "# CONFIG_SELECTED is not set\n"
	                   "CONFIG_MOD=m\n";
	g_autoptr(GHashTable) config = kdh_kconfig_parse(
	    "CONFIG_KEPT=y\n# CONFIG_DROPPED is not set\nCONFIG_SELECTED=y\nCONFIG_MOD=m\n");
	g_autoptr(GHashTable) known = g_hash_table_new(g_str_hash, g_str_equal);
	const char *syms[] = {"KEPT", "DROPPED", "OFF", "SELECTED", "MOD"};
	g_autoptr(GPtrArray) unmet = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(syms); i++)
		g_hash_table_add(known, (gpointer)syms[i]);
	unmet = kdh_kconfig_unmet("x.config", frag, config, known);
	ck_assert_uint_eq(unmet->len, 3);
	ck_assert_ptr_nonnull(strstr(g_ptr_array_index(unmet, 0), "x.config:2: CONFIG_DROPPED=y"));
	ck_assert_ptr_nonnull(strstr(g_ptr_array_index(unmet, 0), "dropped"));
	ck_assert_ptr_nonnull(strstr(g_ptr_array_index(unmet, 1), "CONFIG_TYPO does not exist"));
	ck_assert_ptr_nonnull(strstr(g_ptr_array_index(unmet, 2), "CONFIG_SELECTED should be off"));
}
END_TEST

START_TEST(check_config_counts_required_missing)
{
	g_autoptr(GHashTable) good = kdh_kconfig_parse(
	    "CONFIG_KEXEC=y\nCONFIG_CRASH_DUMP=y\nCONFIG_PROC_VMCORE=y\nCONFIG_CRASH_CORE=y\n"
	    "CONFIG_RELOCATABLE=y\nCONFIG_PROC_FS=y\nCONFIG_SYSFS=y\nCONFIG_BLK_DEV_INITRD=y\n"
	    "CONFIG_VIRTIO_BLK=m\n");
	g_autoptr(GHashTable) bad = kdh_kconfig_parse("CONFIG_KEXEC_FILE=y\nCONFIG_PROC_FS=y\n");
	g_autoptr(GArray) a = NULL, b = NULL;
	guint missing = 99;
	gboolean seen_blk = FALSE;

	a = kdh_kernel_check_config(good, &missing);
	ck_assert_uint_eq(missing, 0);
	for (guint i = 0; i < a->len; i++) {
		const KdhConfigCheck *c = &g_array_index(a, KdhConfigCheck, i);
		if (g_str_equal(c->option, "VMCORE_INFO|CRASH_CORE"))
			ck_assert_str_eq(c->present_name, "CRASH_CORE");
		if (g_str_equal(c->option, "VIRTIO_BLK")) {
			ck_assert_int_eq(c->state, KDH_OPTION_MODULE);
			seen_blk = TRUE;
		}
	}
	ck_assert(seen_blk);
	b = kdh_kernel_check_config(bad, &missing);
	/* CRASH_DUMP, PROC_VMCORE, VMCORE_INFO, RELOCATABLE, SYSFS, INITRD */
	ck_assert_uint_eq(missing, 6);
}
END_TEST

START_TEST(loads_gzipped_config)
{
	g_autofree char *path = scratch_write_file("config", "CONFIG_KEXEC=y\n");
	g_autofree char *gz = g_strdup_printf("%s.gz", path);
	const char *argv[] = {"gzip", "-k", path, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) c = NULL;

	kdh_test_run_tool(argv);
	c = kdh_kconfig_load(gz, &error);
	ck_assert_msg(c, "%s", error ? error->message : "");
	ck_assert_str_eq(g_hash_table_lookup(c, "KEXEC"), "y");
	g_autofree char *junk = scratch_write_file("junk", "hello\n");
	ck_assert_ptr_null(kdh_kconfig_load(junk, NULL));
}
END_TEST

START_TEST(reads_config_embedded_in_images)
{
	/* vmlinux: "IKCFG_ST" + gzip'ed config; bzImage: that, gzip'ed again
	 * behind a boot header, as CONFIG_IKCONFIG and KERNEL_GZIP lay it out. */
	g_autofree char *dir = g_build_filename(scratch_dir, "ik", NULL);
	g_autofree char *script = g_strdup_printf(
	    "set -e; cd %s; printf 'CONFIG_KEXEC=y\\nCONFIG_CRASH_DUMP=y\\n' | gzip > cfg.gz; "
	    "{ printf '\\177ELF'; head -c 1000 /dev/zero; printf IKCFG_ST; cat cfg.gz; "
	    "printf IKCFG_ED; head -c 1000 /dev/zero; } > vmlinux; "
	    "gzip -c vmlinux > payload.gz; cp bz bzImage; cat payload.gz >> bzImage; "
	    "printf 'trailing' >> bzImage; "
	    "for c in xz zstd; do $c -c vmlinux > payload.$c; done",
	    dir);
	const char *argv[] = {"bash", "-c", script, NULL};
	g_autofree char *vmlinux = g_build_filename(dir, "vmlinux", NULL);
	g_autofree char *bz = g_build_filename(dir, "bzImage", NULL);
	g_autofree char *plain = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) a = NULL, b = NULL;
	g_autofree char *plain_bz = scratch_write_bzimage("ik/bz", "6.12.0");

	kdh_test_run_tool(argv);
	a = kdh_kconfig_load(vmlinux, &error);
	ck_assert_msg(a, "%s", error ? error->message : "");
	ck_assert_str_eq(g_hash_table_lookup(a, "CRASH_DUMP"), "y");
	b = kdh_kconfig_load(bz, &error);
	ck_assert_msg(b, "%s", error ? error->message : "");
	ck_assert_str_eq(g_hash_table_lookup(b, "KEXEC"), "y");
	/* KERNEL_XZ and KERNEL_ZSTD payloads where boot protocol 2.08's
	 * payload_offset/payload_length say, with other bytes after them. */
	static const char *const exts[] = {"xz", "zstd"};
	for (guint i = 0; i < G_N_ELEMENTS(exts); i++) {
		const char *ext = exts[i];
		g_autofree char *payload_path = g_strdup_printf("%s/payload.%s", dir, ext);
		g_autofree char *other = g_strdup_printf("%s.%s", bz, ext);
		g_autofree char *head = NULL, *payload = NULL;
		gsize head_len, payload_len;
		g_autoptr(GByteArray) img = g_byte_array_new();
		ck_assert(g_file_get_contents(plain_bz, &head, &head_len, NULL));
		ck_assert(g_file_get_contents(payload_path, &payload, &payload_len, NULL));
		head[0x1f1] = (char)(head_len / 512 - 1); /* setup_sects */
		head[0x206] = 0x0f;                       /* protocol 2.15 */
		head[0x207] = 0x02;
		memset(head + 0x248, 0, 4); /* payload_offset */
		for (int k = 0; k < 4; k++)
			head[0x24c + k] = (char)((payload_len >> (8 * k)) & 0xff);
		g_byte_array_append(img, (guint8 *)head, head_len);
		g_byte_array_append(img, (guint8 *)payload, payload_len);
		g_byte_array_append(img, (const guint8 *)"trailing", 8);
		ck_assert(g_file_set_contents(other, (char *)img->data, img->len, NULL));
		g_autoptr(GHashTable) c = kdh_kconfig_load(other, &error);
		ck_assert_msg(c, "%s: %s", other, error ? error->message : "");
		ck_assert_str_eq(g_hash_table_lookup(c, "KEXEC"), "y");
	}
	plain = g_build_filename(dir, "bz", NULL);
	ck_assert_ptr_null(kdh_kconfig_load(plain, NULL));
}
END_TEST

START_TEST(reads_bzimage_release)
{
	g_autofree char *bz = scratch_write_bzimage("bz", "6.12.117");
	g_autofree char *junk = scratch_write_file("junk", "not a kernel");
	g_autoptr(GError) error = NULL;
	g_autofree char *r = kdh_bzimage_release(bz, &error);
	const char *fine[] = {"6.1.0-56-amd64", "6.5.6-300.fc39.x86_64", "5.10.0-rc1+",
	                      "6.1.0~bpo12", "6.6.1-arch1-1"};

	ck_assert_str_eq(r, "6.12.117");
	ck_assert_ptr_null(kdh_bzimage_release(junk, NULL));
	for (guint i = 0; i < G_N_ELEMENTS(fine); i++) {
		g_autofree char *p = scratch_write_bzimage("fine", fine[i]);
		g_autofree char *got = kdh_bzimage_release(p, NULL);
		ck_assert_str_eq(got, fine[i]);
	}
}
END_TEST

/* The release names boot/vmlinuz-<release> and lib/modules/<release> and is
 * depmod's argument: a crafted header must not make it a path or an option. */
START_TEST(hostile_bzimage_releases_are_refused)
{
	g_autofree char *long_one = g_strnfill(65, '1');
	const char *bad[] = {"..",        ".",        "--help",   "-b",    ".hidden",
	                     "a/../../b", "6.1\x01x", "6.1$(id)", long_one};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *p = scratch_write_bzimage("bad", bad[i]);
		g_autoptr(GError) error = NULL;
		g_autofree char *got = kdh_bzimage_release(p, &error);
		ck_assert_msg(!got, "'%s' accepted", bad[i]);
		ck_assert_msg(strstr(error->message, "is not a release name"), "%s",
		              error->message);
	}
	/* Through an import: refused, nothing cached, no depmod run on it. */
	{
		g_autoptr(GError) error = NULL;
		g_autofree char *dir = g_build_filename(scratch_dir, "evil", NULL);
		g_free(scratch_write_bzimage("evil/bzImage", "--help"));
		ck_assert_ptr_null(kdh_kernel_import(dir, scratch_cache, &error));
		ck_assert_msg(strstr(error->message, "--help") &&
		                  strstr(error->message, "is not a release name"),
		              "%s", error->message);
		ck_assert_uint_eq(scratch_count_entries(), 0);
	}
}
END_TEST

START_TEST(fragment_names_resolve)
{
	g_autofree char *dir = g_build_filename(scratch_dir, "frags", NULL);
	g_autofree char *p = NULL;
	g_autoptr(GError) error = NULL;

	g_free(scratch_write_file("frags/mine.config", "CONFIG_A=y\n"));
	g_setenv("KDH_KCONFIG_DIR", dir, TRUE);
	p = kdh_kconfig_fragment_path("mine", &error);
	g_unsetenv("KDH_KCONFIG_DIR");
	ck_assert_msg(p, "%s", error ? error->message : "");
	ck_assert(g_str_has_suffix(p, "frags/mine.config"));
	ck_assert_ptr_null(kdh_kconfig_fragment_path("no-such-fragment-xyz", NULL));
	ck_assert_ptr_null(kdh_kconfig_fragment_path("/nonexistent/x.config", NULL));
}
END_TEST

/* A folder as a user's own build leaves it: bzImage, config, System.map,
 * modules (one xz-compressed) in lib/modules/<release>. */
static char *make_folder(const char *name, const char *release)
{
	g_autofree char *bz = g_strdup_printf("%s/bzImage", name);
	g_autofree char *cfg = g_strdup_printf("%s/config", name);
	g_autofree char *map = g_strdup_printf("%s/System.map", name);
	g_autofree char *ko = g_strdup_printf("%s/lib/modules/%s/kernel/fs/a.ko", name, release);
	g_autofree char *ko2 = g_strdup_printf("%s/lib/modules/%s/kernel/fs/b.ko", name, release);
	g_autofree char *order = g_strdup_printf("%s/lib/modules/%s/modules.order", name, release);
	g_autofree char *ko2_path = NULL;

	g_free(scratch_write_bzimage(bz, release));
	g_free(scratch_write_file(cfg, "#\n# Linux/x86\nCONFIG_KEXEC=y\n"));
	g_free(scratch_write_file(map, "ffffffff81000000 T _text\n"));
	g_free(scratch_write_file(ko, "not really ELF"));
	ko2_path = scratch_write_file(ko2, "not really ELF either");
	g_free(scratch_write_file(order, "kernel/fs/a.ko\nkernel/fs/b.ko\n"));
	{
		const char *argv[] = {"xz", "-q", ko2_path, NULL};
		kdh_test_run_tool(argv);
	}
	return g_build_filename(scratch_dir, name, NULL);
}

START_TEST(imports_folder_and_decompresses_modules)
{
	g_autofree char *folder = make_folder("mykernel", "6.12.0-mine");
	g_autofree char *stale =
	    g_build_filename(scratch_cache, "kernels", ".tmp-import-killed", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = NULL;

	/* What a kdh killed mid-import leaves; the next import clears it. */
	g_mkdir_with_parents(stale, 0755);
	k = kdh_kernel_import(folder, scratch_cache, &error);
	ck_assert(!g_file_test(stale, G_FILE_TEST_EXISTS));
	g_autoptr(KdhKernel) again = NULL, byref = NULL;
	g_autofree char *dep = NULL, *b_ko = NULL, *b_xz = NULL, *builtin = NULL, *ref = NULL;

	ck_assert_msg(k, "%s", error ? error->message : "");
	ck_assert_str_eq(k->release, "6.12.0-mine");
	ck_assert_str_eq(k->source, "import");
	ck_assert(g_file_test(k->vmlinuz, G_FILE_TEST_IS_REGULAR));
	ck_assert(g_file_test(k->config, G_FILE_TEST_IS_REGULAR));
	ck_assert_ptr_nonnull(k->system_map);
	b_ko = g_build_filename(k->modules_dir, "kernel", "fs", "b.ko", NULL);
	b_xz = g_build_filename(k->modules_dir, "kernel", "fs", "b.ko.xz", NULL);
	ck_assert(g_file_test(b_ko, G_FILE_TEST_IS_REGULAR));
	ck_assert(!g_file_test(b_xz, G_FILE_TEST_EXISTS));
	dep = g_build_filename(k->modules_dir, "modules.dep", NULL);
	builtin = g_build_filename(k->modules_dir, "modules.builtin", NULL);
	ck_assert(g_file_test(dep, G_FILE_TEST_IS_REGULAR));
	ck_assert(g_file_test(builtin, G_FILE_TEST_IS_REGULAR));

	/* The same content again: the same entry, nothing new. */
	again = kdh_kernel_import(folder, scratch_cache, &error);
	ck_assert_msg(again, "%s", error ? error->message : "");
	ck_assert_str_eq(again->root, k->root);
	ck_assert_uint_eq(scratch_count_entries(), 1);
	/* And a scenario can name it by id. */
	ref = g_strdup_printf("import:%s", k->id + strlen("import-"));
	byref = kdh_kernel_resolve(ref, scratch_cache, &error);
	ck_assert_msg(byref, "%s", error ? error->message : "");
	ck_assert_str_eq(byref->root, k->root);
}
END_TEST

/* build/kdh (or $KDH_BIN) with ARGS and the test's cache; its output
 * (stdout and stderr) in *OUT; returns its exit status. */
static int kdh_cli(const char *const *args, char **out)
{
	const char *bin = g_getenv("KDH_BIN") ? g_getenv("KDH_BIN") : "build/kdh";
	const char *env[] = {"KDH_CACHE_DIR", scratch_cache, NULL};
	KdhRunOptions opts = {.env = env, .merge_stderr = TRUE, .any_status = TRUE};
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	int status = -1;

	g_ptr_array_add(argv, (gpointer)bin);
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (gpointer)*a);
	g_ptr_array_add(argv, NULL);
	ck_assert_msg(kdh_run_full((const char *const *)argv->pdata, &opts, out, &status, &error),
	              "%s", error ? error->message : "");
	return status;
}

START_TEST(cli_check_config_names_a_missing_file)
{
	const char *missing[] = {"kernel", "check-config", "/nonexistent", NULL};
	const char *folder[] = {"kernel", "check-config", scratch_dir, NULL};
	g_autofree char *out = NULL, *out2 = NULL;

	ck_assert_int_eq(kdh_cli(missing, &out), 2);
	ck_assert_msg(strstr(out, "no such file: /nonexistent"), "%s", out);
	ck_assert_msg(!strstr(out, "expected debian:"), "%s", out);
	ck_assert_int_eq(kdh_cli(folder, &out2), 2);
	ck_assert_msg(strstr(out2, "is a folder"), "%s", out2);
}
END_TEST

START_TEST(cli_list_columns_line_up)
{
	const char *list[] = {"kernel", "list", NULL};
	g_autofree char *a = make_folder("short", "6.1.0-1");
	g_autofree char *b = make_folder("long", "6.12.117-a-much-longer-release-name");
	g_autofree char *out = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(KdhKernel) ka = kdh_kernel_import(a, scratch_cache, NULL);
	g_autoptr(KdhKernel) kb = kdh_kernel_import(b, scratch_cache, NULL);
	const char *heads[] = {"RELEASE", "SOURCE", "FROM", "DEBUG"};

	ck_assert(ka && kb);
	ck_assert_int_eq(kdh_cli(list, &out), 0);
	lines = g_strsplit(g_strchomp(out), "\n", -1);
	ck_assert_uint_eq(g_strv_length(lines), 3);
	/* Each column starts where its heading does, in every row. */
	for (guint h = 0; h < G_N_ELEMENTS(heads); h++) {
		const char *at = strstr(lines[0], heads[h]);
		gsize col = at - lines[0];
		ck_assert_ptr_nonnull(at);
		for (guint r = 1; r < 3; r++) {
			ck_assert_uint_gt(strlen(lines[r]), col);
			ck_assert_msg(lines[r][col - 1] == ' ' && lines[r][col] != ' ',
			              "column %s: row %u is off:\n%s", heads[h], r, out);
		}
	}
}
END_TEST

START_TEST(bad_refs_are_explained)
{
	g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;

	ck_assert_ptr_null(kdh_kernel_resolve("fedora:39", scratch_cache, &e1));
	ck_assert_ptr_nonnull(strstr(e1->message, "expected debian:"));
	ck_assert_ptr_null(kdh_kernel_resolve("debian:../../etc", scratch_cache, &e2));
	ck_assert_ptr_nonnull(strstr(e2->message, "not a Debian ABI"));
	ck_assert_ptr_null(kdh_kernel_resolve("build:0123456789ab", scratch_cache, &e3));
	ck_assert_ptr_nonnull(strstr(e3->message, "no such kernel in the cache"));
	ck_assert_ptr_null(
	    kdh_kernel_resolve("build:6.12+no-such-fragment-xyz", scratch_cache, &e4));
	ck_assert_ptr_nonnull(strstr(e4->message, "no-such-fragment-xyz"));
}
END_TEST

/* A fake kernel tree: Kbuild's targets, without compiling anything.
 * olddefconfig keeps only FOO and BREAK: it drops BAR (as an unmet
 * dependency would) and symbols no Kconfig defines; bzImage fails when
 * the config asks for CONFIG_BREAK. */
static char *make_fake_tree(void)
{
	g_free(scratch_write_bzimage("tree/fake-bzImage", "9.9.9-fake"));
	g_free(scratch_write_file("tree/Kconfig", "config FOO\n\tbool\nconfig BAR\n\tbool\n"
	                                          "menuconfig BREAK\n\tbool\n"));
	g_free(scratch_write_file("tree/scripts/kconfig/merge_config.sh",
	                          "#!/bin/sh\n# like the kernel's: -m -O DIR BASE FRAGMENTS...\n"
	                          "shift; shift; out=$1; shift; base=$1; shift\n"
	                          "cat \"$@\" >> \"$base\"\n"));
	g_free(scratch_write_file(
	    "tree/Makefile",
	    "kernelversion:\n\t@echo 9.9.9\n"
	    "tinyconfig:\n\t@echo '# CONFIG_FOO is not set' > $(O)/.config\n"
	    "olddefconfig:\n\t@grep -E 'CONFIG_(FOO|BREAK)[ =]' $(O)/.config > $(O)/.c2; "
	    "mv $(O)/.c2 $(O)/.config\n"
	    "bzImage:\n\t@echo '  CC      init/main.o'\n"
	    "\t@if grep -q CONFIG_BREAK=y $(O)/.config; then "
	    "echo 'init/main.c:1:1: error: broken on purpose'; exit 2; fi\n"
	    "\t@mkdir -p $(O)/arch/x86/boot $(O)/include/config\n"
	    "\t@cp $(CURDIR)/fake-bzImage $(O)/arch/x86/boot/bzImage\n"
	    "\t@echo 9.9.9-fake > $(O)/include/config/kernel.release\n"
	    "\t@echo 'ffffffff81000000 T _text' > $(O)/System.map\n"
	    "\t@echo 'kernel/fs/ext4/ext4.ko' > $(O)/modules.builtin\n"));
	return g_build_filename(scratch_dir, "tree", NULL);
}

static guint progress_calls;

static void count_progress(const char *step, double elapsed, guint done, gpointer data)
{
	(void)step;
	(void)elapsed;
	(void)done;
	(void)data;
	progress_calls++;
}

START_TEST(build_of_fake_tree_is_cached)
{
	g_autofree char *tree = make_fake_tree();
	g_autofree char *frag = scratch_write_file("ok.config", "CONFIG_FOO=y\n");
	const char *frags[] = {frag, NULL};
	KdhKernelBuildOptions opts = {tree, frags, NULL, 1, count_progress, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = NULL, again = NULL, byref = NULL;
	g_autofree char *builtin = NULL, *log = NULL, *ref = NULL;

	progress_calls = 0;
	k = kdh_kernel_build(&opts, scratch_cache, &error);
	ck_assert_msg(k, "%s", error ? error->message : "");
	ck_assert_str_eq(k->release, "9.9.9-fake");
	ck_assert_str_eq(k->source, "build");
	ck_assert(g_str_has_prefix(k->id, "build-9.9.9-"));
	ck_assert_uint_gt(progress_calls, 0);
	builtin = g_build_filename(k->modules_dir, "modules.builtin", NULL);
	ck_assert(g_file_test(builtin, G_FILE_TEST_IS_REGULAR));
	log = g_build_filename(k->root, "build.log", NULL);
	ck_assert(g_file_test(log, G_FILE_TEST_IS_REGULAR));

	/* Same inputs: the same entry, no rebuild. */
	again = kdh_kernel_build(&opts, scratch_cache, &error);
	ck_assert_msg(again, "%s", error ? error->message : "");
	ck_assert_str_eq(again->root, k->root);
	ck_assert_uint_eq(scratch_count_entries(), 1);
	ref = g_strdup_printf("build:%s", k->id + strlen("build-"));
	byref = kdh_kernel_resolve(ref, scratch_cache, &error);
	ck_assert_msg(byref, "%s", error ? error->message : "");
	ck_assert_str_eq(byref->root, k->root);

	/* A comment changes nothing: the same entry. */
	g_free(scratch_write_file("ok.config", "# why FOO\nCONFIG_FOO=y\n"));
	{
		g_autoptr(KdhKernel) same = kdh_kernel_build(&opts, scratch_cache, &error);
		ck_assert_msg(same, "%s", error ? error->message : "");
		ck_assert_str_eq(same->root, k->root);
	}
	/* A different request: a different entry. */
	g_free(scratch_write_file("ok.config", "CONFIG_FOO=y\n# CONFIG_BAR is not set\n"));
	{
		g_autoptr(KdhKernel) other = kdh_kernel_build(&opts, scratch_cache, &error);
		ck_assert_msg(other, "%s", error ? error->message : "");
		ck_assert_str_ne(other->root, k->root);
	}
	ck_assert_uint_eq(scratch_count_entries(), 2);
}
END_TEST

START_TEST(dropped_and_unknown_options_fail_the_build)
{
	g_autofree char *tree = make_fake_tree();
	g_autofree char *frag =
	    scratch_write_file("bad.config", "CONFIG_FOO=y\nCONFIG_BAR=y\n"
	                                     "CONFIG_NO_SUCH_OPTION=y\n"
	                                     "# kdh: optional\nCONFIG_NEWER=y\n");
	const char *frags[] = {frag, NULL};
	KdhKernelBuildOptions opts = {tree, frags, NULL, 1, NULL, NULL};
	g_autoptr(GError) error = NULL;

	ck_assert_ptr_null(kdh_kernel_build(&opts, scratch_cache, &error));
	ck_assert_msg(strstr(error->message, "2 options"), "%s", error->message);
	ck_assert_ptr_nonnull(strstr(error->message, "bad.config:2: CONFIG_BAR=y was dropped"));
	ck_assert_ptr_nonnull(strstr(error->message, "CONFIG_NO_SUCH_OPTION does not exist"));
	ck_assert_ptr_null(strstr(error->message, "NEWER"));
	ck_assert_ptr_nonnull(strstr(error->message, "full log: "));
	ck_assert_uint_eq(scratch_count_entries(), 0);
	ck_assert_uint_eq(scratch_count_tmp(), 0);
}
END_TEST

START_TEST(failing_compile_is_reported_and_not_cached)
{
	g_autofree char *tree = make_fake_tree();
	g_autofree char *frag = scratch_write_file("break.config", "CONFIG_BREAK=y\n");
	const char *frags[] = {frag, NULL};
	KdhKernelBuildOptions opts = {tree, frags, NULL, 1, NULL, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) e2 = NULL;
	KdhKernelBuildOptions nosrc = {"/nonexistent/linux", frags, NULL, 1, NULL, NULL};

	ck_assert_ptr_null(kdh_kernel_build(&opts, scratch_cache, &error));
	ck_assert_ptr_nonnull(strstr(error->message, "error: broken on purpose"));
	ck_assert_uint_eq(scratch_count_entries(), 0);
	ck_assert_uint_eq(scratch_count_tmp(), 0);
	ck_assert_ptr_null(kdh_kernel_build(&nosrc, scratch_cache, &e2));
	ck_assert_ptr_nonnull(strstr(e2->message, "no such kernel tree"));
}
END_TEST

typedef struct {
	KdhKernelBuildOptions opts;
	char *root;
	char *error;
} Racer;

static gpointer race(gpointer data)
{
	Racer *r = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = kdh_kernel_build(&r->opts, scratch_cache, &error);

	if (k)
		r->root = g_strdup(k->root);
	else
		r->error = g_strdup(error->message);
	return NULL;
}

START_TEST(concurrent_builds_share_one_entry)
{
	g_autofree char *tree = make_fake_tree();
	g_autofree char *frag = scratch_write_file("ok.config", "CONFIG_FOO=y\n");
	const char *frags[] = {frag, NULL};
	Racer a = {{tree, frags, NULL, 1, NULL, NULL}, NULL, NULL};
	Racer b = a;
	GThread *threads[] = {g_thread_new("a", race, &a), g_thread_new("b", race, &b)};

	for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
		g_thread_join(threads[i]);
	ck_assert_msg(a.root && b.root, "%s %s", a.error ? a.error : "", b.error ? b.error : "");
	ck_assert_str_eq(a.root, b.root);
	ck_assert_uint_eq(scratch_count_entries(), 1);
	ck_assert_uint_eq(scratch_count_tmp(), 0);
	g_free(a.root);
	g_free(b.root);
}
END_TEST

Suite *kernel_suite(void)
{
	Suite *s = suite_create("kernel");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, scratch_setup, scratch_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, parses_config_lines);
	tcase_add_test(tc, optional_marker_applies_to_next_option_only);
	tcase_add_test(tc, unmet_names_dropped_unknown_and_selected);
	tcase_add_test(tc, check_config_counts_required_missing);
	tcase_add_test(tc, loads_gzipped_config);
	tcase_add_test(tc, reads_bzimage_release);
	tcase_add_test(tc, hostile_bzimage_releases_are_refused);
	tcase_add_test(tc, reads_config_embedded_in_images);
	tcase_add_test(tc, fragment_names_resolve);
	tcase_add_test(tc, imports_folder_and_decompresses_modules);
	tcase_add_test(tc, cli_check_config_names_a_missing_file);
	tcase_add_test(tc, cli_list_columns_line_up);
	tcase_add_test(tc, bad_refs_are_explained);
	tcase_add_test(tc, build_of_fake_tree_is_cached);
	tcase_add_test(tc, dropped_and_unknown_options_fail_the_build);
	tcase_add_test(tc, failing_compile_is_reported_and_not_cached);
	tcase_add_test(tc, concurrent_builds_share_one_entry);
	suite_add_tcase(s, tc);
	return s;
}
