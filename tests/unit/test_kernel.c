/* Kernel sources and cache without network or a real kernel build:
 * kconfig parsing and the "did every option survive" check, check-config,
 * bzImage headers, imports of folders and packages (made here with
 * dpkg-deb and tar), and builds of a fake kernel tree whose Makefile
 * mimics Kbuild's targets, for the failure paths and the cache's no-op. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "kernel/kernel.h"
#include "util/util.h"

Suite *kernel_suite(void);

static char *tmpdir;
static char *cache;

static void setup(void)
{
	tmpdir = g_dir_make_tmp("kdh-kernel-test-XXXXXX", NULL);
	cache = g_build_filename(tmpdir, "cache", NULL);
	g_mkdir(cache, 0755);
}

static void teardown(void)
{
	kdh_rm_rf(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&cache, g_free);
}

static char *write_file(const char *rel, const char *text)
{
	char *path = g_build_filename(tmpdir, rel, NULL);
	g_autofree char *dir = g_path_get_dirname(path);
	g_mkdir_with_parents(dir, 0755);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
	return path;
}

/* A file with an x86 boot header whose kernel_version says RELEASE. */
static char *write_bzimage(const char *rel, const char *release)
{
	char *path = g_build_filename(tmpdir, rel, NULL);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree guint8 *buf = g_malloc0(0x1000);
	g_autofree char *banner = g_strdup_printf("%s (kdh@test) #1 SMP", release);

	memcpy(buf + 0x202, "HdrS", 4);
	buf[0x20e] = 0x00; /* kernel_version at 0x200 + 0x400 */
	buf[0x20f] = 0x04;
	memcpy(buf + 0x600, banner, strlen(banner) + 1);
	g_mkdir_with_parents(dir, 0755);
	ck_assert(g_file_set_contents(path, (char *)buf, 0x1000, NULL));
	return path;
}

/* Number of folders under kernels/ that are entries (not ".xxx" or logs). */
static guint count_entries(void)
{
	g_autofree char *kernels = g_build_filename(cache, "kernels", NULL);
	g_autoptr(GDir) d = g_dir_open(kernels, 0, NULL);
	const char *name;
	guint n = 0;

	while (d && (name = g_dir_read_name(d))) {
		if (name[0] != '.' && !g_str_equal(name, "logs"))
			n++;
	}
	return n;
}

static guint count_tmp(void)
{
	g_autofree char *kernels = g_build_filename(cache, "kernels", NULL);
	g_autoptr(GDir) d = g_dir_open(kernels, 0, NULL);
	const char *name;
	guint n = 0;

	while (d && (name = g_dir_read_name(d))) {
		if (g_str_has_prefix(name, ".tmp-"))
			n++;
	}
	return n;
}

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
	g_autofree char *path = write_file("config", "CONFIG_KEXEC=y\n");
	g_autofree char *gz = g_strdup_printf("%s.gz", path);
	const char *argv[] = {"gzip", "-k", path, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) c = NULL;

	ck_assert(kdh_run(argv, NULL, NULL, NULL));
	c = kdh_kconfig_load(gz, &error);
	ck_assert_msg(c, "%s", error ? error->message : "");
	ck_assert_str_eq(g_hash_table_lookup(c, "KEXEC"), "y");
	g_autofree char *junk = write_file("junk", "hello\n");
	ck_assert_ptr_null(kdh_kconfig_load(junk, NULL));
}
END_TEST

START_TEST(reads_config_embedded_in_images)
{
	/* vmlinux: "IKCFG_ST" + gzip'ed config; bzImage: that, gzip'ed again
	 * behind a boot header, as CONFIG_IKCONFIG and KERNEL_GZIP lay it out. */
	g_autofree char *dir = g_build_filename(tmpdir, "ik", NULL);
	g_autofree char *script = g_strdup_printf(
	    "set -e; cd %s; printf 'CONFIG_KEXEC=y\\nCONFIG_CRASH_DUMP=y\\n' | gzip > cfg.gz; "
	    "{ printf '\\177ELF'; head -c 1000 /dev/zero; printf IKCFG_ST; cat cfg.gz; "
	    "printf IKCFG_ED; head -c 1000 /dev/zero; } > vmlinux; "
	    "gzip -c vmlinux > payload.gz; cp bz bzImage; cat payload.gz >> bzImage; "
	    "printf 'trailing' >> bzImage",
	    dir);
	const char *argv[] = {"bash", "-c", script, NULL};
	g_autofree char *vmlinux = g_build_filename(dir, "vmlinux", NULL);
	g_autofree char *bz = g_build_filename(dir, "bzImage", NULL);
	g_autofree char *plain = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) a = NULL, b = NULL;

	g_free(write_bzimage("ik/bz", "6.12.0"));
	ck_assert(kdh_run(argv, NULL, NULL, NULL));
	a = kdh_kconfig_load(vmlinux, &error);
	ck_assert_msg(a, "%s", error ? error->message : "");
	ck_assert_str_eq(g_hash_table_lookup(a, "CRASH_DUMP"), "y");
	b = kdh_kconfig_load(bz, &error);
	ck_assert_msg(b, "%s", error ? error->message : "");
	ck_assert_str_eq(g_hash_table_lookup(b, "KEXEC"), "y");
	plain = g_build_filename(dir, "bz", NULL);
	ck_assert_ptr_null(kdh_kconfig_load(plain, NULL));
}
END_TEST

START_TEST(reads_bzimage_release)
{
	g_autofree char *bz = write_bzimage("bz", "6.12.117");
	g_autofree char *junk = write_file("junk", "not a kernel");
	g_autoptr(GError) error = NULL;
	g_autofree char *r = kdh_bzimage_release(bz, &error);

	ck_assert_str_eq(r, "6.12.117");
	ck_assert_ptr_null(kdh_bzimage_release(junk, NULL));
}
END_TEST

START_TEST(fragment_names_resolve)
{
	g_autofree char *dir = g_build_filename(tmpdir, "frags", NULL);
	g_autofree char *p = NULL;
	g_autoptr(GError) error = NULL;

	g_free(write_file("frags/mine.config", "CONFIG_A=y\n"));
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

	g_free(write_bzimage(bz, release));
	g_free(write_file(cfg, "#\n# Linux/x86\nCONFIG_KEXEC=y\n"));
	g_free(write_file(map, "ffffffff81000000 T _text\n"));
	g_free(write_file(ko, "not really ELF"));
	ko2_path = write_file(ko2, "not really ELF either");
	g_free(write_file(order, "kernel/fs/a.ko\nkernel/fs/b.ko\n"));
	{
		const char *argv[] = {"xz", "-q", ko2_path, NULL};
		ck_assert(kdh_run(argv, NULL, NULL, NULL));
	}
	return g_build_filename(tmpdir, name, NULL);
}

START_TEST(imports_folder_and_decompresses_modules)
{
	g_autofree char *folder = make_folder("mykernel", "6.12.0-mine");
	g_autofree char *stale = g_build_filename(cache, "kernels", ".tmp-import-killed", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = NULL;

	/* What a kdh killed mid-import leaves; the next import clears it. */
	g_mkdir_with_parents(stale, 0755);
	k = kdh_kernel_import(folder, cache, &error);
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
	again = kdh_kernel_import(folder, cache, &error);
	ck_assert_msg(again, "%s", error ? error->message : "");
	ck_assert_str_eq(again->root, k->root);
	ck_assert_uint_eq(count_entries(), 1);
	/* And a scenario can name it by id. */
	ref = g_strdup_printf("import:%s", k->id + strlen("import-"));
	byref = kdh_kernel_resolve(ref, cache, &error);
	ck_assert_msg(byref, "%s", error ? error->message : "");
	ck_assert_str_eq(byref->root, k->root);
}
END_TEST

START_TEST(imports_deb_and_arch_packages)
{
	g_autofree char *deb_root = g_build_filename(tmpdir, "debroot", NULL);
	g_autofree char *deb = g_build_filename(tmpdir, "k.deb", NULL);
	g_autofree char *arch = g_build_filename(tmpdir, "k.pkg.tar.zst", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) kd = NULL, ka = NULL;

	g_free(write_bzimage("debroot/boot/vmlinuz-6.1.0-9-amd64", "6.1.0-9-amd64"));
	g_free(write_file("debroot/boot/config-6.1.0-9-amd64", "#\nCONFIG_KEXEC=y\n"));
	g_free(write_file("debroot/lib/modules/6.1.0-9-amd64/kernel/x.ko", "x"));
	g_free(write_file("debroot/DEBIAN/control", "Package: linux-image-test\nVersion: 1\n"
	                                            "Architecture: amd64\nMaintainer: t <t@t>\n"
	                                            "Description: test\n"));
	{
		const char *argv[] = {"dpkg-deb", "-b", "-Zgzip", deb_root, deb, NULL};
		ck_assert(kdh_run(argv, NULL, NULL, NULL));
	}
	kd = kdh_kernel_import(deb, cache, &error);
	ck_assert_msg(kd, "%s", error ? error->message : "");
	ck_assert_str_eq(kd->release, "6.1.0-9-amd64");

	/* Arch: usr/lib/modules/<release>/vmlinuz, modules .ko.zst */
	g_free(write_bzimage("archroot/usr/lib/modules/6.6.1-arch1-1/vmlinuz", "6.6.1-arch1-1"));
	{
		g_autofree char *ko =
		    write_file("archroot/usr/lib/modules/6.6.1-arch1-1/kernel/y.ko", "y");
		const char *z[] = {"zstd", "-q", "--rm", ko, NULL};
		g_autofree char *root = g_build_filename(tmpdir, "archroot", NULL);
		const char *tar[] = {"tar", "--zstd", "-cf", arch, "-C", root, "usr", NULL};
		ck_assert(kdh_run(z, NULL, NULL, NULL));
		ck_assert(kdh_run(tar, NULL, NULL, NULL));
	}
	ka = kdh_kernel_import(arch, cache, &error);
	ck_assert_msg(ka, "%s", error ? error->message : "");
	ck_assert_str_eq(ka->release, "6.6.1-arch1-1");
	{
		g_autofree char *y = g_build_filename(ka->modules_dir, "kernel", "y.ko", NULL);
		ck_assert(g_file_test(y, G_FILE_TEST_IS_REGULAR));
	}
	ck_assert_uint_eq(count_entries(), 2);
}
END_TEST

/* Fedora's kernel-core layout: everything in /lib/modules/<release>/,
 * modules .ko.xz.  Needs rpmbuild (Debian package rpm) to make the package. */
START_TEST(imports_rpm_package)
{
	g_autofree char *rpmbuild = g_find_program_in_path("rpmbuild");
	g_autofree char *root = g_build_filename(tmpdir, "rpmroot", NULL);
	g_autofree char *top = g_build_filename(tmpdir, "rpmtop", NULL);
	g_autofree char *spec = NULL, *script = NULL, *rpm = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = NULL;

	if (!rpmbuild)
		return; /* ci/setup-host.sh installs it; elsewhere this case is moot */
	g_free(write_bzimage("rpmroot/lib/modules/6.5.6-300.fc39.x86_64/vmlinuz",
	                     "6.5.6-300.fc39.x86_64"));
	g_free(write_file("rpmroot/lib/modules/6.5.6-300.fc39.x86_64/config",
	                  "# x86_64\n#\n# Automatically generated file\nCONFIG_KEXEC=y\n"));
	g_free(write_file("rpmroot/lib/modules/6.5.6-300.fc39.x86_64/modules.builtin", ""));
	g_free(write_file("rpmroot/lib/modules/6.5.6-300.fc39.x86_64/kernel/fs/z.ko", "z"));
	spec = g_strdup_printf("Name: kernel-core\nVersion: 6.5.6\nRelease: 300\nSummary: t\n"
	                       "License: GPL\nBuildArch: x86_64\n%%description\nt\n"
	                       "%%install\nmkdir -p %%{buildroot}\ncp -a %s/. %%{buildroot}/\n"
	                       "%%files\n/lib/modules\n",
	                       root);
	g_free(write_file("k.spec", spec));
	script = g_strdup_printf(
	    "set -e; cd %s; xz rpmroot/lib/modules/*/kernel/fs/z.ko; "
	    "rpmbuild -bb --quiet --define '_topdir %s' --define '__os_install_post %%{nil}' "
	    "--define '_build_id_links none' --define 'debug_package %%{nil}' k.spec; "
	    "cp %s/RPMS/x86_64/*.rpm k.rpm",
	    tmpdir, top, top);
	{
		const char *argv[] = {"bash", "-c", script, NULL};
		ck_assert_msg(kdh_run(argv, NULL, NULL, &error), "%s", error->message);
	}
	rpm = g_build_filename(tmpdir, "k.rpm", NULL);
	k = kdh_kernel_import(rpm, cache, &error);
	ck_assert_msg(k, "%s", error ? error->message : "");
	ck_assert_str_eq(k->release, "6.5.6-300.fc39.x86_64");
	ck_assert(g_file_test(k->config, G_FILE_TEST_IS_REGULAR));
	{
		g_autofree char *z = g_build_filename(k->modules_dir, "kernel", "fs", "z.ko", NULL);
		ck_assert(g_file_test(z, G_FILE_TEST_IS_REGULAR));
	}
}
END_TEST

START_TEST(bad_packages_leave_no_entry)
{
	g_autofree char *deb_root = g_build_filename(tmpdir, "debroot", NULL);
	g_autofree char *deb = g_build_filename(tmpdir, "k.deb", NULL);
	g_autofree char *cut = g_build_filename(tmpdir, "cut.deb", NULL);
	g_autofree char *text = write_file("hello.rpm", "just text, not a package");
	g_autofree char *nokernel = g_build_filename(tmpdir, "empty", NULL);
	g_autofree char *data = NULL;
	gsize len;
	g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;

	g_free(write_bzimage("debroot/boot/vmlinuz-6.1.0-9-amd64", "6.1.0-9-amd64"));
	{
		/* Random content so the compressed archive is large enough to cut. */
		g_autofree guint8 *noise = g_malloc(200000);
		g_autofree char *p =
		    g_build_filename(tmpdir, "debroot/lib/modules/6.1.0-9-amd64/kernel/x.ko", NULL);
		g_autofree char *d = g_path_get_dirname(p);
		for (guint i = 0; i < 200000; i++)
			noise[i] = g_random_int() & 0xff;
		g_mkdir_with_parents(d, 0755);
		ck_assert(g_file_set_contents(p, (char *)noise, 200000, NULL));
	}
	g_free(write_file("debroot/DEBIAN/control", "Package: linux-image-test\nVersion: 1\n"
	                                            "Architecture: amd64\nMaintainer: t <t@t>\n"
	                                            "Description: test\n"));
	{
		const char *argv[] = {"dpkg-deb", "-b", "-Zgzip", deb_root, deb, NULL};
		ck_assert(kdh_run(argv, NULL, NULL, NULL));
	}
	ck_assert(g_file_get_contents(deb, &data, &len, NULL));
	ck_assert(g_file_set_contents(cut, data, len / 2, NULL));

	ck_assert_ptr_null(kdh_kernel_import(cut, cache, &e1));
	ck_assert_ptr_nonnull(strstr(e1->message, "corrupt or truncated"));
	ck_assert_ptr_null(kdh_kernel_import(text, cache, &e2));
	ck_assert_ptr_nonnull(strstr(e2->message, "not a .deb"));
	g_mkdir(nokernel, 0755);
	g_free(write_file("empty/readme", "nothing"));
	ck_assert_ptr_null(kdh_kernel_import(nokernel, cache, &e3));
	ck_assert_ptr_nonnull(strstr(e3->message, "no x86 kernel image"));
	ck_assert_ptr_null(kdh_kernel_import("/nonexistent/k.deb", cache, &e4));
	ck_assert_uint_eq(count_entries(), 0);
	ck_assert_uint_eq(count_tmp(), 0);
}
END_TEST

START_TEST(bad_refs_are_explained)
{
	g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;

	ck_assert_ptr_null(kdh_kernel_resolve("fedora:39", cache, &e1));
	ck_assert_ptr_nonnull(strstr(e1->message, "expected debian:"));
	ck_assert_ptr_null(kdh_kernel_resolve("debian:../../etc", cache, &e2));
	ck_assert_ptr_nonnull(strstr(e2->message, "not a Debian ABI"));
	ck_assert_ptr_null(kdh_kernel_resolve("build:0123456789ab", cache, &e3));
	ck_assert_ptr_nonnull(strstr(e3->message, "no such kernel in the cache"));
	ck_assert_ptr_null(kdh_kernel_resolve("build:6.12+no-such-fragment-xyz", cache, &e4));
	ck_assert_ptr_nonnull(strstr(e4->message, "no-such-fragment-xyz"));
}
END_TEST

/* A fake kernel tree: Kbuild's targets, without compiling anything.
 * olddefconfig keeps only FOO and BREAK: it drops BAR (as an unmet
 * dependency would) and symbols no Kconfig defines; bzImage fails when
 * the config asks for CONFIG_BREAK. */
static char *make_fake_tree(void)
{
	g_free(write_bzimage("tree/fake-bzImage", "9.9.9-fake"));
	g_free(write_file("tree/Kconfig", "config FOO\n\tbool\nconfig BAR\n\tbool\n"
	                                  "menuconfig BREAK\n\tbool\n"));
	g_free(write_file("tree/scripts/kconfig/merge_config.sh",
	                  "#!/bin/sh\n# like the kernel's: -m -O DIR BASE FRAGMENTS...\n"
	                  "shift; shift; out=$1; shift; base=$1; shift\n"
	                  "cat \"$@\" >> \"$base\"\n"));
	g_free(write_file(
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
	return g_build_filename(tmpdir, "tree", NULL);
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
	g_autofree char *frag = write_file("ok.config", "CONFIG_FOO=y\n");
	const char *frags[] = {frag, NULL};
	KdhKernelBuildOptions opts = {tree, frags, NULL, 1, count_progress, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = NULL, again = NULL, byref = NULL;
	g_autofree char *builtin = NULL, *log = NULL, *ref = NULL;

	progress_calls = 0;
	k = kdh_kernel_build(&opts, cache, &error);
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
	again = kdh_kernel_build(&opts, cache, &error);
	ck_assert_msg(again, "%s", error ? error->message : "");
	ck_assert_str_eq(again->root, k->root);
	ck_assert_uint_eq(count_entries(), 1);
	ref = g_strdup_printf("build:%s", k->id + strlen("build-"));
	byref = kdh_kernel_resolve(ref, cache, &error);
	ck_assert_msg(byref, "%s", error ? error->message : "");
	ck_assert_str_eq(byref->root, k->root);

	/* A comment changes nothing: the same entry. */
	g_free(write_file("ok.config", "# why FOO\nCONFIG_FOO=y\n"));
	{
		g_autoptr(KdhKernel) same = kdh_kernel_build(&opts, cache, &error);
		ck_assert_msg(same, "%s", error ? error->message : "");
		ck_assert_str_eq(same->root, k->root);
	}
	/* A different request: a different entry. */
	g_free(write_file("ok.config", "CONFIG_FOO=y\n# CONFIG_BAR is not set\n"));
	{
		g_autoptr(KdhKernel) other = kdh_kernel_build(&opts, cache, &error);
		ck_assert_msg(other, "%s", error ? error->message : "");
		ck_assert_str_ne(other->root, k->root);
	}
	ck_assert_uint_eq(count_entries(), 2);
}
END_TEST

START_TEST(dropped_and_unknown_options_fail_the_build)
{
	g_autofree char *tree = make_fake_tree();
	g_autofree char *frag = write_file("bad.config", "CONFIG_FOO=y\nCONFIG_BAR=y\n"
	                                                 "CONFIG_NO_SUCH_OPTION=y\n"
	                                                 "# kdh: optional\nCONFIG_NEWER=y\n");
	const char *frags[] = {frag, NULL};
	KdhKernelBuildOptions opts = {tree, frags, NULL, 1, NULL, NULL};
	g_autoptr(GError) error = NULL;

	ck_assert_ptr_null(kdh_kernel_build(&opts, cache, &error));
	ck_assert_msg(strstr(error->message, "2 options"), "%s", error->message);
	ck_assert_ptr_nonnull(strstr(error->message, "bad.config:2: CONFIG_BAR=y was dropped"));
	ck_assert_ptr_nonnull(strstr(error->message, "CONFIG_NO_SUCH_OPTION does not exist"));
	ck_assert_ptr_null(strstr(error->message, "NEWER"));
	ck_assert_ptr_nonnull(strstr(error->message, "full log: "));
	ck_assert_uint_eq(count_entries(), 0);
	ck_assert_uint_eq(count_tmp(), 0);
}
END_TEST

START_TEST(failing_compile_is_reported_and_not_cached)
{
	g_autofree char *tree = make_fake_tree();
	g_autofree char *frag = write_file("break.config", "CONFIG_BREAK=y\n");
	const char *frags[] = {frag, NULL};
	KdhKernelBuildOptions opts = {tree, frags, NULL, 1, NULL, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) e2 = NULL;
	KdhKernelBuildOptions nosrc = {"/nonexistent/linux", frags, NULL, 1, NULL, NULL};

	ck_assert_ptr_null(kdh_kernel_build(&opts, cache, &error));
	ck_assert_ptr_nonnull(strstr(error->message, "error: broken on purpose"));
	ck_assert_uint_eq(count_entries(), 0);
	ck_assert_uint_eq(count_tmp(), 0);
	ck_assert_ptr_null(kdh_kernel_build(&nosrc, cache, &e2));
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
	g_autoptr(KdhKernel) k = kdh_kernel_build(&r->opts, cache, &error);

	if (k)
		r->root = g_strdup(k->root);
	else
		r->error = g_strdup(error->message);
	return NULL;
}

START_TEST(concurrent_builds_share_one_entry)
{
	g_autofree char *tree = make_fake_tree();
	g_autofree char *frag = write_file("ok.config", "CONFIG_FOO=y\n");
	const char *frags[] = {frag, NULL};
	Racer a = {{tree, frags, NULL, 1, NULL, NULL}, NULL, NULL};
	Racer b = a;
	GThread *threads[] = {g_thread_new("a", race, &a), g_thread_new("b", race, &b)};

	for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
		g_thread_join(threads[i]);
	ck_assert_msg(a.root && b.root, "%s %s", a.error ? a.error : "", b.error ? b.error : "");
	ck_assert_str_eq(a.root, b.root);
	ck_assert_uint_eq(count_entries(), 1);
	ck_assert_uint_eq(count_tmp(), 0);
	g_free(a.root);
	g_free(b.root);
}
END_TEST

Suite *kernel_suite(void)
{
	Suite *s = suite_create("kernel");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, parses_config_lines);
	tcase_add_test(tc, optional_marker_applies_to_next_option_only);
	tcase_add_test(tc, unmet_names_dropped_unknown_and_selected);
	tcase_add_test(tc, check_config_counts_required_missing);
	tcase_add_test(tc, loads_gzipped_config);
	tcase_add_test(tc, reads_bzimage_release);
	tcase_add_test(tc, reads_config_embedded_in_images);
	tcase_add_test(tc, fragment_names_resolve);
	tcase_add_test(tc, imports_folder_and_decompresses_modules);
	tcase_add_test(tc, imports_deb_and_arch_packages);
	tcase_add_test(tc, imports_rpm_package);
	tcase_add_test(tc, bad_packages_leave_no_entry);
	tcase_add_test(tc, bad_refs_are_explained);
	tcase_add_test(tc, build_of_fake_tree_is_cached);
	tcase_add_test(tc, dropped_and_unknown_options_fail_the_build);
	tcase_add_test(tc, failing_compile_is_reported_and_not_cached);
	tcase_add_test(tc, concurrent_builds_share_one_entry);
	suite_add_tcase(s, tc);
	return s;
}
