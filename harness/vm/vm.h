/* kdh VMs: a backend interface (libvirt, and a fake for unit tests), the
 * domain XML the libvirt backend defines, the acceleration probe, and where
 * the files a VM uses live.
 *
 * Domains are transient and started with VIR_DOMAIN_START_AUTODESTROY: when
 * kdh exits for any reason, its libvirt connection closes and libvirt
 * destroys the domain, so no run leaves a domain or a qemu process behind.
 *
 * kdh never asks for QEMU to run as root.  Under qemu:///system (root's
 * default) libvirt starts it as its unprivileged user (qemu.conf's user,
 * libvirt-qemu on Debian) and chowns, for the VM's lifetime only, the files
 * that are the VM's own: the copies of kernel and initrd and the overlay
 * disk, in the run's VM folder (KdhVmRunDir), which that user can reach.
 * libvirt remembers the owner and gives the files back when the domain
 * ends.  The shared base disk is marked relabel='no' and only read (it must
 * be readable by others); the serial log is created by virtlogd (root).
 * Under qemu:///session (kdh run by an ordinary user) QEMU runs as that
 * user and nothing changes hands. */
#ifndef KDH_VM_H
#define KDH_VM_H

#include <glib.h>

#define KDH_VM_ERROR (kdh_vm_error_quark())
GQuark kdh_vm_error_quark(void);

typedef enum {
	KDH_VM_ERROR_FAILED,
	/* The hypervisor cannot do what was asked (e.g. QEMU without machine
	 * check injection for this CPU model): not the kernel's fault, nor kdh's. */
	KDH_VM_ERROR_UNSUPPORTED,
	/* The connection to libvirt died under a running VM (the daemon was
	 * killed or restarted): the VM was ended by other means (see
	 * KdhVmBackend.running). */
	KDH_VM_ERROR_CONNECTION_LOST,
} KdhVmError;

/* What the host can do to a running guest, as hardware or a person at the
 * console would. */
typedef enum {
	KDH_VM_NMI,       /* an NMI, as a watchdog or the NMI button */
	KDH_VM_SYSRQ_KEY, /* Alt+SysRq+C pressed on the guest's keyboard */
	KDH_VM_MCE,       /* a fatal machine check on CPU 0 (status 0xbe00000000800400:
	                   * valid, uncorrected, enabled, processor context corrupt) */
} KdhVmEvent;

/* "NMI", "Alt+SysRq+C", "machine check". */
const char *kdh_vm_event_name(KdhVmEvent event);

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
	const char *uri; /* the libvirt connection, see kdh_libvirt_default_uri */
	const char *name;
	guint64 memory; /* bytes */
	guint cpus;
	const char *kernel; /* shared (a cache entry): the backend boots a copy */
	const char *initrd; /* likewise */
	const char *cmdline;
	const char *disk;      /* qcow2 overlay, this VM's own */
	const char *disk_base; /* its backing file: shared, only read */
	/* DISK_BASE's own backing file when it has one (a case's settings
	 * layer over a distro image), else NULL; shared, only read. */
	const char *disk_base_backing;
	const char *serial_log; /* the serial console is written here */
	const char *dir;        /* this VM's own folder (kdh_vm_dir_new): the
	                         * backend may put files there */
	KdhAccel accel;
} KdhVmConfig;

/* The libvirt domain XML for CFG: direct kernel boot, ACPI (so poweroff ends
 * the domain), every lifecycle end destroys it, serial console to a file,
 * virtio disk.  libvirt's DAC labelling is on (dynamic: QEMU runs as
 * qemu.conf's user and the VM's own files are chowned to it while it runs),
 * except for the base disk (relabel='no': shared with other VMs, only read).
 * Caller frees. */
char *kdh_vm_domain_xml(const KdhVmConfig *cfg);

typedef struct KdhVm KdhVm;

typedef struct {
	const char *name;
	/* Starts a VM for CFG; NULL with an error when it cannot. */
	KdhVm *(*start)(const KdhVmConfig *cfg, GError **error);
	/* TRUE while the VM runs; FALSE once it has ended (error unset), or on
	 * failure to ask (error set).  When the connection itself was lost
	 * (KDH_VM_ERROR_CONNECTION_LOST), the VM cannot outlive it silently:
	 * it is ended first, through a new connection or, on this host, by
	 * killing its QEMU, and the error says which. */
	gboolean (*running)(KdhVm *vm, GError **error);
	/* Does EVENT to the running VM; FALSE with an error (code
	 * KDH_VM_ERROR_UNSUPPORTED when the hypervisor cannot,
	 * KDH_VM_ERROR_CONNECTION_LOST when the connection died: RUNNING then
	 * ends the VM) otherwise. */
	gboolean (*inject)(KdhVm *vm, KdhVmEvent event, GError **error);
	/* Ends the VM if it still runs and frees VM; accepts NULL. */
	void (*destroy)(KdhVm *vm);
} KdhVmBackend;

extern const KdhVmBackend kdh_vm_libvirt;

/* The connection kdh uses unless told otherwise: $LIBVIRT_DEFAULT_URI, as
 * every libvirt client honours it, else qemu:///system for root and
 * qemu:///session for anyone else (libvirt starts that user's own daemon,
 * which ends by itself when idle).  Caller frees. */
char *kdh_libvirt_default_uri(void);

/* Makes URI usable, and libvirt ready for use from several threads (call
 * it before starting them).  For qemu:///system: starts virtlogd and
 * libvirtd when they do not answer (only root may), waiting until they do.
 * Then opens one connection to URI, whatever it is, so a URI that cannot
 * be reached fails here with libvirt's message.  SIGPIPE is ignored from
 * then on (libvirt writes to sockets whose daemon may die).  *STARTED (may be NULL)
 * receives what was started, or NULL when nothing was. */
gboolean kdh_libvirt_prepare(const char *uri, char **started, GError **error);

/* Where one kdh run keeps its VMs' own files (overlay disks, the copies of
 * kernel and initrd): a fresh folder in CACHE_DIR/vm, searchable by everyone
 * (0711: QEMU under qemu:///system is another user and must reach the
 * files; no one may list them), locked while the run holds it.  Folders
 * there that no run holds (left by a killed kdh) are removed first. */
typedef struct {
	char *path;
	int lock_fd;
} KdhVmRunDir;

KdhVmRunDir *kdh_vm_run_dir_new(const char *cache_dir, GError **error);
/* Removes the folder and everything in it; accepts NULL. */
void kdh_vm_run_dir_free(KdhVmRunDir *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhVmRunDir, kdh_vm_run_dir_free)

/* Creates PATH, one VM's own folder inside a KdhVmRunDir, mode 0711. */
gboolean kdh_vm_dir_new(const char *path, GError **error);

/* Why a user other than PATH's owner could not open PATH, or NULL when it
 * could: a folder on the way not searchable by others (PATH itself too when
 * it is a folder), or, with NEED_READ, PATH not readable by others.  libvirt
 * chowns a VM's files but never the folders above them, so this is what
 * makes QEMU fail under qemu:///system; a start that fails is explained with
 * it.  Group permissions are not considered.  Caller frees. */
char *kdh_vm_unreachable(const char *path, gboolean need_read);

/* ---- capacity: what this host can run at once ---- */

/* What a TCG guest costs beyond its RAM: QEMU itself and its translation
 * cache (measured: README "Running many cases"). */
#define KDH_QEMU_OVERHEAD ((guint64)320 << 20)
/* What one libguestfs appliance reading finished cases' disks takes. */
#define KDH_APPLIANCE_MEMORY ((guint64)1536 << 20)

typedef struct {
	guint cores;
	double load;           /* the 1-minute load average */
	guint64 mem_total;     /* bytes */
	guint64 mem_available; /* bytes: MemAvailable */
} KdhHostCapacity;

/* Reads this host's cores, load and memory. */
gboolean kdh_host_capacity(KdhHostCapacity *out, GError **error);

/* As kdh_host_capacity, from the texts of /proc/meminfo and /proc/loadavg
 * and a core count; FALSE when a text is not what the kernel writes. */
gboolean kdh_host_capacity_parse(const char *meminfo, const char *loadavg, guint cores,
                                 KdhHostCapacity *out);

/* What a guest of MEMORY bytes takes from the host while it runs. */
guint64 kdh_guest_footprint(guint64 memory);

/* The memory the guests of a run on HOST may take together: what is free
 * beside one libguestfs appliance, at least 1 byte (0 would mean "no
 * limit" to the runner). */
guint64 kdh_memory_budget(const KdhHostCapacity *host);

/* How many guests of FOOTPRINT bytes (kdh_guest_footprint) to run at once
 * on HOST: one per free core (cores minus the load average, at least
 * one), no more than kdh_memory_budget holds, and never less than one.  *WHY (may be NULL) says
 * how. */
guint kdh_jobs_choose(const KdhHostCapacity *host, guint64 footprint, char **why);

#endif
