/* The Debian image without building it: the host's apt sources, the cache
 * key, each collector's per-case files; and (e2e) the build itself, twice. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image.h"
#include "util/util.h"

Suite *debian_image_suite(void);

static GPtrArray *parse(const char *text, gboolean deb822, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

	if (!kdh_debian_sources_parse(text, deb822, "test.sources", out, error)) {
		g_ptr_array_unref(out);
		return NULL;
	}
	return out;
}

static gboolean has(GPtrArray *a, const char *s)
{
	for (guint i = 0; i < a->len; i++) {
		if (g_str_equal(g_ptr_array_index(a, i), s))
			return TRUE;
	}
	return FALSE;
}

START_TEST(one_line_sources_keep_bookworm_main_only)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) m =
	    parse("# a comment\n"
	          "deb http://mirror.example/debian bookworm main contrib\n"
	          "deb-src http://mirror.example/debian bookworm main\n"
	          "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian-security "
	          "bookworm-security main # trailing\n"
	          "deb http://mirror.example/debian bookworm-updates contrib\n"
	          "deb https://packages.cloud.example/apt cloud-sdk-bookworm main\n"
	          "deb http://mirror.example/debian trixie main\n"
	          "\n"
	          "deb http://mirror.example/debian bookworm main contrib\n",
	          FALSE, &error);

	ck_assert_msg(m, "%s", error ? error->message : "");
	ck_assert_uint_eq(m->len, 2);
	ck_assert(has(m, "deb http://mirror.example/debian bookworm main"));
	ck_assert(has(m, "deb [signed-by=/k.gpg] http://mirror.example/debian-security "
	                 "bookworm-security main"));
}
END_TEST

START_TEST(deb822_sources_expand_uris_and_suites)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) m = parse("Types: deb deb-src\n"
	                               "# http://snapshot.example/archive\n"
	                               "URIs: http://mirror.example/debian\n"
	                               "Suites: bookworm bookworm-updates\n"
	                               "Components: main\n"
	                               "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
	                               "\n"
	                               "Types: deb\n"
	                               "URIs: https://deb.nodesource.example/node_20.x\n"
	                               "Suites: nodistro\n"
	                               "Components: main\n"
	                               "\n"
	                               "Types: deb\n"
	                               "URIs: http://mirror.example/off\n"
	                               "Suites: bookworm\n"
	                               "Components: main\n"
	                               "Enabled: no\n"
	                               "\n"
	                               "Types: deb\n"
	                               "URIs: http://mirror.example/inline\n"
	                               "Suites: bookworm-backports\n"
	                               "Components: main\n"
	                               "Signed-By:\n"
	                               " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
	                               " .\n"
	                               " -----END PGP PUBLIC KEY BLOCK-----\n",
	                               TRUE, &error);

	ck_assert_msg(m, "%s", error ? error->message : "");
	ck_assert_uint_eq(m->len, 3);
	ck_assert(has(m, "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
	                 "http://mirror.example/debian bookworm main"));
	ck_assert(has(m, "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
	                 "http://mirror.example/debian bookworm-updates main"));
	/* An inline key is no path: the default keyrings. */
	ck_assert(has(m, "deb http://mirror.example/inline bookworm-backports main"));
}
END_TEST

START_TEST(malformed_sources_name_file_and_line)
{
	static const struct {
		const char *text;
		gboolean deb822;
		const char *where;
	} bad[] = {
	    {"deb http://mirror.example/debian\n", FALSE, "test.sources:1"},
	    {"\n\nrpm http://x bookworm main\n", FALSE, "test.sources:3"},
	    {"deb [signed-by=/k http://x bookworm main\n", FALSE, "test.sources:1"},
	    {"Types: deb\nURIs http://x\n", TRUE, "test.sources:2"},
	    {"Types: deb\nSuites: bookworm\n", TRUE, "lacks Types, URIs or Suites"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) m = parse(bad[i].text, bad[i].deb822, &error);
		ck_assert_ptr_null(m);
		ck_assert_msg(strstr(error->message, bad[i].where), "%s", error->message);
	}
}
END_TEST

/* An /etc/apt with both formats, files apt ignores, and no Debian at all. */
START_TEST(mirrors_read_an_apt_folder)
{
	g_autofree char *dir = g_dir_make_tmp("kdh-apt-XXXXXX", NULL);
	g_autofree char *parts = g_build_filename(dir, "sources.list.d", NULL);
	g_autofree char *list = g_build_filename(dir, "sources.list", NULL);
	g_autofree char *deb822 = g_build_filename(parts, "debian.sources", NULL);
	g_autofree char *other = g_build_filename(parts, "node.list", NULL);
	g_autofree char *disabled = g_build_filename(parts, "debian.list.disabled", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) m = NULL;

	ck_assert_int_eq(g_mkdir(parts, 0755), 0);
	ck_assert(g_file_set_contents(other, "deb http://node.example/ nodistro main\n", -1, NULL));
	m = kdh_debian_mirrors(dir, &error);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(error->message, "no Debian bookworm source"), "%s", error->message);
	g_clear_error(&error);

	ck_assert(
	    g_file_set_contents(list, "deb http://a.example/debian bookworm main\n", -1, NULL));
	ck_assert(g_file_set_contents(deb822,
	                              "Types: deb\nURIs: http://b.example/debian-security\n"
	                              "Suites: bookworm-security\nComponents: main\n",
	                              -1, NULL));
	ck_assert(
	    g_file_set_contents(disabled, "deb http://c.example/debian bookworm main\n", -1, NULL));
	m = kdh_debian_mirrors(dir, &error);
	ck_assert_msg(m, "%s", error ? error->message : "");
	ck_assert_uint_eq(m->len, 2);
	ck_assert_str_eq(g_ptr_array_index(m, 0), "deb http://a.example/debian bookworm main");
	ck_assert_str_eq(g_ptr_array_index(m, 1),
	                 "deb http://b.example/debian-security bookworm-security main");
	kdh_rm_rf(dir);
}
END_TEST

/* An archive that cannot be reached: the error names the step, and lists
 * of an earlier update are not used instead.  (apt-get runs; no network:
 * nothing listens on the discard port of this host.) */
START_TEST(unreachable_archive_names_the_step)
{
	g_autofree char *cache = g_dir_make_tmp("kdh-cache-XXXXXX", NULL);
	g_autoptr(GPtrArray) mirrors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) include = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autofree char *versions = NULL;

	g_ptr_array_add(mirrors, g_strdup("deb http://127.0.0.1:9/debian bookworm main"));
	g_ptr_array_add(include, g_strdup("systemd"));
	versions = kdh_debian_resolve_versions(cache, mirrors, include, &error);
	ck_assert_ptr_null(versions);
	ck_assert_msg(strstr(error->message, "reading the Debian archive's package lists") &&
	                  strstr(error->message, "127.0.0.1"),
	              "%s", error->message);
	kdh_rm_rf(cache);
}
END_TEST

static char *recipe_dir;

static void recipe_setup(void)
{
	g_autofree char *sub = NULL;

	recipe_dir = g_dir_make_tmp("kdh-recipe-XXXXXX", NULL);
	sub = g_build_filename(recipe_dir, "units", NULL);
	g_mkdir(sub, 0755);
	g_autofree char *packages = g_build_filename(recipe_dir, "packages", NULL);
	g_autofree char *unit = g_build_filename(sub, "kdh.service", NULL);
	g_file_set_contents(packages, "# comment\nsystemd\n  kdump-tools # Debian's\n\n", -1, NULL);
	g_file_set_contents(unit, "[Unit]\n", -1, NULL);
}

static void recipe_teardown(void)
{
	kdh_rm_rf(recipe_dir);
	g_free(recipe_dir);
}

static KdhKernel test_kernel = {.id = "linux-image-6.1.0-56-amd64-unsigned_6.1.192-2",
                                .release = "6.1.0-56-amd64",
                                .source = "debian"};

START_TEST(key_follows_every_input)
{
	const char *versions = "libc6 2.36-9+deb12u14\nsystemd 252.39-1~deb12u1\n";
	g_autofree char *unit = g_build_filename(recipe_dir, "units", "kdh.service", NULL);
	g_autofree char *k1 = kdh_image_debian_key(recipe_dir, versions, &test_kernel, NULL);
	g_autofree char *k2 = kdh_image_debian_key(recipe_dir, versions, &test_kernel, NULL);
	g_autofree char *k3 = NULL, *k4 = NULL, *k5 = NULL;
	KdhKernel other = test_kernel;

	ck_assert_ptr_nonnull(k1);
	ck_assert_uint_eq(strlen(k1), 16);
	ck_assert_str_eq(k1, k2);
	/* A package version moved on. */
	k3 = kdh_image_debian_key(recipe_dir, "libc6 2.36-9+deb12u15\nsystemd 252.39-1~deb12u1\n",
	                          &test_kernel, NULL);
	ck_assert_str_ne(k1, k3);
	/* Another kernel. */
	other.id = "build-6.12.117-7bc72e92a1a9";
	k4 = kdh_image_debian_key(recipe_dir, versions, &other, NULL);
	ck_assert_str_ne(k1, k4);
	/* A recipe file in a subfolder changed. */
	ck_assert(g_file_set_contents(unit, "[Unit]\nDescription=x\n", -1, NULL));
	k5 = kdh_image_debian_key(recipe_dir, versions, &test_kernel, NULL);
	ck_assert_str_ne(k1, k5);
}
END_TEST

START_TEST(packages_are_read_and_checked)
{
	g_autofree char *path = g_build_filename(recipe_dir, "packages", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) p = kdh_debian_packages(recipe_dir, &error);

	ck_assert_msg(p, "%s", error ? error->message : "");
	ck_assert_uint_eq(p->len, 2);
	ck_assert_str_eq(g_ptr_array_index(p, 0), "systemd");
	ck_assert_str_eq(g_ptr_array_index(p, 1), "kdump-tools");
	g_clear_pointer(&p, g_ptr_array_unref);
	ck_assert(g_file_set_contents(path, "systemd\n--allow-unauthenticated\n", -1, NULL));
	p = kdh_debian_packages(recipe_dir, &error);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(error->message, "packages:2"), "%s", error->message);
}
END_TEST

/* A kernel without the modules the guest's initramfs needs is refused
 * before anything is fetched or built, naming the kernel and the module. */
START_TEST(kernel_without_modules_is_refused)
{
	g_autofree char *cache = g_dir_make_tmp("kdh-cache-XXXXXX", NULL);
	g_autofree char *mods = g_build_filename(cache, "modules", NULL);
	g_autofree char *dep = g_build_filename(mods, "modules.dep", NULL);
	g_autofree char *images = g_build_filename(cache, "images", NULL);
	KdhKernel k = test_kernel;
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhDiskImage) img = NULL;

	k.ref = "import:broken";
	k.modules_dir = mods;
	img = kdh_image_debian(&k, recipe_dir, cache, TRUE, &error);
	ck_assert_ptr_null(img);
	ck_assert_msg(strstr(error->message, "import:broken") &&
	                  strstr(error->message, "no modules folder"),
	              "%s", error->message);
	g_clear_error(&error);
	ck_assert_int_eq(g_mkdir(mods, 0755), 0);
	ck_assert(g_file_set_contents(dep, "kernel/fs/ext4/ext4.ko:\n", -1, NULL));
	img = kdh_image_debian(&k, recipe_dir, cache, TRUE, &error);
	ck_assert_ptr_null(img);
	ck_assert_msg(strstr(error->message, "import:broken") &&
	                  strstr(error->message, "virtio_pci"),
	              "%s", error->message);
	ck_assert(!g_file_test(images, G_FILE_TEST_EXISTS));
	kdh_rm_rf(cache);
}
END_TEST

static KdhDiskImage test_image = {.id = "debian-6.1.0-56-amd64-0123456789abcdef",
                                  .release = "6.1.0-56-amd64"};

/* The file at PATH in FILES, or NULL. */
static const KdhGuestFile *file_at(GPtrArray *files, const char *path)
{
	for (guint i = 0; i < files->len; i++) {
		const KdhGuestFile *f = g_ptr_array_index(files, i);
		if (g_str_equal(f->path, path))
			return f;
	}
	return NULL;
}

static GPtrArray *settings(const char *collector, guint level, const char *comp)
{
	KdhGuestSettings s = {.trigger = "sysrq",
	                      .action = "sysrq",
	                      .sysctls = "kernel.sysrq=1",
	                      .cpu = -1,
	                      .collector = collector,
	                      .dump_level = level,
	                      .compression = comp};
	g_autoptr(GError) error = NULL;
	GPtrArray *files = kdh_image_debian_settings(&test_image, &s, &error);

	ck_assert_msg(files, "%s", error ? error->message : "");
	return files;
}

START_TEST(kdump_tools_files)
{
	g_autoptr(GPtrArray) files = settings("kdump-tools", 31, "lzo");
	const KdhGuestFile *conf = file_at(files, "/etc/default/kdump-tools");
	const KdhGuestFile *link =
	    file_at(files, "/etc/systemd/system/basic.target.wants/kdump-tools.service");

	ck_assert_ptr_nonnull(file_at(files, "/etc/kdh/case.conf"));
	ck_assert_ptr_nonnull(conf);
	ck_assert(strstr(conf->content, "USE_KDUMP=1\n"));
	ck_assert(strstr(conf->content, "MAKEDUMP_ARGS=\"-d 31 -l\"\n"));
	ck_assert_ptr_nonnull(link);
	ck_assert_str_eq(link->target, "/lib/systemd/system/kdump-tools.service");
	g_ptr_array_unref(files);
	files = settings("kdump-tools", 1, "zlib");
	ck_assert(strstr(file_at(files, "/etc/default/kdump-tools")->content,
	                 "MAKEDUMP_ARGS=\"-d 1 -c\"\n"));
}
END_TEST

START_TEST(simple_kdump_files)
{
	g_autoptr(GPtrArray) files = settings("simple-kdump", 31, "none");
	const KdhGuestFile *conf = file_at(files, "/etc/conf.d/simple-kdump.conf");
	const KdhGuestFile *collect =
	    file_at(files, "/etc/systemd/system/simple-kdump-collect.service");
	const KdhGuestFile *link = file_at(
	    files, "/etc/systemd/system/multi-user.target.wants/simple-kdump-setup.service");
	const char *done, *reboot;

	ck_assert_ptr_nonnull(conf);
	ck_assert(strstr(conf->content, "KERNEL=/boot/vmlinuz-6.1.0-56-amd64\n"));
	ck_assert(strstr(conf->content, "INITRAMFS=/boot/initrd.img-6.1.0-56-amd64\n"));
	ck_assert(strstr(conf->content, "BOOT_OPTIONS=\"root=/dev/vda rw"));
	ck_assert_ptr_nonnull(collect);
	/* The seed's escapes for systemd: $$ and %%. */
	ck_assert(strstr(collect->content, "dumpdir=$$(date \"+%%F-%%T\")"));
	ck_assert(strstr(collect->content, "/usr/bin/makedumpfile -d 31 /proc/vmcore "
	                                   "\"/var/crash/$dumpdir/vmcore.kdump\""));
	ck_assert(strstr(collect->content, "vmcore-dmesg.log"));
	/* kdh's marker comes before the reboot. */
	done = strstr(collect->content, "ExecStopPost=/usr/lib/kdh/kdh-guest capture-done");
	reboot = strstr(collect->content, "ExecStopPost=/usr/bin/systemctl --force reboot\n");
	ck_assert(done && reboot && done < reboot);
	ck_assert_ptr_nonnull(link);
	ck_assert_str_eq(link->target, "/etc/systemd/system/simple-kdump-setup.service");
}
END_TEST

START_TEST(arch_wiki_files)
{
	g_autoptr(GPtrArray) files = settings("arch-wiki", 31, "zlib");
	const KdhGuestFile *load = file_at(files, "/etc/systemd/system/kdump.service");
	const KdhGuestFile *save = file_at(files, "/etc/systemd/system/kdump-save.service");

	ck_assert_ptr_nonnull(load);
	ck_assert(strstr(load->content,
	                 "ExecStart=/usr/sbin/kexec -p /boot/vmlinuz-6.1.0-56-amd64 "
	                 "--initrd=/boot/initrd.img-6.1.0-56-amd64 --append=\"root=/dev/vda "
	                 "systemd.unit=kdump-save.service irqpoll maxcpus=1 reset_devices"));
	ck_assert_ptr_nonnull(save);
	ck_assert(strstr(save->content, "/usr/bin/makedumpfile -d 31 -c /proc/vmcore "
	                                "\"/var/crash/crashdump-$$(date +%%F-%%T)\""));
	ck_assert(strstr(save->content, "StandardInput=tty-force\n"));
	ck_assert_ptr_nonnull(
	    file_at(files, "/etc/systemd/system/multi-user.target.wants/kdump.service"));
}
END_TEST

START_TEST(manual_has_case_only)
{
	g_autoptr(GPtrArray) files = settings("manual", 31, "none");

	ck_assert_uint_eq(files->len, 1);
	ck_assert_ptr_nonnull(file_at(files, "/etc/kdh/case.conf"));
}
END_TEST

/* case.conf is sourced by sh: every value one single-quoted word, even
 * with quotes, $ and newlines in it; read back by a real shell. */
START_TEST(case_conf_is_quoted_for_sh)
{
	KdhGuestSettings s = {.trigger = "lkdtm:it's $(reboot)",
	                      .action = "lkdtm",
	                      .arg = "PANIC\n`id`",
	                      .sysctls = "kernel.panic_on_oops=1,kernel.sysrq=1",
	                      .cpu = 1,
	                      .collector = "manual",
	                      .dump_level = 17,
	                      .compression = "lzo"};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) files = kdh_image_debian_settings(&test_image, &s, &error);
	const KdhGuestFile *conf;
	g_autofree char *dir = g_dir_make_tmp("kdh-case-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "case.conf", NULL);
	g_autofree char *script = NULL, *out = NULL;

	ck_assert_msg(files, "%s", error ? error->message : "");
	conf = file_at(files, "/etc/kdh/case.conf");
	ck_assert(g_file_set_contents(path, conf->content, conf->len, NULL));
	script = g_strdup_printf(". '%s'; printf '%%s|' \"$KDH_TRIGGER\" \"$KDH_ARG\" "
	                         "\"$KDH_SYSCTL\" \"$KDH_CPU\" \"$KDH_COLLECTOR\" "
	                         "\"$KDH_DUMP_LEVEL\" \"$KDH_COMPRESSION\" \"$KDH_ACTION\"",
	                         path);
	const char *argv[] = {"sh", "-c", script, NULL};
	ck_assert_msg(kdh_run(argv, NULL, &out, &error), "%s", error ? error->message : "");
	ck_assert_str_eq(out, "lkdtm:it's $(reboot)|PANIC\n`id`|kernel.panic_on_oops=1,"
	                      "kernel.sysrq=1|1|manual|17|lzo|lkdtm|");
	kdh_rm_rf(dir);
}
END_TEST

START_TEST(bad_settings_are_refused)
{
	KdhGuestSettings s = {.trigger = "sysrq", .action = "sysrq", .cpu = -1, .dump_level = 31};
	g_autoptr(GError) error = NULL;
	GPtrArray *files;

	s.collector = "makedumpfile"; /* the mini guest's */
	files = kdh_image_debian_settings(&test_image, &s, &error);
	ck_assert_ptr_null(files);
	ck_assert(g_error_matches(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_UNSUPPORTED));
	ck_assert_msg(strstr(error->message, "makedumpfile"), "%s", error->message);
	g_clear_error(&error);
	s.collector = "kdump-tools";
	s.compression = "snappy";
	ck_assert_ptr_null(kdh_image_debian_settings(&test_image, &s, &error));
	ck_assert_msg(strstr(error->message, "snappy"), "%s", error->message);
	g_clear_error(&error);
	s.compression = "lzo";
	s.dump_level = 32;
	ck_assert_ptr_null(kdh_image_debian_settings(&test_image, &s, &error));
	ck_assert_msg(strstr(error->message, "32"), "%s", error->message);
}
END_TEST

START_TEST(cmdline_has_root_and_no_rw)
{
	g_autofree char *cmdline = kdh_image_debian_cmdline(&test_image);

	ck_assert(strstr(cmdline, "root=/dev/vda"));
	ck_assert_ptr_null(strstr(cmdline, " rw"));
}
END_TEST

/* kdh image list: complete entries only, kind and release from the name. */
START_TEST(list_shows_complete_entries)
{
	g_autofree char *cache = g_dir_make_tmp("kdh-cache-XXXXXX", NULL);
	static const char *const dirs[] = {
	    "images/mini-6.1.0-56-amd64-0011223344556677",
	    "images/debian-6.12.107+deb12-cloud-amd64-8899aabbccddeeff",
	    "images/.tmp-debian-6.1.0-56-amd64-0123-abcdef",
	    "images/.apt-bookworm",
	    NULL,
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) list = kdh_image_list(cache, &error);
	const KdhImageInfo *info;

	ck_assert_msg(list, "%s", error ? error->message : "");
	ck_assert_uint_eq(list->len, 0);
	g_clear_pointer(&list, g_ptr_array_unref);
	for (const char *const *d = dirs; *d; d++) {
		g_autofree char *path = g_build_filename(cache, *d, NULL);
		ck_assert_int_eq(g_mkdir_with_parents(path, 0755), 0);
	}
	g_autofree char *disk = g_build_filename(cache, dirs[1], "disk.qcow2", NULL);
	ck_assert(g_file_set_contents(disk, "0123456789", -1, NULL));
	list = kdh_image_list(cache, &error);
	ck_assert_uint_eq(list->len, 2);
	info = g_ptr_array_index(list, 0);
	ck_assert_str_eq(info->kind, "debian");
	ck_assert_str_eq(info->release, "6.12.107+deb12-cloud-amd64");
	ck_assert_uint_gt(info->size, 0);
	info = g_ptr_array_index(list, 1);
	ck_assert_str_eq(info->kind, "mini");
	ck_assert_str_eq(info->release, "6.1.0-56-amd64");
	kdh_rm_rf(cache);
}
END_TEST

Suite *debian_image_suite(void)
{
	Suite *s = suite_create("debian_image");
	TCase *sources = tcase_create("sources");
	TCase *key = tcase_create("key");
	TCase *files = tcase_create("settings");

	/* apt-get tries an unreachable mirror three times: seconds. */
	tcase_set_timeout(sources, 60);
	tcase_add_test(sources, one_line_sources_keep_bookworm_main_only);
	tcase_add_test(sources, deb822_sources_expand_uris_and_suites);
	tcase_add_test(sources, malformed_sources_name_file_and_line);
	tcase_add_test(sources, mirrors_read_an_apt_folder);
	tcase_add_test(sources, unreachable_archive_names_the_step);
	suite_add_tcase(s, sources);
	tcase_add_checked_fixture(key, recipe_setup, recipe_teardown);
	tcase_add_test(key, key_follows_every_input);
	tcase_add_test(key, packages_are_read_and_checked);
	tcase_add_test(key, kernel_without_modules_is_refused);
	suite_add_tcase(s, key);
	tcase_add_test(files, kdump_tools_files);
	tcase_add_test(files, simple_kdump_files);
	tcase_add_test(files, arch_wiki_files);
	tcase_add_test(files, manual_has_case_only);
	tcase_add_test(files, case_conf_is_quoted_for_sh);
	tcase_add_test(files, bad_settings_are_refused);
	tcase_add_test(files, cmdline_has_root_and_no_rw);
	tcase_add_test(files, list_shows_complete_entries);
	suite_add_tcase(s, files);
	return s;
}
