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

/* A remote host's storage pool (remote.c and upload.c, below). */
typedef struct KdhRemote KdhRemote;

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
	/* The host's storage when the host is remote (kdh_remote_open): then
	 * KERNEL, INITRD and the disks are paths of volumes on the host, the
	 * backend boots its own clones of kernel and initrd there, and the
	 * console reaches SERIAL_LOG (on this machine) through a libvirt
	 * console stream.  NULL: every path is this machine's. */
	KdhRemote *remote;
	/* Where the domain XML the backend defined is written (for a look
	 * afterwards: which files QEMU opened), or NULL. */
	const char *xml_copy;
} KdhVmConfig;

/* The libvirt domain XML for CFG: direct kernel boot, ACPI (so poweroff ends
 * the domain), every lifecycle end destroys it, serial console to a file
 * (on a remote host: a pty, which kdh reads as a console stream), virtio
 * disk.  libvirt's DAC labelling is on (dynamic: QEMU runs as
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

/* ---- hosts: the libvirt connections a run spreads its cases over (hosts.c) ---- */

/* One host a run may use, as --connect or a hosts file line names it. */
typedef struct {
	char *uri;       /* the libvirt URI */
	guint jobs;      /* VMs at once there; 0: what the host allows */
	char *pool;      /* a storage pool of that host kdh uses as it is, or NULL */
	char *pool_path; /* the folder kdh makes its own pool in, or NULL (the default) */
	char *where;     /* "FILE:LINE" of a hosts file line, or NULL */
} KdhHostSpec;

void kdh_host_spec_free(KdhHostSpec *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhHostSpec, kdh_host_spec_free)

/* Parses a hosts file's TEXT (PATH names it in messages): one host a line,
 * "URI [jobs=N] [pool=NAME] [pool-path=/ABSOLUTE/FOLDER]" separated by
 * spaces or tabs, '#' at the start of a word starting a comment (a '#'
 * inside the URI is its own), blank lines ignored.  Strict: an unknown
 * key, a key twice, a number that is not 1..256, a relative pool-path,
 * pool and pool-path together, a URI GUri cannot parse, a URI twice (as
 * written), a line over 4096 bytes, text that is not UTF-8 or holds a
 * control character (a tab and a CR excepted), a file with no host: an
 * error (KDH_VM_ERROR) naming PATH:LINE ("no host": the last line).
 * Returns KdhHostSpec*, in file order. */
GPtrArray *kdh_hosts_parse(const char *text, const char *path, GError **error);

/* Reads and parses the hosts file PATH (at most 1 MiB; a NUL byte is an
 * error naming its line).  A file that cannot be read gives a G_FILE_ERROR
 * (G_FILE_ERROR_NOENT when it does not exist: a caller may then go on
 * without one), a wrong one KDH_VM_ERROR. */
GPtrArray *kdh_hosts_load(const char *path, GError **error);

/* $XDG_CONFIG_HOME/kdh/hosts (~/.config/kdh/hosts when that is unset or
 * relative), read at each call.  Caller frees. */
char *kdh_hosts_default_file(void);

/* Whether URI reaches a hypervisor through a network transport or on
 * another machine (a host part, or a "+ssh", "+tcp", "+tls", "+libssh"...
 * transport): its files must travel through libvirt's storage API, since
 * this machine's paths mean nothing there.  qemu:///system,
 * qemu:///session, qemu+unix:///system and test:///default are local;
 * qemu+ssh://root@127.0.0.1/system is remote.  A name GUri cannot parse
 * (a libvirt.conf alias may name any host) counts as remote. */
gboolean kdh_uri_is_remote(const char *uri);

/* URI as shown in reports and verdict.json: no password, no query (a
 * keyfile= or command= parameter says nothing about where a case ran), no
 * fragment; the user is kept, the scheme lowercased, escapes kept as
 * written.  Caller frees. */
char *kdh_uri_label(const char *uri);

/* A host's cores and memory asked through libvirt (virNodeGetInfo,
 * virNodeGetMemoryStats over all cells: available = free + buffers +
 * cached, at most the total); load 0, libvirt has no load average to give.
 * A driver without memory stats (VIR_ERR_NO_SUPPORT: libvirt's test
 * driver) gives virNodeGetInfo's memory and virNodeGetFreeMemory instead;
 * on a real host virNodeGetInfo's memory can be far from the total
 * (9529556 KiB against MemTotal's 24684092 on the machine this was written
 * on, libvirt 9.0), hence the stats first.
 * Opens and closes its own connection; errors name kdh_uri_label(URI). */
gboolean kdh_node_capacity(const char *uri, KdhHostCapacity *out, GError **error);

/* Where a run stands on one host, for kdh_place. */
typedef struct {
	const char *label;
	guint slots;    /* VMs at once */
	guint64 budget; /* memory its VMs may take together; 0: no limit */
	guint running;  /* VMs running there now */
	guint64 used;   /* their footprints */
	gboolean lost;  /* its connection died: nothing more goes there */
} KdhPlaceHost;

#define KDH_PLACE_WAIT  (-1) /* no host has room now; one will when VMs end */
#define KDH_PLACE_NEVER (-2) /* no host that is not lost can ever hold it */

/* The host of HOSTS (N) to start a VM of FOOTPRINT on now: among those not
 * lost with a free slot and the memory, the least busy (running/slots),
 * the first listed on a tie; KDH_PLACE_WAIT or KDH_PLACE_NEVER (N = 0, all
 * lost, or FOOTPRINT over every budget; a host of 0 slots holds nothing). */
int kdh_place(const KdhPlaceHost *hosts, guint n, guint64 footprint);

/* The host not lost whose budget is largest (the first on a tie; a budget
 * of 0, no limit, is larger than any), or -1 when all are lost: for the
 * caller's error, which names it and says what it holds. */
int kdh_place_largest(const KdhPlaceHost *hosts, guint n);

/* ---- a remote host's storage: files travel through libvirt (remote.c, upload.c) ---- */

/* One host's storage pool, reached through its own connection (declared
 * above KdhVmConfig).  Every function may be called from several threads
 * at once. */

/* Opens URI and its pool: POOL when named (it must exist and run), else
 * kdh's own dir pool at POOL_PATH (absolute; default /var/lib/libvirt/kdh),
 * named "kdh-" and the first 12 hex digits of the SHA-256 of POOL_PATH,
 * made transient with its folder (mode 0711) (nothing defined on the host;
 * a second run finds it running, and a host restarted since gets it made
 * again over the same folder, whose volumes are the cache). */
KdhRemote *kdh_remote_open(const char *uri, const char *pool, const char *pool_path,
                           GError **error);
void kdh_remote_free(KdhRemote *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhRemote, kdh_remote_free)

/* The pool's folder on the host. */
const char *kdh_remote_pool_path(const KdhRemote *r);

/* The volume name of a file whose content has SHA256 (64 hex digits) and
 * whose name is BASENAME: "kdh-<the first 32 digits>-<BASENAME>", BASENAME
 * cut to 64 bytes and every byte but [A-Za-z0-9._-] made '_'.  NULL when
 * SHA256 is not 64 lowercase hex digits. */
char *kdh_remote_volume_name(const char *sha256, const char *basename);

/* LOCAL on the host, uploaded once (sparse) and cached there by content:
 * returns the volume's path (mode 0644: QEMU's user reads it, never owns
 * it).  With BACKING (the path on the host of the volume LOCAL's backing
 * file became), LOCAL is a qcow2 whose backing reference is rewritten to
 * BACKING in a copy first (in $TMPDIR), so the host never follows a path
 * of this machine.  An upload cut short never counts as cached; one that
 * another kdh is making is waited for while it progresses; LOCAL changed
 * while it is read or sent is an error, and nothing is cached.  A file's hash
 * is remembered for the process (while its inode, size and times stay),
 * so asking again for a cached file reads nothing.  *UPLOADED (may be
 * NULL) gets the data bytes sent (holes are not sent; 0: cached). */
char *kdh_remote_upload(KdhRemote *r, const char *local, const char *backing, guint64 *uploaded,
                        GError **error);

/* A fresh qcow2 volume NAME (mode 0600) over the qcow2 volume at BACKING,
 * made on the host, as large as BACKING's virtual size; its path.  NAME
 * must not exist. */
char *kdh_remote_overlay(KdhRemote *r, const char *name, const char *backing, GError **error);

/* A copy of the volume at FROM as NAME (mode 0600), made on the host (no
 * transfer) in FROM's format as libvirt sees it; its path. */
char *kdh_remote_clone(KdhRemote *r, const char *from, const char *name, GError **error);

/* Downloads the volume at PATH into the new file LOCAL (it must not exist;
 * mode 0600; removed again on failure), holes kept as holes, its size
 * checked against the volume's; *BYTES (may be NULL) gets the data bytes
 * that travelled. */
gboolean kdh_remote_download(KdhRemote *r, const char *path, const char *local, guint64 *bytes,
                             GError **error);

/* Deletes the volume at PATH; TRUE when it is gone (or was). */
gboolean kdh_remote_delete(KdhRemote *r, const char *path, GError **error);

/* The name prefix of a case's own volumes: "case-<domain name>.<what>". */
#define KDH_REMOTE_CASE_PREFIX "case-"

/* Deletes the case volumes (KDH_REMOTE_CASE_PREFIX) whose domain no longer
 * exists on the host and that were last changed MIN_AGE seconds ago or
 * more (the host's mtime against this machine's clock): what a killed run
 * or a lost host left.  A domain name may hold '.', so a volume is kept
 * while a domain of any name it may hold ("case-a.b.disk": a, a.b) exists.
 * Returns how many. */
guint kdh_remote_sweep(KdhRemote *r, gint64 min_age);

/* Rewrites the backing reference of the qcow2 PATH to BACKING (a qcow2),
 * the data untouched (qemu-img rebase -u). */
gboolean kdh_qcow2_set_backing(const char *path, const char *backing, GError **error);

#endif
