/* Domain XML and the acceleration probe. */
#include <check.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "vm/vm.h"

static const KdhVmConfig cfg = {
    .name = "kdh-1-smoke",
    .memory = 1ULL << 30,
    .cpus = 2,
    .kernel = "/cache/vmlinuz",
    .initrd = "/cache/initrd.cpio",
    .cmdline = "console=ttyS0 crashkernel=256M kdh.x=<&'\">",
    .disk = "/results/disk.qcow2",
    .serial_log = "/results/serial.log",
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
	assert_xpath(doc, "string(/domain/devices/disk/source/@file)", "/results/disk.qcow2");
	assert_xpath(doc, "string(/domain/devices/disk/target/@bus)", "virtio");
	assert_xpath(doc, "string(/domain/devices/disk/driver/@type)", "qcow2");
	assert_xpath(doc, "string(/domain/devices/serial/@type)", "file");
	assert_xpath(doc, "string(/domain/devices/serial/source/@path)", "/results/serial.log");
	assert_xpath(doc, "string(count(/domain/cpu))", "0");
	xmlFreeDoc(doc);
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
	suite_add_tcase(s, tc);
	tc = tcase_create("probe");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, probe_boots_a_real_kernel_under_tcg);
	suite_add_tcase(s, tc);
	return s;
}
