/* Domain XML, the acceleration probe, the connection, and the folders the
 * files handed to QEMU live in. */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/vm.h"

static const KdhVmConfig cfg = {
    .name = "kdh-1-smoke",
    .memory = 1ULL << 30,
    .cpus = 2,
    .kernel = "/cache/vmlinuz",
    .initrd = "/cache/initrd.cpio",
    .cmdline = "console=ttyS0 crashkernel=256M kdh.x=<&'\">",
    .disk = "/vm/disk.qcow2",
    .disk_base = "/cache/disks/base.qcow2",
    .serial_log = "/results/serial.log",
    .dir = "/vm",
    .accel = KDH_ACCEL_TCG,
};

/* The string value of XPath EXPR in the document, "" when absent. */
static char *xpath_string(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	xmlChar *s = xmlXPathCastToString(obj);
	char *out = g_strdup((const char *)s);

	xmlFree(s);
	xmlXPathFreeObject(obj);
	xmlXPathFreeContext(ctx);
	return out;
}

static void assert_xpath(xmlDocPtr doc, const char *expr, const char *want)
{
	g_autofree char *got = xpath_string(doc, expr);
	ck_assert_msg(g_str_equal(got, want), "%s: got '%s', want '%s'", expr, got, want);
}

START_TEST(domain_xml_has_what_kdump_needs)
{
	g_autofree char *xml = kdh_vm_domain_xml(&cfg);
	xmlDocPtr doc = xmlReadMemory(xml, strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);

	ck_assert_msg(doc, "not well-formed:\n%s", xml);
	assert_xpath(doc, "string(/domain/@type)", "qemu");
	assert_xpath(doc, "string(/domain/name)", "kdh-1-smoke");
	assert_xpath(doc, "string(/domain/memory)", "1048576");
	assert_xpath(doc, "string(/domain/memory/@unit)", "KiB");
	assert_xpath(doc, "string(/domain/vcpu)", "2");
	assert_xpath(doc, "string(/domain/os/kernel)", "/cache/vmlinuz");
	assert_xpath(doc, "string(/domain/os/initrd)", "/cache/initrd.cpio");
	/* Escaped in the XML, intact once parsed. */
	assert_xpath(doc, "string(/domain/os/cmdline)", cfg.cmdline);
	assert_xpath(doc, "string(count(/domain/features/acpi))", "1");
	assert_xpath(doc, "string(/domain/on_poweroff)", "destroy");
	assert_xpath(doc, "string(/domain/on_reboot)", "destroy");
	assert_xpath(doc, "string(/domain/devices/disk/source/@file)", "/vm/disk.qcow2");
	assert_xpath(doc, "string(/domain/devices/disk/target/@bus)", "virtio");
	assert_xpath(doc, "string(/domain/devices/disk/driver/@type)", "qcow2");
	assert_xpath(doc, "string(/domain/devices/serial/@type)", "file");
	assert_xpath(doc, "string(/domain/devices/serial/source/@path)", "/results/serial.log");
	assert_xpath(doc, "string(count(/domain/cpu))", "0");
	xmlFreeDoc(doc);
}
END_TEST

/* QEMU must not run as root: libvirt's DAC labelling stays on (QEMU runs
 * as qemu.conf's user, the VM's own files are lent to it), and only the
 * shared base disk, named as the overlay's backing file, is never chowned.
 * (A domain label of +0:+0 without relabelling was here before.) */
START_TEST(domain_xml_lets_libvirt_run_qemu_unprivileged)
{
	g_autofree char *xml = kdh_vm_domain_xml(&cfg);
	xmlDocPtr doc = xmlReadMemory(xml, strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);

	ck_assert_ptr_nonnull(doc);
	/* libvirt's default: dynamic DAC under qemu:///system.  Naming it
	 * would fail under qemu:///session, which has no DAC driver. */
	assert_xpath(doc, "string(count(//seclabel))", "1");
	assert_xpath(doc, "string(count(/domain/devices/disk/source/seclabel))", "0");
	assert_xpath(doc, "string(/domain/devices/disk/backingStore/source/@file)",
	             "/cache/disks/base.qcow2");
	assert_xpath(doc, "string(/domain/devices/disk/backingStore/format/@type)", "qcow2");
	assert_xpath(doc, "string(/domain/devices/disk/backingStore/source/seclabel/@model)",
	             "dac");
	assert_xpath(doc, "string(/domain/devices/disk/backingStore/source/seclabel/@relabel)",
	             "no");
	/* The base has no backing file itself: libvirt must not probe one. */
	assert_xpath(doc, "string(count(/domain/devices/disk/backingStore/backingStore))", "1");
	assert_xpath(doc, "string(count(/domain/devices/disk/backingStore/backingStore/*))", "0");
	xmlFreeDoc(doc);
}
END_TEST

/* A case's settings layer over a distro image: both named, inside out,
 * neither chowned, and nothing probed past the image. */
START_TEST(domain_xml_names_a_chain_of_two)
{
	KdhVmConfig two = cfg;
	g_autofree char *xml = NULL;
	xmlDocPtr doc;

	two.disk_base = "/cache/layers/case.qcow2";
	two.disk_base_backing = "/cache/images/debian/disk.qcow2";
	xml = kdh_vm_domain_xml(&two);
	doc = xmlReadMemory(xml, strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
	ck_assert_ptr_nonnull(doc);
	assert_xpath(doc, "string(/domain/devices/disk/backingStore/source/@file)",
	             "/cache/layers/case.qcow2");
	assert_xpath(doc, "string(/domain/devices/disk/backingStore/backingStore/source/@file)",
	             "/cache/images/debian/disk.qcow2");
	assert_xpath(doc, "string(count(//backingStore/source/seclabel[@relabel='no']))", "2");
	assert_xpath(doc,
	             "string(count(/domain/devices/disk/backingStore/backingStore/backingStore/*))",
	             "0");
	xmlFreeDoc(doc);
}
END_TEST

static void libvirt_quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

/* libvirt's own parser, with its RNG schema, accepts the XML and keeps the
 * labels (the test driver runs in this process: no daemon, no VM). */
START_TEST(domain_xml_passes_libvirt_schema)
{
	g_autofree char *xml = kdh_vm_domain_xml(&cfg);
	g_autofree char *back = NULL;
	virConnectPtr conn;
	virDomainPtr dom;

	virSetErrorFunc(NULL, libvirt_quiet);
	conn = virConnectOpen("test:///default");
	ck_assert_msg(conn, "test:///default: %s", virGetLastErrorMessage());
	dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
	ck_assert_msg(dom, "libvirt rejects the domain XML: %s\n%s", virGetLastErrorMessage(), xml);
	back = virDomainGetXMLDesc(dom, 0);
	ck_assert_ptr_nonnull(strstr(back, "<seclabel model='dac' relabel='no'/>"));
	ck_assert_ptr_nonnull(strstr(back, "/cache/disks/base.qcow2"));
	virDomainUndefine(dom);
	virDomainFree(dom);
	virConnectClose(conn);
}
END_TEST

START_TEST(default_uri_is_system_for_root_session_for_users)
{
	g_autofree char *by_env = NULL, *by_user = NULL;
	g_autofree char *started = NULL;
	g_autoptr(GError) error = NULL;

	g_setenv("LIBVIRT_DEFAULT_URI", "test:///default", TRUE);
	by_env = kdh_libvirt_default_uri();
	ck_assert_str_eq(by_env, "test:///default");
	g_unsetenv("LIBVIRT_DEFAULT_URI");
	by_user = kdh_libvirt_default_uri();
	ck_assert_str_eq(by_user, geteuid() == 0 ? "qemu:///system" : "qemu:///session");
	/* Only qemu:///system needs daemons from us; nothing is started for
	 * any other connection, root or not. */
	ck_assert_msg(kdh_libvirt_prepare("qemu:///session", &started, &error), "%s",
	              error ? error->message : "");
	ck_assert_ptr_null(started);
}
END_TEST

/* Root's cache is reachable by QEMU's unprivileged user; anyone else's is in
 * their own home; KDH_CACHE_DIR wins for both. */
START_TEST(cache_dir_is_systemwide_for_root_only)
{
	g_autofree char *tmp = g_dir_make_tmp("kdh-cache-XXXXXX", NULL);
	g_autofree char *mine = g_build_filename(tmp, "mine", NULL);
	g_autofree char *by_env = NULL, *by_user = NULL;
	g_autoptr(GError) error = NULL;
	struct stat st;

	g_setenv("KDH_CACHE_DIR", mine, TRUE);
	by_env = kdh_cache_dir(&error);
	ck_assert_str_eq(by_env, mine);
	ck_assert(g_file_test(mine, G_FILE_TEST_IS_DIR));
	g_unsetenv("KDH_CACHE_DIR");
	if (geteuid() == 0) {
		by_user = kdh_cache_dir(&error);
		ck_assert_str_eq(by_user, "/var/cache/kdh");
		ck_assert_int_eq(stat(by_user, &st), 0);
		ck_assert_int_eq(st.st_mode & 0777, 0755);
	} else {
		g_autofree char *want = g_build_filename(g_get_user_cache_dir(), "kdh", NULL);
		by_user = kdh_cache_dir(&error);
		ck_assert_str_eq(by_user, want);
	}
	kdh_rm_rf(tmp);
}
END_TEST

START_TEST(unreachable_names_the_folder_that_blocks)
{
	g_autofree char *tmp = g_dir_make_tmp("kdh-reach-XXXXXX", NULL);
	g_autofree char *sub = g_build_filename(tmp, "sub", NULL);
	g_autofree char *file = g_build_filename(sub, "base.qcow2", NULL);
	g_autofree char *why = NULL, *why_file = NULL, *why_missing = NULL;
	g_autofree char *ok_dir = NULL, *ok_file = NULL;
	g_autofree char *want = g_strdup_printf("folder %s (mode 0700)", tmp);

	ck_assert_int_eq(g_mkdir(sub, 0755), 0);
	ck_assert(g_file_set_contents(file, "x", 1, NULL));
	/* g_dir_make_tmp makes 0700, like /root. */
	ck_assert_int_eq(g_chmod(file, 0644), 0);
	why = kdh_vm_unreachable(file, TRUE);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(g_str_has_prefix(why, want), "%s", why);

	ck_assert_int_eq(g_chmod(tmp, 0711), 0);
	ok_file = kdh_vm_unreachable(file, TRUE);
	ck_assert_msg(!ok_file, "%s", ok_file);
	ok_dir = kdh_vm_unreachable(sub, FALSE);
	ck_assert_msg(!ok_dir, "%s", ok_dir);

	ck_assert_int_eq(g_chmod(file, 0600), 0);
	why_file = kdh_vm_unreachable(file, TRUE);
	ck_assert_msg(why_file && strstr(why_file, "base.qcow2") && strstr(why_file, "readable"),
	              "%s", why_file);
	g_free(ok_file);
	/* Readability is asked for only where QEMU reads without a label. */
	ok_file = kdh_vm_unreachable(file, FALSE);
	ck_assert_ptr_null(ok_file);

	why_missing = kdh_vm_unreachable("/nonexistent-kdh/x", FALSE);
	ck_assert_ptr_nonnull(why_missing);
	kdh_rm_rf(tmp);
}
END_TEST

static mode_t mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, g_strerror(errno));
	return st.st_mode & 07777;
}

/* Each run's VM folder is searchable but not listable by others, whatever
 * the umask; a folder no run holds (its kdh was killed) is removed by the
 * next run, one a live run holds is not. */
START_TEST(run_dirs_are_reachable_and_leftovers_pruned)
{
	g_autofree char *cache = g_dir_make_tmp("kdh-vmdir-XXXXXX", NULL);
	g_autofree char *left = g_build_filename(cache, "vm", "run-killed", NULL);
	g_autofree char *left_file = g_build_filename(left, "disk.qcow2", NULL);
	g_autoptr(KdhVmRunDir) a = NULL;
	g_autoptr(KdhVmRunDir) b = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *case_dir = NULL, *a_path = NULL;
	mode_t old = umask(077);

	a = kdh_vm_run_dir_new(cache, &error);
	ck_assert_msg(a, "%s", error ? error->message : "");
	ck_assert(g_str_has_prefix(a->path, cache));
	ck_assert_int_eq(mode_of(a->path), 0711);
	case_dir = g_build_filename(a->path, "case", NULL);
	ck_assert_msg(kdh_vm_dir_new(case_dir, &error), "%s", error ? error->message : "");
	ck_assert_int_eq(mode_of(case_dir), 0711);
	umask(old);

	ck_assert_int_eq(g_mkdir(left, 0700), 0);
	ck_assert(g_file_set_contents(left_file, "x", 1, NULL));
	b = kdh_vm_run_dir_new(cache, &error);
	ck_assert_msg(b, "%s", error ? error->message : "");
	ck_assert_msg(!g_file_test(left, G_FILE_TEST_EXISTS), "%s was not pruned", left);
	ck_assert_msg(g_file_test(case_dir, G_FILE_TEST_IS_DIR), "a live run's folder was pruned");
	ck_assert_str_ne(a->path, b->path);

	a_path = g_strdup(a->path);
	g_clear_pointer(&a, kdh_vm_run_dir_free);
	ck_assert(!g_file_test(a_path, G_FILE_TEST_EXISTS));
	g_clear_pointer(&b, kdh_vm_run_dir_free);
	kdh_rm_rf(cache);
}
END_TEST

START_TEST(domain_xml_kvm_passes_the_host_cpu)
{
	KdhVmConfig kvm = cfg;
	g_autofree char *xml = NULL;
	xmlDocPtr doc;

	kvm.accel = KDH_ACCEL_KVM;
	xml = kdh_vm_domain_xml(&kvm);
	doc = xmlReadMemory(xml, strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
	ck_assert_ptr_nonnull(doc);
	assert_xpath(doc, "string(/domain/@type)", "kvm");
	assert_xpath(doc, "string(/domain/cpu/@mode)", "host-passthrough");
	xmlFreeDoc(doc);
}
END_TEST

/* The probe's mechanism, proven on the accelerator that always works: a real
 * QEMU boots the host's Debian kernel (libguestfs needs it installed) to its
 * "no root" panic.  And a kernel that is not one must fail the probe. */
START_TEST(probe_boots_a_real_kernel_under_tcg)
{
	g_autofree char *why = NULL, *why_not = NULL;
	g_autofree char *kernel = NULL;
	g_autoptr(GDir) boot = g_dir_open("/boot", 0, NULL);
	const char *name;

	while (boot && (name = g_dir_read_name(boot))) {
		if (g_str_has_prefix(name, "vmlinuz-"))
			kernel = g_build_filename("/boot", name, NULL);
	}
	ck_assert_msg(kernel, "no /boot/vmlinuz-*: is linux-image-amd64 installed?");
	ck_assert_msg(kdh_accel_works(KDH_ACCEL_TCG, kernel, 60, &why), "the TCG probe failed: %s",
	              why ? why : "");
	ck_assert(!kdh_accel_works(KDH_ACCEL_TCG, "/etc/hostname", 60, &why_not));
	ck_assert_ptr_nonnull(why_not);
	ck_assert_str_eq(kdh_accel_name(KDH_ACCEL_TCG), "tcg");
	ck_assert_str_eq(kdh_accel_name(KDH_ACCEL_KVM), "kvm");
}
END_TEST

Suite *vm_suite(void);
Suite *vm_suite(void)
{
	Suite *s = suite_create("vm");
	TCase *tc = tcase_create("xml");

	tcase_add_test(tc, domain_xml_has_what_kdump_needs);
	tcase_add_test(tc, domain_xml_kvm_passes_the_host_cpu);
	tcase_add_test(tc, domain_xml_lets_libvirt_run_qemu_unprivileged);
	tcase_add_test(tc, domain_xml_names_a_chain_of_two);
	tcase_add_test(tc, domain_xml_passes_libvirt_schema);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	tcase_add_test(tc, default_uri_is_system_for_root_session_for_users);
	tcase_add_test(tc, cache_dir_is_systemwide_for_root_only);
	tcase_add_test(tc, unreachable_names_the_folder_that_blocks);
	tcase_add_test(tc, run_dirs_are_reachable_and_leftovers_pruned);
	suite_add_tcase(s, tc);
	tc = tcase_create("probe");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, probe_boots_a_real_kernel_under_tcg);
	suite_add_tcase(s, tc);
	return s;
}
