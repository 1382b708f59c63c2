/* Kernel packages: real-layout .deb, .rpm (Fedora, .ko.xz) and Arch
 * imports, broken packages, hostile ones made byte by byte (.., absolute
 * names, writing through a planted symlink, a huge size claim, a device
 * node) in each format, and the Debian fetch through stand-ins for apt. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "kernel/kernel.h"
#include "kernel_support.h"
#include "util/util.h"

Suite *packages_suite(void);

/* dpkg-deb -b of the folder ROOT into OUT, as PACKAGE, its data.tar
 * compressed with COMPRESSION ("xz" as Debian's own, "gzip"). */
static void build_deb(const char *root, const char *package, const char *compression,
                      const char *out)
{
	g_autofree char *control = g_strdup_printf("%s/DEBIAN/control", root);
	g_autofree char *text = g_strdup_printf("Package: %s\nVersion: 6.1.99-1\nArchitecture: "
	                                        "amd64\nMaintainer: t <t@t>\nDescription: t\n",
	                                        package);
	g_autofree char *z = g_strdup_printf("-Z%s", compression);
	const char *argv[] = {"dpkg-deb", "-b", z, "--", root, out, NULL};
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_path_get_dirname(control);

	g_mkdir_with_parents(dir, 0755);
	ck_assert(g_file_set_contents(control, text, -1, NULL));
	ck_assert_msg(kdh_run(argv, NULL, NULL, &error), "dpkg-deb (package dpkg): %s",
	              error ? error->message : "");
}

START_TEST(imports_deb_and_arch_packages)
{
	g_autofree char *deb_root = g_build_filename(scratch_dir, "debroot", NULL);
	g_autofree char *deb = g_build_filename(scratch_dir, "k.deb", NULL);
	g_autofree char *arch = g_build_filename(scratch_dir, "k.pkg.tar.zst", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) kd = NULL, ka = NULL;

	g_free(scratch_write_bzimage("debroot/boot/vmlinuz-6.1.0-9-amd64", "6.1.0-9-amd64"));
	g_free(scratch_write_file("debroot/boot/config-6.1.0-9-amd64", "#\nCONFIG_KEXEC=y\n"));
	g_free(scratch_write_file("debroot/lib/modules/6.1.0-9-amd64/kernel/x.ko", "x"));
	build_deb(deb_root, "linux-image-test", "gzip", deb);
	kd = kdh_kernel_import(deb, scratch_cache, &error);
	ck_assert_msg(kd, "%s", error ? error->message : "");
	ck_assert_str_eq(kd->release, "6.1.0-9-amd64");

	/* Arch: usr/lib/modules/<release>/vmlinuz, modules .ko.zst */
	g_free(scratch_write_bzimage("archroot/usr/lib/modules/6.6.1-arch1-1/vmlinuz",
	                             "6.6.1-arch1-1"));
	{
		g_autofree char *ko =
		    scratch_write_file("archroot/usr/lib/modules/6.6.1-arch1-1/kernel/y.ko", "y");
		const char *z[] = {"zstd", "-q", "--rm", ko, NULL};
		g_autofree char *root = g_build_filename(scratch_dir, "archroot", NULL);
		const char *tar[] = {"tar", "--zstd", "-cf", arch, "-C", root, "usr", NULL};
		kdh_test_run_tool(z);
		kdh_test_run_tool(tar);
	}
	ka = kdh_kernel_import(arch, scratch_cache, &error);
	ck_assert_msg(ka, "%s", error ? error->message : "");
	ck_assert_str_eq(ka->release, "6.6.1-arch1-1");
	{
		g_autofree char *y = g_build_filename(ka->modules_dir, "kernel", "y.ko", NULL);
		ck_assert(g_file_test(y, G_FILE_TEST_IS_REGULAR));
	}
	ck_assert_uint_eq(scratch_count_entries(), 2);
}
END_TEST

/* Fedora's kernel-core layout: everything in /lib/modules/<release>/,
 * modules .ko.xz.  Needs rpmbuild (Debian package rpm) to make the package. */
START_TEST(imports_rpm_package)
{
	g_autofree char *rpmbuild = g_find_program_in_path("rpmbuild");
	g_autofree char *root = g_build_filename(scratch_dir, "rpmroot", NULL);
	g_autofree char *top = g_build_filename(scratch_dir, "rpmtop", NULL);
	g_autofree char *spec = NULL, *script = NULL, *rpm = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = NULL;

	/* A missing tool is a failure that says so, never a silent pass. */
	ck_assert_msg(rpmbuild, "rpmbuild is not installed (Debian package rpm; `make deps` "
	                        "installs it)");
	g_free(scratch_write_bzimage("rpmroot/lib/modules/6.5.6-300.fc39.x86_64/vmlinuz",
	                             "6.5.6-300.fc39.x86_64"));
	g_free(scratch_write_file("rpmroot/lib/modules/6.5.6-300.fc39.x86_64/config",
	                          "# x86_64\n#\n# Automatically generated file\nCONFIG_KEXEC=y\n"));
	g_free(scratch_write_file("rpmroot/lib/modules/6.5.6-300.fc39.x86_64/modules.builtin", ""));
	g_free(scratch_write_file("rpmroot/lib/modules/6.5.6-300.fc39.x86_64/kernel/fs/z.ko", "z"));
	spec = g_strdup_printf("Name: kernel-core\nVersion: 6.5.6\nRelease: 300\nSummary: t\n"
	                       "License: GPL\nBuildArch: x86_64\n%%description\nt\n"
	                       "%%install\nmkdir -p %%{buildroot}\ncp -a %s/. %%{buildroot}/\n"
	                       "%%files\n/lib/modules\n",
	                       root);
	g_free(scratch_write_file("k.spec", spec));
	script = g_strdup_printf(
	    "set -e; cd %s; xz rpmroot/lib/modules/*/kernel/fs/z.ko; "
	    "rpmbuild -bb --quiet --define '_topdir %s' --define '__os_install_post %%{nil}' "
	    "--define '_build_id_links none' --define 'debug_package %%{nil}' k.spec; "
	    "cp %s/RPMS/x86_64/*.rpm k.rpm",
	    scratch_dir, top, top);
	{
		const char *argv[] = {"bash", "-c", script, NULL};
		ck_assert_msg(kdh_run(argv, NULL, NULL, &error), "%s", error->message);
	}
	rpm = g_build_filename(scratch_dir, "k.rpm", NULL);
	k = kdh_kernel_import(rpm, scratch_cache, &error);
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
	g_autofree char *deb_root = g_build_filename(scratch_dir, "debroot", NULL);
	g_autofree char *deb = g_build_filename(scratch_dir, "k.deb", NULL);
	g_autofree char *cut = g_build_filename(scratch_dir, "cut.deb", NULL);
	g_autofree char *text = scratch_write_file("hello.rpm", "just text, not a package");
	g_autofree char *nokernel = g_build_filename(scratch_dir, "empty", NULL);
	g_autofree char *data = NULL;
	gsize len;
	g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;

	g_free(scratch_write_bzimage("debroot/boot/vmlinuz-6.1.0-9-amd64", "6.1.0-9-amd64"));
	{
		/* Random content so the compressed archive is large enough to cut. */
		g_autofree guint8 *noise = g_malloc(200000);
		g_autofree char *p = g_build_filename(
		    scratch_dir, "debroot/lib/modules/6.1.0-9-amd64/kernel/x.ko", NULL);
		g_autofree char *d = g_path_get_dirname(p);
		for (guint i = 0; i < 200000; i++)
			noise[i] = g_random_int() & 0xff;
		g_mkdir_with_parents(d, 0755);
		ck_assert(g_file_set_contents(p, (char *)noise, 200000, NULL));
	}
	build_deb(deb_root, "linux-image-test", "gzip", deb);
	ck_assert(g_file_get_contents(deb, &data, &len, NULL));
	ck_assert(g_file_set_contents(cut, data, len / 2, NULL));

	ck_assert_ptr_null(kdh_kernel_import(cut, scratch_cache, &e1));
	ck_assert_ptr_nonnull(strstr(e1->message, "corrupt or truncated"));
	ck_assert_ptr_null(kdh_kernel_import(text, scratch_cache, &e2));
	ck_assert_ptr_nonnull(strstr(e2->message, "not a .deb"));
	g_mkdir(nokernel, 0755);
	g_free(scratch_write_file("empty/readme", "nothing"));
	ck_assert_ptr_null(kdh_kernel_import(nokernel, scratch_cache, &e3));
	ck_assert_ptr_nonnull(strstr(e3->message, "no x86 kernel image"));
	ck_assert_ptr_null(kdh_kernel_import("/nonexistent/k.deb", scratch_cache, &e4));
	ck_assert_uint_eq(scratch_count_entries(), 0);
	ck_assert_uint_eq(scratch_count_tmp(), 0);
}
END_TEST

/* Hostile packages, made byte by byte: no packaging tool writes these. */

typedef struct {
	const char *name;
	char type;        /* '0' file, '1' hard link (tar only), '2' symlink, '3' char device */
	const char *data; /* file content, or the symlink's target */
	gsize len;        /* of DATA; 0: strlen(DATA) */
	guint64 claim;    /* a size claimed without data behind it; 0: none */
} Member;

static gsize data_len(const Member *m)
{
	return m->len ? m->len : strlen(m->data);
}

static void tar_octal(char *field, gsize width, guint64 value)
{
	g_snprintf(field, width, "%0*" G_GINT64_MODIFIER "o", (int)width - 1, value);
}

/* A ustar archive of MEMBERS (n of them).  Sizes past ustar's octal field
 * use GNU's base-256 form, as tar does for files over 8 GiB; the data of
 * such a claim is not there (nobody should read it). */
static GByteArray *make_tar(const Member *m, guint n)
{
	GByteArray *tar = g_byte_array_new();
	static const guint8 zeros[1024];

	for (guint i = 0; i < n; i++) {
		guint8 h[512] = {0};
		guint64 size = m[i].type != '0' ? 0 : m[i].claim ? m[i].claim : data_len(&m[i]);
		guint sum = 0;

		g_strlcpy((char *)h, m[i].name, 100);
		tar_octal((char *)h + 100, 8, m[i].type == '2' ? 0777 : 0644);
		tar_octal((char *)h + 108, 8, 0);
		tar_octal((char *)h + 116, 8, 0);
		if (size > 077777777777ULL) {
			h[124] = 0x80;
			for (int b = 0; b < 8; b++)
				h[135 - b] = (size >> (8 * b)) & 0xff;
		} else {
			tar_octal((char *)h + 124, 12, size);
		}
		tar_octal((char *)h + 136, 12, 0);
		h[156] = m[i].type;
		if (m[i].type == '2' || m[i].type == '1')
			g_strlcpy((char *)h + 157, m[i].data, 100);
		memcpy(h + 257, "ustar", 6);
		memcpy(h + 263, "00", 2);
		memset(h + 148, ' ', 8);
		for (guint b = 0; b < 512; b++)
			sum += h[b];
		g_snprintf((char *)h + 148, 8, "%06o", sum);
		g_byte_array_append(tar, h, 512);
		if (m[i].type == '0' && !m[i].claim) {
			gsize len = data_len(&m[i]);
			g_byte_array_append(tar, (const guint8 *)m[i].data, len);
			g_byte_array_append(tar, zeros, (512 - len % 512) % 512);
		}
	}
	g_byte_array_append(tar, zeros, 1024);
	return tar;
}

static void ar_member(GByteArray *ar, const char *name, const guint8 *data, gsize len)
{
	char h[61];

	g_snprintf(h, sizeof(h), "%-16s%-12s%-6s%-6s%-8s%-10" G_GSIZE_MODIFIER "u`\n", name, "0",
	           "0", "0", "100644", len);
	g_byte_array_append(ar, (const guint8 *)h, 60);
	g_byte_array_append(ar, data, len);
	if (len % 2)
		g_byte_array_append(ar, (const guint8 *)"\n", 1);
}

/* A .deb: debian-binary, an empty control.tar, and data.tar of MEMBERS. */
static char *write_deb(const char *rel, const Member *m, guint n)
{
	g_autoptr(GByteArray) deb = g_byte_array_new();
	g_autoptr(GByteArray) data = make_tar(m, n);
	g_autoptr(GByteArray) control = make_tar(NULL, 0);
	char *path = g_build_filename(scratch_dir, rel, NULL);

	g_byte_array_append(deb, (const guint8 *)"!<arch>\n", 8);
	ar_member(deb, "debian-binary", (const guint8 *)"2.0\n", 4);
	ar_member(deb, "control.tar", control->data, control->len);
	ar_member(deb, "data.tar", data->data, data->len);
	ck_assert(g_file_set_contents(path, (char *)deb->data, deb->len, NULL));
	return path;
}

/* An Arch package: the tar of MEMBERS, zstd-compressed. */
static char *write_arch(const char *rel, const Member *m, guint n)
{
	g_autoptr(GByteArray) tar = make_tar(m, n);
	g_autofree char *plain = g_build_filename(scratch_dir, "arch.tar", NULL);
	char *path = g_build_filename(scratch_dir, rel, NULL);
	const char *zstd[] = {"zstd", "-q", "-f", "-o", path, "--", plain, NULL};
	g_autoptr(GError) error = NULL;

	ck_assert(g_file_set_contents(plain, (char *)tar->data, tar->len, NULL));
	ck_assert_msg(kdh_run(zstd, NULL, NULL, &error), "zstd (package zstd): %s",
	              error ? error->message : "");
	return path;
}

static void cpio_entry(GByteArray *c, const char *name, guint mode, const char *data, gsize len,
                       guint64 size)
{
	static const guint8 zeros[4];
	g_autofree char *h =
	    g_strdup_printf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", 1, mode,
	                    0, 0, 1, 0, (guint)size, 0, 0, 0, 0, (guint)strlen(name) + 1, 0);
	gsize head = strlen(h) + strlen(name) + 1;

	g_byte_array_append(c, (const guint8 *)h, strlen(h));
	g_byte_array_append(c, (const guint8 *)name, strlen(name) + 1);
	g_byte_array_append(c, zeros, (4 - head % 4) % 4);
	if (data) {
		g_byte_array_append(c, (const guint8 *)data, len);
		g_byte_array_append(c, zeros, (4 - len % 4) % 4);
	}
}

/* An .rpm: the lead, empty signature and main headers, then an
 * uncompressed newc cpio payload of MEMBERS. */
static char *write_rpm(const char *rel, const Member *m, guint n)
{
	static const guint8 header[16] = {0x8e, 0xad, 0xe8, 0x01};
	guint8 lead[96] = {0xed, 0xab, 0xee, 0xdb, 3, 0};
	g_autoptr(GByteArray) rpm = g_byte_array_new();
	char *path = g_build_filename(scratch_dir, rel, NULL);

	lead[79] = 5; /* signature type: a header */
	g_byte_array_append(rpm, lead, sizeof(lead));
	g_byte_array_append(rpm, header, sizeof(header));
	g_byte_array_append(rpm, header, sizeof(header));
	for (guint i = 0; i < n; i++) {
		guint mode = m[i].type == '2' ? 0120777 : m[i].type == '3' ? 0020644 : 0100644;
		const char *data = m[i].type == '3' || m[i].claim ? NULL : m[i].data;
		gsize len = data ? data_len(&m[i]) : 0;
		/* newc's size field has 8 hex digits: the largest claim it holds. */
		guint64 size = m[i].claim ? MIN(m[i].claim, 0xffffffffu) : len;
		cpio_entry(rpm, m[i].name, mode, data, len, size);
	}
	cpio_entry(rpm, "TRAILER!!!", 0, NULL, 0, 0);
	ck_assert(g_file_set_contents(path, (char *)rpm->data, rpm->len, NULL));
	return path;
}

/* Whether a file named NAME exists anywhere below DIR. */
static gboolean found_below(const char *dir, const char *name)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *n;

	while (d && (n = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, n, NULL);
		if (g_str_equal(n, name))
			return TRUE;
		if (!g_file_test(path, G_FILE_TEST_IS_SYMLINK) &&
		    g_file_test(path, G_FILE_TEST_IS_DIR) && found_below(path, name))
			return TRUE;
	}
	return FALSE;
}

typedef char *(*PackageWriter)(const char *rel, const Member *m, guint n);

/* Imports each attack in each package format: refused, the error naming
 * the package and the member, and nothing written where the attack aimed
 * (the file system is searched, not only our return value trusted). */
static void check_attacks(const char *ext, PackageWriter write)
{
	g_autofree char *outside = g_build_filename(scratch_dir, "outside", NULL);
	g_autofree char *abs_target = g_build_filename(scratch_dir, "abs-planted", NULL);
	g_autofree char *secret = g_build_filename(scratch_dir, "secret", NULL);
	/* The unpack folder is cache/kernels/.tmp-<id>-XXXXXX/unpacked: four
	 * levels up is the test's own folder. */
	const Member dotdot[] = {{"../../../../dotdot-planted", '0', "pwned", 0, 0}};
	const Member absolute[] = {{abs_target, '0', "pwned", 0, 0}};
	const Member through[] = {{"evil", '2', outside, 0, 0},
	                          {"evil/via-link", '0', "pwned", 0, 0}};
	const Member huge[] = {{"big", '0', "", 0, (guint64)1 << 40}};
	const Member device[] = {{"console", '3', "", 0, 0}};
	/* A symlink to a host file, then a file of the same name: writing it
	 * must not follow the link. */
	const Member overwrite[] = {{"clobber", '2', secret, 0, 0},
	                            {"clobber", '0', "pwned", 0, 0}};
	const struct {
		const char *what;
		const Member *m;
		guint n;
		const char *member; /* named in the error */
		const char *planted;
	} attacks[] = {
	    {"dotdot", dotdot, 1, "../../../../dotdot-planted", "dotdot-planted"},
	    {"absolute", absolute, 1, abs_target, "abs-planted"},
	    {"symlink", through, 2, "evil/via-link", "via-link"},
	    {"huge", huge, 1, "big", "big"},
	    {"device", device, 1, "console", "console"},
	    {"overwrite", overwrite, 2, "clobber", "clobber"},
	};
	g_autofree char *secret_text = NULL;

	g_mkdir(outside, 0755);
	g_free(scratch_write_file("secret", "the host's own file"));
	for (guint i = 0; i < G_N_ELEMENTS(attacks); i++) {
		g_autofree char *rel = g_strdup_printf("%s%s", attacks[i].what, ext);
		g_autofree char *pkg = write(rel, attacks[i].m, attacks[i].n);
		g_autoptr(GError) error = NULL;
		g_autoptr(KdhKernel) k = kdh_kernel_import(pkg, scratch_cache, &error);

		ck_assert_msg(!k, "%s: imported", rel);
		ck_assert_msg(strstr(error->message, pkg) &&
		                  strstr(error->message, attacks[i].member),
		              "%s: %s", rel, error->message);
		ck_assert_msg(!found_below(scratch_dir, attacks[i].planted), "%s: %s was written",
		              rel, attacks[i].planted);
		ck_assert(g_file_get_contents(secret, &secret_text, NULL, NULL));
		ck_assert_msg(g_str_equal(secret_text, "the host's own file"),
		              "%s: secret overwritten", rel);
		g_clear_pointer(&secret_text, g_free);
	}
	ck_assert_uint_eq(scratch_count_entries(), 0);
	ck_assert_uint_eq(scratch_count_tmp(), 0);
}

/* A hard link to a host file: tar records the target's name (cpio has
 * none to give). */
static void check_hard_link(const char *ext, PackageWriter write)
{
	g_autofree char *secret = scratch_write_file("secret", "the host's own file");
	g_autofree char *rel = g_strdup_printf("hardlink%s", ext);
	const Member m[] = {{"hl", '1', secret, 0, 0}};
	g_autofree char *pkg = write(rel, m, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = kdh_kernel_import(pkg, scratch_cache, &error);
	GStatBuf st;

	ck_assert_ptr_null(k);
	ck_assert_msg(strstr(error->message, "'hl'") && strstr(error->message, "hard link"), "%s",
	              error->message);
	ck_assert_int_eq(g_stat(secret, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 1);
}

START_TEST(hostile_debs_are_refused)
{
	check_attacks(".deb", write_deb);
	check_hard_link(".deb", write_deb);
}
END_TEST

START_TEST(hostile_rpms_are_refused)
{
	check_attacks(".rpm", write_rpm);
}
END_TEST

START_TEST(hostile_arch_packages_are_refused)
{
	check_attacks(".pkg.tar.zst", write_arch);
	check_hard_link(".pkg.tar.zst", write_arch);
}
END_TEST

/* The crafted formats are real: a harmless package of each kind imports,
 * so the refusals above are about the attacks, not the format. */
START_TEST(crafted_packages_import)
{
	g_autofree char *bz = scratch_write_bzimage("img", "6.1.0-9-amd64");
	g_autofree char *image = NULL;
	gsize len;
	static const struct {
		const char *ext;
		PackageWriter write;
	} kinds[] = {{".deb", write_deb}, {".rpm", write_rpm}, {".pkg.tar.zst", write_arch}};

	ck_assert(g_file_get_contents(bz, &image, &len, NULL));
	for (guint i = 0; i < G_N_ELEMENTS(kinds); i++) {
		/* Different config text, so each package is its own entry. */
		g_autofree char *config = g_strdup_printf("CONFIG_KEXEC=y\nCONFIG_N=%u\n", i);
		const Member m[] = {{"boot/vmlinuz-6.1.0-9-amd64", '0', image, len, 0},
		                    {"./boot/config-6.1.0-9-amd64", '0', config, 0, 0}};
		g_autofree char *rel = g_strdup_printf("fine%s", kinds[i].ext);
		g_autofree char *pkg = kinds[i].write(rel, m, G_N_ELEMENTS(m));
		g_autoptr(GError) error = NULL;
		g_autoptr(KdhKernel) k = kdh_kernel_import(pkg, scratch_cache, &error);

		ck_assert_msg(k, "%s: %s", rel, error ? error->message : "");
		ck_assert_str_eq(k->release, "6.1.0-9-amd64");
		ck_assert(g_file_test(k->config, G_FILE_TEST_IS_REGULAR));
	}
	ck_assert_uint_eq(scratch_count_entries(), 3);
}
END_TEST

/* apt-cache and apt-get stand-ins on PATH: they answer from the .deb
 * files in $KDH_FAKE_APT, so the Debian fetch runs whole (download,
 * unpack, depmod, cache) without a network. */
static void fake_apt(const char *debs)
{
	g_autofree char *bin = g_build_filename(scratch_dir, "fake-apt-bin", NULL);
	g_autofree char *cache_sh = g_build_filename(bin, "apt-cache", NULL);
	g_autofree char *get_sh = g_build_filename(bin, "apt-get", NULL);
	g_autofree char *path = g_strdup_printf("%s:%s", bin, g_getenv("PATH"));

	g_mkdir_with_parents(bin, 0755);
	ck_assert(g_file_set_contents(
	    cache_sh,
	    "#!/bin/sh\n"
	    "for a; do name=$a; done\n"
	    "case $name in\n"
	    "linux-image-amd64) printf 'Package: %s\\nVersion: 6.1.99-1\\n"
	    "Depends: linux-image-6.1.0-99-amd64 (= 6.1.99-1)\\n' \"$name\" ;;\n"
	    "*) [ -f \"$KDH_FAKE_APT/$name.deb\" ] || exit 100\n"
	    "   printf 'Package: %s\\nVersion: 6.1.99-1\\n' \"$name\" ;;\n"
	    "esac\n",
	    -1, NULL));
	ck_assert(g_file_set_contents(get_sh,
	                              "#!/bin/sh\n"
	                              "for a; do spec=$a; done\n"
	                              "name=${spec%%=*}\n"
	                              "[ -f \"$KDH_FAKE_APT/$name.deb\" ] || exit 100\n"
	                              "cp \"$KDH_FAKE_APT/$name.deb\" "
	                              "\"./${name}_6.1.99-1_amd64.deb\"\n",
	                              -1, NULL));
	g_chmod(cache_sh, 0755);
	g_chmod(get_sh, 0755);
	g_setenv("PATH", path, TRUE);
	g_setenv("KDH_FAKE_APT", debs, TRUE);
}

START_TEST(debian_fetch_unpacks_through_apt)
{
	g_autofree char *debs = g_build_filename(scratch_dir, "debs", NULL);
	g_autofree char *image_root = g_build_filename(scratch_dir, "img", NULL);
	g_autofree char *dbg_root = g_build_filename(scratch_dir, "dbg", NULL);
	g_autofree char *image_deb =
	    g_build_filename(debs, "linux-image-6.1.0-99-amd64-unsigned.deb", NULL);
	g_autofree char *dbg_deb =
	    g_build_filename(debs, "linux-image-6.1.0-99-amd64-dbg.deb", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhKernel) k = NULL;
	g_autofree char *dep = NULL, *skipped = NULL;

	g_mkdir_with_parents(debs, 0755);
	g_free(scratch_write_bzimage("img/boot/vmlinuz-6.1.0-99-amd64", "6.1.0-99-amd64"));
	g_free(scratch_write_file("img/boot/config-6.1.0-99-amd64", "CONFIG_KEXEC=y\n"));
	g_free(scratch_write_file("img/lib/modules/6.1.0-99-amd64/kernel/fs/a.ko", "not ELF"));
	build_deb(image_root, "linux-image-6.1.0-99-amd64-unsigned", "xz", image_deb);
	g_free(scratch_write_file("dbg/usr/lib/debug/boot/vmlinux-6.1.0-99-amd64", "\x7f"
	                                                                           "ELF dwarf"));
	g_free(scratch_write_file("dbg/usr/lib/debug/lib/modules/6.1.0-99-amd64/a.ko", "debug"));
	build_deb(dbg_root, "linux-image-6.1.0-99-amd64-dbg", "xz", dbg_deb);
	fake_apt(debs);

	k = kdh_kernel_fetch_debian("debian:default", TRUE, scratch_cache, &error);
	ck_assert_msg(k, "%s", error ? error->message : "");
	ck_assert_str_eq(k->release, "6.1.0-99-amd64");
	ck_assert_str_eq(k->source, "debian");
	ck_assert_str_eq(k->version, "6.1.99-1");
	ck_assert(g_file_test(k->vmlinuz, G_FILE_TEST_IS_REGULAR));
	dep = g_build_filename(k->modules_dir, "modules.dep", NULL);
	ck_assert(g_file_test(dep, G_FILE_TEST_IS_REGULAR));
	ck_assert_ptr_nonnull(k->vmlinux);
	/* Only the vmlinux of the -dbg package is kept. */
	skipped = g_strdup_printf("%s.dbg/a.ko", k->root);
	ck_assert(!g_file_test(skipped, G_FILE_TEST_EXISTS));
	ck_assert_uint_eq(scratch_count_tmp(), 0);
}
END_TEST

START_TEST(hostile_debian_package_is_refused)
{
	g_autofree char *debs = g_build_filename(scratch_dir, "debs", NULL);
	const Member m[] = {{"./../../../../../fetched-planted", '0', "pwned", 0, 0}};
	g_autofree char *deb = NULL;
	g_autoptr(GError) error = NULL;

	g_mkdir_with_parents(debs, 0755);
	deb = write_deb("debs/linux-image-6.1.0-98-amd64-unsigned.deb", m, 1);
	fake_apt(debs);
	ck_assert_ptr_null(
	    kdh_kernel_fetch_debian("debian:6.1.0-98-amd64", FALSE, scratch_cache, &error));
	ck_assert_msg(strstr(error->message, "fetched-planted") &&
	                  strstr(error->message, "linux-image-6.1.0-98-amd64-unsigned"),
	              "%s", error->message);
	ck_assert(!found_below(scratch_dir, "fetched-planted"));
	ck_assert_uint_eq(scratch_count_entries(), 0);
	ck_assert_uint_eq(scratch_count_tmp(), 0);
}
END_TEST

Suite *packages_suite(void)
{
	Suite *s = suite_create("packages");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, scratch_setup, scratch_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, imports_deb_and_arch_packages);
	tcase_add_test(tc, imports_rpm_package);
	tcase_add_test(tc, bad_packages_leave_no_entry);
	tcase_add_test(tc, hostile_debs_are_refused);
	tcase_add_test(tc, hostile_rpms_are_refused);
	tcase_add_test(tc, hostile_arch_packages_are_refused);
	tcase_add_test(tc, crafted_packages_import);
	tcase_add_test(tc, debian_fetch_unpacks_through_apt);
	tcase_add_test(tc, hostile_debian_package_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
