/* kdh VMs: a backend interface (libvirt, and a fake for unit tests), the
 * domain XML the libvirt backend defines, and the acceleration probe.
 *
 * Domains are transient and started with VIR_DOMAIN_START_AUTODESTROY: when
 * kdh exits for any reason, its libvirt connection closes and libvirt
 * destroys the domain, so no run leaves a domain or a qemu process behind. */
#ifndef KDH_VM_H
#define KDH_VM_H

#include <glib.h>

#define KDH_VM_ERROR (kdh_vm_error_quark())
GQuark kdh_vm_error_quark(void);

typedef enum {
	KDH_ACCEL_TCG,
	KDH_ACCEL_KVM,
} KdhAccel;

/* "tcg" or "kvm". */
const char *kdh_accel_name(KdhAccel accel);

/* Boots KERNEL without a root file system under ACCEL and returns TRUE when
 * it reaches its "cannot mount root" panic within TIMEOUT seconds.  Looking
 * at /dev/kvm is not enough: here it exists while KVM hangs or aborts in a
 * real boot (a boot sector alone runs fine).  *WHY says why when FALSE. */
gboolean kdh_accel_works(KdhAccel accel, const char *kernel, guint timeout, char **why);

/* KVM when kdh_accel_works says so for KERNEL, else TCG; *WHY (may be NULL)
 * tells why KVM was not chosen.  The answer is kept in CACHE_DIR (may be
 * NULL) until the host reboots, so only the first run pays for the probe. */
KdhAccel kdh_accel_probe(const char *kernel, const char *cache_dir, char **why);

typedef struct {
	const char *name;
	guint64 memory; /* bytes */
	guint cpus;
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *disk;       /* qcow2 */
	const char *serial_log; /* the serial console is written here */
	KdhAccel accel;
} KdhVmConfig;

/* The libvirt domain XML for CFG: direct kernel boot, ACPI (so poweroff ends
 * the domain), every lifecycle end destroys it, serial console to a file,
 * virtio disk, QEMU running as root (our files stay ours).  Caller frees. */
char *kdh_vm_domain_xml(const KdhVmConfig *cfg);

typedef struct KdhVm KdhVm;

typedef struct {
	const char *name;
	/* Starts a VM for CFG; NULL with an error when it cannot. */
	KdhVm *(*start)(const KdhVmConfig *cfg, GError **error);
	/* TRUE while the VM runs; FALSE once it has ended (error unset), or on
	 * failure to ask (error set). */
	gboolean (*running)(KdhVm *vm, GError **error);
	/* Injects an NMI, as a watchdog or a user at the console would. */
	gboolean (*inject_nmi)(KdhVm *vm, GError **error);
	/* Ends the VM if it still runs and frees VM; accepts NULL. */
	void (*destroy)(KdhVm *vm);
} KdhVmBackend;

extern const KdhVmBackend kdh_vm_libvirt;

/* Makes qemu:///system usable: starts virtlogd and libvirtd when they do not
 * answer (as root), waiting until they do.  *STARTED (may be NULL) receives
 * what was started, or NULL when both were already running. */
gboolean kdh_libvirt_ensure_daemons(char **started, GError **error);

#endif
