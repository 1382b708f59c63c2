/* The libvirt backend (a remote host's VM with its console stream), domain
 * XML, the acceleration probe, the daemons. */
#include "vm/vm.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

KDH_DEFINE_QUARK("kdh-vm-error-quark", kdh_vm_error)

#define SYSTEM_URI  "qemu:///system"
#define SESSION_URI "qemu:///session"

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
	/* The backing chain is named here rather than probed, so each file
	 * can be marked: never chowned, since other VMs read it at the same
	 * time.  Inside out: the last backing file first. */
	const char *chain[] = {cfg->disk_base, cfg->disk_base_backing};
	g_autofree char *backing = g_strdup("<backingStore/>");
	for (gsize i = G_N_ELEMENTS(chain); i-- > 0;) {
		if (!chain[i])
			continue;
		g_autofree char *inner = g_steal_pointer(&backing);
		g_autofree char *file = g_markup_escape_text(chain[i], -1);
		backing =
		    g_strdup_printf("<backingStore type='file'><format type='qcow2'/><source "
		                    "file='%s'><seclabel model='dac' relabel='no'/></source>%s"
		                    "</backingStore>",
		                    file, inner);
	}
	/* Under TCG, QEMU's default CPU model: -cpu max would be slower to
	 * emulate. */
	const char *cpu = cfg->accel == KDH_ACCEL_KVM ? "  <cpu mode='host-passthrough'/>\n" : "";
	g_autofree char *disk = g_markup_printf_escaped("  <clock offset='utc'/>\n"
	                                                "  <on_poweroff>destroy</on_poweroff>\n"
	                                                "  <on_reboot>destroy</on_reboot>\n"
	                                                "  <on_crash>destroy</on_crash>\n"
	                                                "  <devices>\n"
	                                                "    <disk type='file' device='disk'>\n"
	                                                "      <driver name='qemu' type='qcow2'/>\n"
	                                                "      <source file='%s'/>\n      ",
	                                                cfg->disk);
	/* A remote host's file would be out of reach: its console is a pty
	 * that kdh reads through the connection (see console_open). */
	g_autofree char *serial =
	    cfg->remote ? g_strdup("    <serial type='pty'><target port='0'/></serial>\n"
	                           "    <console type='pty'><target type='serial' "
	                           "port='0'/></console>\n")
	                : g_markup_printf_escaped("    <serial type='file'>\n"
	                                          "      <source path='%s'/>\n"
	                                          "      <target port='0'/>\n"
	                                          "    </serial>\n",
	                                          cfg->serial_log);
	g_autofree char *tail =
	    g_strconcat("\n"
	                "      <target dev='vda' bus='virtio'/>\n"
	                "    </disk>\n",
	                serial,
	                "    <memballoon model='none'/>\n"
	                "  </devices>\n"
	                /* No domain <seclabel>: libvirt's default is the one we want,
	                 * dynamic DAC under qemu:///system (QEMU runs as qemu.conf's
	                 * user, the VM's own files are lent to it); qemu:///session has
	                 * no DAC driver to name (QEMU runs as the session's user). */
	                "</domain>\n",
	                NULL);

	return g_strconcat(head, cpu, disk, backing, tail, NULL);
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
		g_usleep(100 * G_TIME_SPAN_MILLISECOND);
	if (!socket_answers(socket_path)) {
		g_set_error(error, KDH_VM_ERROR, 0, "%s started but %s does not answer", daemon,
		            socket_path);
		return FALSE;
	}
	g_string_append_printf(started, "%s%s", started->len ? " and " : "", daemon);
	return TRUE;
}

char *kdh_libvirt_default_uri(void)
{
	const char *env = g_getenv("LIBVIRT_DEFAULT_URI");

	if (env && *env)
		return g_strdup(env);
	return g_strdup(geteuid() == 0 ? SYSTEM_URI : SESSION_URI);
}

gboolean kdh_libvirt_prepare(const char *uri, char **started, GError **error)
{
	g_autoptr(GString) done = g_string_new(NULL);
	virConnectPtr conn;

	/* A daemon that dies under a connection must give its writer EPIPE,
	 * not end kdh by SIGPIPE: the cases then get their verdicts. */
	signal(SIGPIPE, SIG_IGN);
	/* Before any thread uses libvirt: the runner starts VMs from several. */
	if (virInitialize() < 0) {
		g_set_error(error, KDH_VM_ERROR, 0, "libvirt does not initialise");
		return FALSE;
	}
	/* Other URIs: the session daemon is started by libvirt itself, on
	 * demand, and ends when idle; a remote host is its admin's business. */
	if (g_str_equal(uri, SYSTEM_URI) &&
	    (!start_daemon("virtlogd", "/run/libvirt/virtlogd-sock", done, error) ||
	     !start_daemon("libvirtd", "/run/libvirt/libvirt-sock", done, error)))
		return FALSE;
	/* One connection now, so a URI that cannot be reached is said once,
	 * before anything is built or started, not once per case. */
	virSetErrorFunc(NULL, libvirt_quiet);
	conn = virConnectOpen(uri);
	if (!conn) {
		g_autofree char *what = g_strdup_printf("connecting to %s", uri);
		return libvirt_error(error, what);
	}
	virConnectClose(conn);
	if (started)
		*started = done->len ? g_strdup(done->str) : NULL;
	return TRUE;
}

/* The most of a remote VM's console written into its serial log; the rest
 * is read and dropped (a guest flooding its console must not fill this
 * machine's disk, nor stall QEMU). */
#define CONSOLE_LOG_MAX ((guint64)1 << 30)

/* A remote VM's console: read through a libvirt stream on a connection of
 * its own (a blocking read there holds up no other call) and appended to
 * the serial log on this machine, which the watch reads as it would a
 * local VM's. */
typedef struct {
	virConnectPtr conn;
	virStreamPtr st;
	int fd;
	GThread *thread;
} Console;

struct KdhVm {
	virConnectPtr conn;
	virDomainPtr dom;
	char *uri;
	char *label; /* URI as messages show it (kdh_uri_label) */
	char *name;
	char *kernel; /* our copies: in the VM's folder, or volumes on a remote host */
	char *initrd;
	KdhRemote *remote; /* the remote host's storage, or NULL */
	Console console;   /* a remote VM's */
};

static gboolean write_all(int fd, const char *buf, gsize len)
{
	while (len) {
		gssize n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		buf += n;
		len -= (gsize)n;
	}
	return TRUE;
}

/* Until the console ends: at the domain's end (EOF) or when the connection
 * dies (an error). */
static gpointer console_pump(gpointer data)
{
	Console *c = data;
	guint64 written = 0;
	char buf[65536];
	int n;

	while ((n = virStreamRecv(c->st, buf, sizeof(buf))) > 0) {
		if (written < CONSOLE_LOG_MAX && write_all(c->fd, buf, (gsize)n))
			written += (guint64)n;
	}
	if (n == 0)
		virStreamFinish(c->st);
	else
		virStreamAbort(c->st);
	return NULL;
}

/* Connects VM's console (the domain is paused: nothing is missed) to
 * SERIAL_LOG. */
static gboolean console_open(KdhVm *vm, const char *serial_log, GError **error)
{
	Console *c = &vm->console;
	virDomainPtr dom;
	gboolean ok;

	c->fd = open(serial_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (c->fd < 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "creating %s: %s",
		            serial_log, g_strerror(saved));
		return FALSE;
	}
	c->conn = virConnectOpen(vm->uri);
	if (!c->conn)
		return libvirt_error(error, "connecting for the console");
	dom = virDomainLookupByName(c->conn, vm->name);
	c->st = virStreamNew(c->conn, 0);
	ok = dom && c->st && virDomainOpenConsole(dom, NULL, c->st, VIR_DOMAIN_CONSOLE_FORCE) == 0;
	if (dom)
		virDomainFree(dom);
	if (!ok)
		return libvirt_error(error, "opening the domain's console");
	c->thread = g_thread_new("kdh-console", console_pump, c);
	return TRUE;
}

/* After the domain's end: the console's last bytes are in the log. */
static void console_close(Console *c)
{
	if (c->thread)
		g_thread_join(c->thread);
	if (c->st)
		virStreamFree(c->st);
	if (c->conn)
		virConnectClose(c->conn);
	if (c->fd > 0)
		close(c->fd);
}

/* Removes FILE, a private copy of the kernel or initrd. */
static void drop_copy(KdhVm *vm, const char *file)
{
	if (!file)
		return;
	if (vm->remote)
		kdh_remote_delete(vm->remote, file, NULL);
	else
		g_unlink(file);
}

static void libvirt_destroy(KdhVm *vm)
{
	if (!vm)
		return;
	if (vm->dom) {
		/* Fails harmlessly when the domain has already ended. */
		virDomainDestroy(vm->dom);
		virDomainFree(vm->dom);
	}
	console_close(&vm->console);
	if (vm->conn)
		virConnectClose(vm->conn);
	drop_copy(vm, vm->kernel);
	drop_copy(vm, vm->initrd);
	g_free(vm->kernel);
	g_free(vm->initrd);
	g_free(vm->uri);
	g_free(vm->label);
	g_free(vm->name);
	g_free(vm);
}

/* A copy of FROM as DIR/NAME.  libvirt chowns the kernel and initrd it boots
 * to QEMU's user while the VM runs (there is no relabel='no' for them): the
 * cache's files, shared with other runs, must never be handed over, or
 * another VM's QEMU could write a kernel every later case boots.  GLib
 * clones the file where the file system can (reflink), else copies it. */
static char *private_copy(const char *from, const char *dir, const char *name, GError **error)
{
	g_autofree char *to = g_build_filename(dir, name, NULL);
	g_autoptr(GFile) src = g_file_new_for_path(from);
	g_autoptr(GFile) dst = g_file_new_for_path(to);

	if (!g_file_copy(src, dst, G_FILE_COPY_NONE, NULL, NULL, NULL, error)) {
		g_prefix_error(error, "copying %s into the VM's folder: ", from);
		return NULL;
	}
	return g_steal_pointer(&to);
}

/* VM's own copy of the kernel or initrd FROM (WHAT: "vmlinuz" or
 * "initrd"): in its folder, or cloned on a remote host next to the cached
 * volume (nothing travels). */
static char *private_kernel_copy(const KdhVmConfig *cfg, const char *what, const char *from,
                                 GError **error)
{
	g_autofree char *name = NULL;

	if (!cfg->remote)
		return private_copy(from, cfg->dir, what, error);
	name = g_strdup_printf(KDH_REMOTE_CASE_PREFIX "%s.%s", cfg->name, what);
	return kdh_remote_clone(cfg->remote, from, name, error);
}

/* Why the files QEMU opens might be out of its reach, when QEMU is another
 * user; "" when nothing is found. */
static char *reach_hint(const KdhVmConfig *cfg)
{
	g_autofree char *why = NULL;

	if (!g_str_equal(cfg->uri, SYSTEM_URI))
		return g_strdup("");
	why = kdh_vm_unreachable(cfg->dir, FALSE);
	if (!why)
		why = kdh_vm_unreachable(cfg->disk_base, TRUE);
	if (!why && cfg->disk_base_backing)
		why = kdh_vm_unreachable(cfg->disk_base_backing, TRUE);
	if (!why)
		return g_strdup("");
	return g_strdup_printf(" (QEMU runs as libvirt's unprivileged user and %s: keep the "
	                       "cache where others can reach it, as root's default "
	                       "/var/cache/kdh is)",
	                       why);
}

static KdhVm *libvirt_start(const KdhVmConfig *cfg, GError **error)
{
	g_autofree char *xml = NULL, *hint = NULL;
	g_autoptr(GError) err = NULL;
	KdhVmConfig own = *cfg;
	KdhVm *vm = g_new0(KdhVm, 1);

	vm->uri = g_strdup(cfg->uri);
	vm->label = kdh_uri_label(cfg->uri);
	vm->name = g_strdup(cfg->name);
	vm->remote = cfg->remote;
	vm->console.fd = -1;
	if (!(vm->kernel = private_kernel_copy(cfg, "vmlinuz", cfg->kernel, error)) ||
	    !(vm->initrd = private_kernel_copy(cfg, "initrd", cfg->initrd, error))) {
		libvirt_destroy(vm);
		return NULL;
	}
	own.kernel = vm->kernel;
	own.initrd = vm->initrd;
	xml = kdh_vm_domain_xml(&own);
	if (cfg->xml_copy && !g_file_set_contents(cfg->xml_copy, xml, -1, error)) {
		libvirt_destroy(vm);
		return NULL;
	}
	virSetErrorFunc(NULL, libvirt_quiet);
	vm->conn = virConnectOpen(cfg->uri);
	if (!vm->conn) {
		/* The host is out of reach: the run sends it no more cases. */
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_CONNECTION_LOST,
		            "connecting to %s: %s", vm->label, virGetLastErrorMessage());
		libvirt_destroy(vm);
		return NULL;
	}
	/* AUTODESTROY ties the domain's life to this connection.  A remote
	 * guest starts paused until its console is connected: its first
	 * lines (the crashkernel reservation) are not lost. */
	vm->dom = virDomainCreateXML(vm->conn, xml,
	                             VIR_DOMAIN_START_AUTODESTROY |
	                                 (vm->remote ? VIR_DOMAIN_START_PAUSED : 0));
	if (!vm->dom) {
		libvirt_error(&err, "starting the domain");
		hint = reach_hint(cfg);
		g_set_error(error, KDH_VM_ERROR, 0, "%s%s", err->message, hint);
		libvirt_destroy(vm);
		return NULL;
	}
	if (vm->remote &&
	    (!console_open(vm, cfg->serial_log, error) ||
	     (virDomainResume(vm->dom) < 0 && !libvirt_error(error, "resuming the domain")))) {
		libvirt_destroy(vm);
		return NULL;
	}
	return vm;
}

/* ---- a VM whose libvirt connection was lost ---- */

/* The QEMU of domain NAME on this host, found by the "-name guest=NAME,"
 * libvirt gives it, or 0. */
static pid_t qemu_of(const char *name)
{
	g_autofree char *needle = g_strdup_printf("guest=%s,", name);
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	const char *entry;

	while (proc && (entry = g_dir_read_name(proc))) {
		g_autofree char *path = g_build_filename("/proc", entry, "cmdline", NULL);
		g_autofree char *cmdline = NULL;
		guint64 pid;
		gsize len;

		if (!g_ascii_string_to_unsigned(entry, 10, 2, G_MAXINT, &pid, NULL) ||
		    !g_file_get_contents(path, &cmdline, &len, NULL))
			continue;
		/* Arguments are NUL-separated: "guest=NAME,..." is one of them. */
		for (gsize at = 0; at < len; at += strlen(cmdline + at) + 1) {
			if (g_str_has_prefix(cmdline + at, needle))
				return (pid_t)pid;
		}
	}
	return 0;
}

/* Ends VM's domain after its connection died: AUTODESTROY fires only when
 * a living daemon sees the connection close, so nobody else will.  Through
 * a new connection when the daemon is back; else, on this host, by
 * killing its QEMU (the daemon, when it returns, finds it gone and forgets
 * the domain).  Returns what was done, for the case's verdict. */
static char *end_orphan(KdhVm *vm)
{
	virConnectPtr conn = virConnectOpen(vm->uri);
	pid_t pid;

	if (conn) {
		virDomainPtr dom = virDomainLookupByName(conn, vm->name);
		virErrorPtr err = dom ? NULL : virGetLastError();
		gboolean gone = err && err->code == VIR_ERR_NO_DOMAIN;
		gboolean done = dom && virDomainDestroy(dom) == 0;
		if (dom)
			virDomainFree(dom);
		virConnectClose(conn);
		if (done)
			return g_strdup("the domain was destroyed through a new connection");
		/* The daemon saw our connection close and destroyed it. */
		if (gone)
			return g_strdup("the host had already ended the domain");
	}
	if (kdh_uri_is_remote(vm->uri))
		return g_strdup_printf("its QEMU on the remote host may still run (domain %s)",
		                       vm->name);
	if (!(pid = qemu_of(vm->name)))
		return g_strdup("no QEMU of it was left running");
	if (kill(pid, SIGKILL) != 0)
		return g_strdup_printf("its QEMU (pid %d) could not be killed: %s", (int)pid,
		                       g_strerror(errno));
	/* Its parent is init, which reaps it; wait until it is gone. */
	for (int i = 0; i < 50 && qemu_of(vm->name) == pid; i++)
		g_usleep(100 * G_TIME_SPAN_MILLISECOND);
	return g_strdup_printf("kdh killed its QEMU (pid %d)", (int)pid);
}

static gboolean libvirt_running(KdhVm *vm, GError **error)
{
	int state = 0, reason = 0;

	if (virDomainGetState(vm->dom, &state, &reason, 0) < 0) {
		virErrorPtr err = virGetLastError();
		g_autofree char *said = NULL, *done = NULL;
		/* A transient domain that has ended is gone altogether. */
		if (err && err->code == VIR_ERR_NO_DOMAIN)
			return FALSE;
		/* Before virConnectIsAlive, which resets libvirt's last error. */
		said = g_strdup(virGetLastErrorMessage());
		if (virConnectIsAlive(vm->conn) == 1) {
			g_set_error(error, KDH_VM_ERROR, 0, "asking the domain's state: %s", said);
			return FALSE;
		}
		done = end_orphan(vm);
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_CONNECTION_LOST,
		            "libvirt connection lost (%s: %s); %s", vm->label, said, done);
		return FALSE;
	}
	return state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED;
}

const char *kdh_vm_event_name(KdhVmEvent event)
{
	static const char *const names[] = {
	    [KDH_VM_NMI] = "NMI",
	    [KDH_VM_SYSRQ_KEY] = "Alt+SysRq+C",
	    [KDH_VM_MCE] = "machine check",
	};
	return names[event];
}

/* Linux input key codes (VIR_KEYCODE_SET_LINUX): KEY_LEFTALT, KEY_SYSRQ,
 * KEY_C, pressed together as a person would. */
static unsigned int sysrq_c[] = {56, 99, 46};

/* A call on VM failed doing WHAT: libvirt's error, or
 * KDH_VM_ERROR_CONNECTION_LOST when the connection itself died (running()
 * then ends the VM and tells the rest). */
static gboolean call_failed(KdhVm *vm, GError **error, const char *what)
{
	g_autofree char *said = g_strdup(virGetLastErrorMessage());

	if (virConnectIsAlive(vm->conn) != 1) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_CONNECTION_LOST,
		            "libvirt connection lost (%s: %s) %s", vm->label, said, what);
		return FALSE;
	}
	g_set_error(error, KDH_VM_ERROR, 0, "%s: %s", what, said);
	return FALSE;
}

/* QEMU's HMP "mce cpu bank status mcg_status addr misc": bank 1, a fatal
 * uncorrected error with the processor context corrupt, MCG_STATUS zero
 * (no restart IP valid), which the kernel cannot survive (measured on
 * 6.1: "Kernel panic - not syncing: Fatal local machine check"). */
#define MCE_COMMAND   "mce 0 1 0xbe00000000800400 0 0 0"
#define MCE_REPLY_MAX 256

static gboolean inject_mce(KdhVm *vm, GError **error)
{
	char *reply = NULL;
	g_autofree char *text = NULL;

	if (virDomainQemuMonitorCommand(vm->dom, MCE_COMMAND, &reply,
	                                VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP) < 0)
		return call_failed(vm, error, "injecting a machine check");
	/* HMP answers nothing when the command worked, and its complaint
	 * ("MCE injection not supported", an unknown command) otherwise. */
	text = kdh_guest_text(reply, -1, MCE_REPLY_MAX);
	free(reply);
	g_strstrip(text);
	if (*text) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_UNSUPPORTED,
		            "QEMU cannot inject a machine check here: '%s'", text);
		return FALSE;
	}
	return TRUE;
}

static gboolean libvirt_inject(KdhVm *vm, KdhVmEvent event, GError **error)
{
	switch (event) {
	case KDH_VM_NMI:
		if (virDomainInjectNMI(vm->dom, 0) < 0)
			return call_failed(vm, error, "injecting an NMI");
		return TRUE;
	case KDH_VM_SYSRQ_KEY:
		if (virDomainSendKey(vm->dom, VIR_KEYCODE_SET_LINUX, 0, sysrq_c,
		                     G_N_ELEMENTS(sysrq_c), 0) < 0)
			return call_failed(vm, error, "sending Alt+SysRq+C");
		return TRUE;
	case KDH_VM_MCE:
		return inject_mce(vm, error);
	}
	g_assert_not_reached();
}

const KdhVmBackend kdh_vm_libvirt = {
    .name = "libvirt",
    .start = libvirt_start,
    .running = libvirt_running,
    .inject = libvirt_inject,
    .destroy = libvirt_destroy,
};
