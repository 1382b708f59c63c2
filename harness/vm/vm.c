/* The libvirt backend, domain XML, the acceleration probe, the daemons. */
#include "vm/vm.h"
#include "util/util.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

KDH_DEFINE_QUARK("kdh-vm-error-quark", kdh_vm_error)

#define LIBVIRT_URI "qemu:///system"

const char *kdh_accel_name(KdhAccel accel)
{
	return accel == KDH_ACCEL_KVM ? "kvm" : "tcg";
}

char *kdh_vm_domain_xml(const KdhVmConfig *cfg)
{
	/* g_markup_printf_escaped escapes every string we put in. */
	g_autofree char *head = g_markup_printf_escaped(
	    "<domain type='%s'>\n"
	    "  <name>%s</name>\n"
	    "  <memory unit='KiB'>%" G_GUINT64_FORMAT "</memory>\n"
	    "  <vcpu>%u</vcpu>\n"
	    "  <os>\n"
	    "    <type arch='x86_64' machine='pc'>hvm</type>\n"
	    "    <kernel>%s</kernel>\n"
	    "    <initrd>%s</initrd>\n"
	    "    <cmdline>%s</cmdline>\n"
	    "  </os>\n"
	    "  <features><acpi/></features>\n",
	    cfg->accel == KDH_ACCEL_KVM ? "kvm" : "qemu", cfg->name, cfg->memory / 1024, cfg->cpus,
	    cfg->kernel, cfg->initrd, cfg->cmdline);
	/* Under TCG, QEMU's default CPU model: -cpu max would be slower to
	 * emulate. */
	const char *cpu = cfg->accel == KDH_ACCEL_KVM ? "  <cpu mode='host-passthrough'/>\n" : "";
	g_autofree char *tail = g_markup_printf_escaped(
	    "  <clock offset='utc'/>\n"
	    "  <on_poweroff>destroy</on_poweroff>\n"
	    "  <on_reboot>destroy</on_reboot>\n"
	    "  <on_crash>destroy</on_crash>\n"
	    "  <devices>\n"
	    "    <disk type='file' device='disk'>\n"
	    "      <driver name='qemu' type='qcow2'/>\n"
	    "      <source file='%s'/>\n"
	    "      <target dev='vda' bus='virtio'/>\n"
	    "    </disk>\n"
	    "    <serial type='file'>\n"
	    "      <source path='%s'/>\n"
	    "      <target port='0'/>\n"
	    "    </serial>\n"
	    "    <memballoon model='none'/>\n"
	    "  </devices>\n"
	    "  <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>\n"
	    "</domain>\n",
	    cfg->disk, cfg->serial_log);

	return g_strconcat(head, cpu, tail, NULL);
}

gboolean kdh_accel_works(KdhAccel accel, const char *kernel, guint timeout, char **why)
{
	g_autofree char *secs = g_strdup_printf("%u", timeout);
	const char *argv[] = {"timeout",     "--kill-after=2",
	                      secs,          "qemu-system-x86_64",
	                      "-accel",      accel == KDH_ACCEL_KVM ? "kvm" : "tcg",
	                      "-cpu",        accel == KDH_ACCEL_KVM ? "host" : "qemu64",
	                      "-m",          "128",
	                      "-nodefaults", "-display",
	                      "none",        "-no-reboot",
	                      "-serial",     "stdio",
	                      "-kernel",     kernel,
	                      "-append",     "console=ttyS0 quiet panic=-1",
	                      NULL};
	KdhRunOptions opts = {.merge_stderr = TRUE, .any_status = TRUE};
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	int status;

	if (accel == KDH_ACCEL_KVM && g_access("/dev/kvm", R_OK | W_OK) != 0) {
		*why = g_strdup("/dev/kvm is not there or not usable");
		return FALSE;
	}
	if (!kdh_run_full(argv, &opts, &text, &status, &error)) {
		*why = g_strdup(error->message);
		return FALSE;
	}
	/* Without a root file system the kernel panics at once: reaching that
	 * panic means the accelerator ran a whole kernel boot. */
	if (strstr(text, "Kernel panic - not syncing") && status == 0)
		return TRUE;
	if (status == 124)
		*why = g_strdup_printf("a kernel did not boot to its first panic in %u s", timeout);
	else if (strstr(text, "qemu-system-x86_64:"))
		*why = g_strstrip(g_strdup(strstr(text, "qemu-system-x86_64:")));
	else
		*why = g_strdup_printf("the probe VM ended with status %d", status);
	return FALSE;
}

/* The probe's verdict is the host's (its KVM, firmware and /dev/kvm), not
 * the kernel's, and holds until the host reboots: keyed by the boot id. */
static char *probe_cache_key(void)
{
	g_autofree char *boot_id = NULL;

	if (!g_file_get_contents("/proc/sys/kernel/random/boot_id", &boot_id, NULL, NULL))
		return NULL;
	return g_strdup(g_strstrip(boot_id));
}

KdhAccel kdh_accel_probe(const char *kernel, const char *cache_dir, char **why)
{
	g_autofree char *reason = NULL, *key = probe_cache_key();
	g_autofree char *path = cache_dir ? g_build_filename(cache_dir, "accel-probe", NULL) : NULL;
	g_autofree char *saved = NULL;
	KdhAccel accel;

	if (key && path && g_file_get_contents(path, &saved, NULL, NULL)) {
		g_auto(GStrv) lines = g_strsplit(saved, "\n", 3);
		if (g_strv_length(lines) == 3 && g_str_equal(lines[0], key)) {
			accel = g_str_equal(lines[1], "kvm") ? KDH_ACCEL_KVM : KDH_ACCEL_TCG;
			if (why && accel == KDH_ACCEL_TCG)
				*why = g_strdup_printf("%s (probed earlier since boot)", lines[2]);
			return accel;
		}
	}
	accel = kdh_accel_works(KDH_ACCEL_KVM, kernel, 10, &reason) ? KDH_ACCEL_KVM : KDH_ACCEL_TCG;
	if (key && path) {
		g_autofree char *text =
		    g_strdup_printf("%s\n%s\n%s", key, kdh_accel_name(accel), reason ? reason : "");
		g_file_set_contents(path, text, -1, NULL);
	}
	if (why)
		*why = g_steal_pointer(&reason);
	return accel;
}

/* libvirt prints every error to stderr unless told not to; we report them
 * ourselves, once, as GErrors. */
static void libvirt_quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static gboolean libvirt_error(GError **error, const char *what)
{
	g_set_error(error, KDH_VM_ERROR, 0, "%s: %s", what, virGetLastErrorMessage());
	return FALSE;
}

static gboolean socket_answers(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	gboolean ok;

	if (fd < 0)
		return FALSE;
	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	return ok;
}

static gboolean start_daemon(const char *daemon, const char *socket_path, GString *started,
                             GError **error)
{
	const char *argv[] = {daemon, "-d", NULL};

	if (socket_answers(socket_path))
		return TRUE;
	if (geteuid() != 0) {
		g_set_error(error, KDH_VM_ERROR, 0,
		            "%s is not running (%s) and only root may start it", daemon,
		            socket_path);
		return FALSE;
	}
	if (!kdh_run(argv, NULL, NULL, error))
		return FALSE;
	for (int i = 0; i < 100 && !socket_answers(socket_path); i++)
		g_usleep(100 * 1000);
	if (!socket_answers(socket_path)) {
		g_set_error(error, KDH_VM_ERROR, 0, "%s started but %s does not answer", daemon,
		            socket_path);
		return FALSE;
	}
	g_string_append_printf(started, "%s%s", started->len ? " and " : "", daemon);
	return TRUE;
}

gboolean kdh_libvirt_ensure_daemons(char **started, GError **error)
{
	g_autoptr(GString) done = g_string_new(NULL);

	if (!start_daemon("virtlogd", "/run/libvirt/virtlogd-sock", done, error) ||
	    !start_daemon("libvirtd", "/run/libvirt/libvirt-sock", done, error))
		return FALSE;
	if (started)
		*started = done->len ? g_strdup(done->str) : NULL;
	return TRUE;
}

struct KdhVm {
	virConnectPtr conn;
	virDomainPtr dom;
};

static void libvirt_destroy(KdhVm *vm)
{
	if (!vm)
		return;
	if (vm->dom) {
		/* Fails harmlessly when the domain has already ended. */
		virDomainDestroy(vm->dom);
		virDomainFree(vm->dom);
	}
	if (vm->conn)
		virConnectClose(vm->conn);
	g_free(vm);
}

static KdhVm *libvirt_start(const KdhVmConfig *cfg, GError **error)
{
	g_autofree char *xml = kdh_vm_domain_xml(cfg);
	KdhVm *vm = g_new0(KdhVm, 1);

	virSetErrorFunc(NULL, libvirt_quiet);
	vm->conn = virConnectOpen(LIBVIRT_URI);
	if (!vm->conn) {
		libvirt_error(error, "connecting to " LIBVIRT_URI);
		libvirt_destroy(vm);
		return NULL;
	}
	/* AUTODESTROY ties the domain's life to this connection. */
	vm->dom = virDomainCreateXML(vm->conn, xml, VIR_DOMAIN_START_AUTODESTROY);
	if (!vm->dom) {
		libvirt_error(error, "starting the domain");
		libvirt_destroy(vm);
		return NULL;
	}
	return vm;
}

static gboolean libvirt_running(KdhVm *vm, GError **error)
{
	int state = 0, reason = 0;

	if (virDomainGetState(vm->dom, &state, &reason, 0) < 0) {
		virErrorPtr err = virGetLastError();
		/* A transient domain that has ended is gone altogether. */
		if (err && err->code == VIR_ERR_NO_DOMAIN)
			return FALSE;
		return libvirt_error(error, "asking the domain's state");
	}
	return state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED;
}

static gboolean libvirt_inject_nmi(KdhVm *vm, GError **error)
{
	if (virDomainInjectNMI(vm->dom, 0) < 0)
		return libvirt_error(error, "injecting an NMI");
	return TRUE;
}

const KdhVmBackend kdh_vm_libvirt = {
    .name = "libvirt",
    .start = libvirt_start,
    .running = libvirt_running,
    .inject_nmi = libvirt_inject_nmi,
    .destroy = libvirt_destroy,
};
