/* The host failing under kdh, each fault done to it from outside and each
 * outcome checked from outside: libvirtd stopped before a run, a libvirt
 * URI that cannot be reached, libvirtd killed with cases running, the
 * libguestfs launch failing, the results disk full, a cache entry damaged,
 * two runs building one cache entry at once.  The host's fault is ERROR
 * (exit 3), never FAIL or PASS; nothing is left running (libvirt's domain
 * list, /proc) or in /tmp; every case has its verdict.json. */
#include <check.h>
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest/guest.h"
#include "kernel/kernel.h"
#include "report_sample.h"
#include "support.h"
#include "util/util.h"

#define LIBVIRT_SOCK  "/run/libvirt/libvirt-sock"
#define VIRTLOGD_SOCK "/run/libvirt/virtlogd-sock"
#define SMOKE         "scenarios/smoke-sysrq.ini"

static char *results;

static gboolean answers(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	gboolean ok;

	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Runs ARGV (its program in PATH or /usr/sbin) to its end.  By
 * g_spawn_sync, which waits with waitpid: this also runs in the suite's
 * fixture, in Check's runner process, where GSubprocess (kdh_run) would
 * start GLib's worker thread; every test forked after it would then wait
 * for a child's exit that thread, absent from the fork, never reports. */
static void run_here(const char *const *argv)
{
	g_autofree char *program = g_find_program_in_path(argv[0]);
	g_autofree char *sbin = g_build_filename("/usr/sbin", argv[0], NULL);
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	int status = -1;

	g_ptr_array_add(args, program ? program : sbin);
	for (guint i = 1; argv[i]; i++)
		g_ptr_array_add(args, (gpointer)argv[i]);
	g_ptr_array_add(args, NULL);
	ck_assert_msg(g_spawn_sync(NULL, (char **)args->pdata, NULL,
	                           G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
	                           NULL, NULL, NULL, &status, &error),
	              "%s: %s", argv[0], error ? error->message : "");
	ck_assert_msg(g_spawn_check_wait_status(status, NULL), "%s failed", argv[0]);
}

/* Starts DAEMON as kdh does when SOCK does not answer, and waits for it. */
static void start_daemon(const char *daemon, const char *sock)
{
	const char *argv[] = {daemon, "-d", NULL};

	if (answers(sock))
		return;
	run_here(argv);
	for (int i = 0; i < 100 && !answers(sock); i++)
		g_usleep(G_USEC_PER_SEC / 10);
	ck_assert_msg(answers(sock), "%s does not answer", daemon);
}

/* The daemons as the other suites expect them: running. */
static void restore_daemons(void)
{
	start_daemon("virtlogd", VIRTLOGD_SOCK);
	start_daemon("libvirtd", LIBVIRT_SOCK);
}

/* The pid in PIDFILE (libvirt writes its daemons' there). */
static GPid pid_from(const char *pidfile)
{
	g_autofree char *text = NULL;
	guint64 pid = 0;

	ck_assert_msg(g_file_get_contents(pidfile, &text, NULL, NULL), "no %s", pidfile);
	ck_assert(g_ascii_string_to_unsigned(g_strstrip(text), 10, 2, G_MAXINT, &pid, NULL));
	return (GPid)pid;
}

/* Sends SIG to the daemon of PIDFILE and waits until it is gone. */
static void stop_daemon(const char *pidfile, int sig)
{
	GPid pid = pid_from(pidfile);
	g_autofree char *proc = g_strdup_printf("/proc/%d", (int)pid);

	ck_assert_int_eq(kill(pid, sig), 0);
	for (int i = 0; i < 200 && g_file_test(proc, G_FILE_TEST_EXISTS); i++)
		g_usleep(G_USEC_PER_SEC / 20);
	ck_assert_msg(!g_file_test(proc, G_FILE_TEST_EXISTS), "%s did not end", pidfile);
}

/* The names in /tmp that libguestfs makes for a handle. */
static char *tmp_guestfs(void)
{
	g_autoptr(GDir) d = g_dir_open("/tmp", 0, NULL);
	g_autoptr(GString) s = g_string_new(NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		if (g_str_has_prefix(name, "libguestfs") || g_str_has_prefix(name, "guestfs"))
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, kdh_strcmp_sort);
	for (guint i = 0; i < names->len; i++)
		g_string_append_printf(s, "%s ", (char *)g_ptr_array_index(names, i));
	return g_strdup(s->str);
}

/* A test that fails ends in Check's child at once, without its checked
 * teardown: what must not outlive a failure (a stopped libvirtd, a mounted
 * tmpfs, the temporary folders) is undone by the unchecked teardown, in the
 * parent, from what it can find itself. */
static char *parent;

static void suite_setup(void)
{
	parent = g_dir_make_tmp("kdh-hostfaults-XXXXXX", NULL);
	ck_assert_ptr_nonnull(parent);
	/* QEMU, not root, must reach a cache kept here (README, Cache). */
	ck_assert_int_eq(g_chmod(parent, 0755), 0);
}

static void suite_teardown(void)
{
	g_autofree char *mounts = NULL;
	g_auto(GStrv) lines = NULL;

	if (g_file_get_contents("/proc/mounts", &mounts, NULL, NULL))
		lines = g_strsplit(mounts, "\n", -1);
	for (guint i = 0; lines && lines[i]; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], " ", 3);
		if (g_strv_length(f) >= 2 && g_str_has_prefix(f[1], parent)) {
			const char *umount[] = {"umount", f[1], NULL};
			run_here(umount);
		}
	}
	restore_daemons();
	kdh_rm_rf(parent);
	g_clear_pointer(&parent, g_free);
}

static void setup(void)
{
	results = g_build_filename(parent, "t-XXXXXX", NULL);
	ck_assert_ptr_nonnull(g_mkdtemp_full(results, 0755));
}

static void teardown(void)
{
	kdh_rm_rf(results);
	g_clear_pointer(&results, g_free);
}

/* build/kdh with ARGS (NULL-terminated), ENV (NAME, VALUE, ..., NULL) on
 * top of ours, its output kept in RESULTS/NAME.out and .err; started, not
 * waited for. */
static GSubprocess *spawn_kdh(const char *name, const char *const *args, const char *const *env)
{
	g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autofree char *out = g_strdup_printf("%s/%s.out", results, name);
	g_autofree char *err = g_strdup_printf("%s/%s.err", results, name);
	const char *bin = g_getenv("KDH_BIN");
	g_autoptr(GError) error = NULL;
	GSubprocess *p;

	g_ptr_array_add(argv, (gpointer)(bin && *bin ? bin : "build/kdh"));
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (gpointer)*a);
	g_ptr_array_add(argv, NULL);
	for (const char *const *e = env; e && *e; e += 2)
		g_subprocess_launcher_setenv(l, e[0], e[1], TRUE);
	g_subprocess_launcher_set_stdout_file_path(l, out);
	g_subprocess_launcher_set_stderr_file_path(l, err);
	p = g_subprocess_launcher_spawnv(l, (const char *const *)argv->pdata, &error);
	ck_assert_msg(p, "%s", error ? error->message : "");
	return p;
}

static GPid pid_of(GSubprocess *p)
{
	guint64 pid = 0;

	ck_assert(g_ascii_string_to_unsigned(g_subprocess_get_identifier(p), 10, 1, G_MAXINT, &pid,
	                                     NULL));
	return (GPid)pid;
}

/* Waits for P; its exit status. */
static int wait_kdh(GSubprocess *p)
{
	ck_assert(g_subprocess_wait(p, NULL, NULL));
	return g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p)
	                                     : 128 + g_subprocess_get_term_sig(p);
}

/* What kdh run NAME wrote to standard output or error (EXT "out"/"err"). */
static char *output_of(const char *name, const char *ext)
{
	g_autofree char *file = g_strdup_printf("%s.%s", name, ext);

	return kdh_test_read_file(results, file);
}

/* The reasons of case CASE_NAME in run folder RUN, joined. */
static char *reasons_of(const char *run, const char *case_name, const char *want)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *dir = g_build_filename(run, case_name, NULL);
	JsonObject *v = kdh_test_read_verdict(dir, parser);

	ck_assert_msg(g_str_equal(json_object_get_string_member(v, "verdict"), want),
	              "%s: %s, not %s: %s", case_name, json_object_get_string_member(v, "verdict"),
	              want, json_to_string(json_object_get_member(v, "reasons"), FALSE));
	return json_to_string(json_object_get_member(v, "reasons"), FALSE);
}

/* ---- libvirt ---- */

/* Both daemons stopped (under the VM lock the suite runs in): kdh starts
 * them, says so, and the case passes. */
START_TEST(stopped_libvirtd_is_started_and_the_case_passes)
{
	g_autofree char *out_dir = g_build_filename(results, "r", NULL);
	const char *args[] = {"run", "--results", out_dir, SMOKE, NULL};
	g_autoptr(GSubprocess) p = NULL;
	g_autofree char *out = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	GPid pid;

	stop_daemon("/run/libvirtd.pid", SIGTERM);
	stop_daemon("/run/virtlogd.pid", SIGTERM);
	ck_assert(!answers(LIBVIRT_SOCK) && !answers(VIRTLOGD_SOCK));
	p = spawn_kdh("stopped", args, NULL);
	pid = pid_of(p);
	ck_assert_int_eq(wait_kdh(p), 0);
	out = output_of("stopped", "out");
	ck_assert_msg(strstr(out, "kdh: started virtlogd and libvirtd (they were not running)"),
	              "%s", out);
	kdh_test_assert_nothing_left(pid);
	kdh_test_assert_case(out_dir, "smoke-sysrq", "PASS", (const char *[]){NULL}, parser);
}
END_TEST

/* A URI nothing answers: refused with libvirt's own words before anything
 * is built or started; exit 3 (the host's state, not the user's input: the
 * same URI works once its daemon runs). */
START_TEST(unreachable_uri_is_an_error_before_anything_starts)
{
	g_autofree char *out_dir = g_build_filename(results, "r", NULL);
	const char *args[] = {
	    "run", "--results", out_dir, "--connect", "qemu+unix:///system?socket=/nonexistent",
	    SMOKE, NULL};
	g_autoptr(GSubprocess) p = spawn_kdh("unreachable", args, NULL);
	GPid pid = pid_of(p);
	g_autofree char *err = NULL, *left = NULL;

	ck_assert_int_eq(wait_kdh(p), 3);
	err = output_of("unreachable", "err");
	ck_assert_msg(strstr(err, "kdh run: connecting to qemu+unix:///system?socket=/nonexistent: "
	                          "Failed to connect socket to '/nonexistent'"),
	              "%s", err);
	kdh_test_assert_nothing_left(pid);
	/* Nothing started: no run folder. */
	left = kdh_test_list_dir(out_dir);
	ck_assert_str_eq(left, "");
}
END_TEST

/* The serial log of case CASE_NAME of the run in OUT_DIR says NEEDLE. */
static gboolean console_says(const char *out_dir, const char *case_name, const char *needle)
{
	g_autoptr(GDir) d = g_dir_open(out_dir, 0, NULL);
	const char *run;

	while (d && (run = g_dir_read_name(d))) {
		g_autofree char *log =
		    g_build_filename(out_dir, run, case_name, "serial.log", NULL);
		g_autofree char *text = NULL;
		if (g_file_get_contents(log, &text, NULL, NULL) && strstr(text, needle))
			return TRUE;
	}
	return FALSE;
}

/* libvirtd killed (as a crash would) while two cases run and the first
 * has crashed its guest: both are ERROR "libvirt connection lost" saying
 * where they were, their QEMUs do not outlive it (AUTODESTROY cannot fire
 * without the daemon: kdh ends them), the case not yet started still gets
 * its verdict (no host is left to run it), every report is written, exit 3. */
START_TEST(libvirtd_killed_mid_run)
{
	g_autofree char *out_dir = g_build_filename(results, "r", NULL);
	const char *args[] = {"run",
	                      "--jobs",
	                      "2",
	                      "--results",
	                      out_dir,
	                      SMOKE,
	                      "scenarios/nmi.ini",
	                      "scenarios/no-dump-tiny-crashkernel.ini",
	                      NULL};
	g_autoptr(GSubprocess) p = spawn_kdh("killed", args, NULL);
	GPid pid = pid_of(p);
	g_autofree char *run = NULL, *smoke = NULL, *nmi = NULL, *third = NULL, *cases = NULL;
	int i;

	for (i = 0; i < 3000; i++) {
		if (kdh_test_domains_of(pid) == 2 &&
		    console_says(out_dir, "smoke-sysrq", "KDH: trigger"))
			break;
		g_usleep(G_USEC_PER_SEC / 10);
	}
	if (i == 3000)
		g_subprocess_send_signal(p, SIGTERM); /* no kdh left behind a failure */
	ck_assert_msg(i < 3000, "the two cases never ran with the first crashed");
	stop_daemon("/run/libvirtd.pid", SIGKILL);
	ck_assert_int_eq(wait_kdh(p), 3);
	/* Before the daemon is back, which would tidy up after kdh. */
	ck_assert_msg(!kdh_test_qemu_of(pid), "a QEMU of kdh %d outlived libvirtd", (int)pid);
	restore_daemons();
	kdh_test_assert_nothing_left(pid);
	run = kdh_test_run_folder(out_dir);
	smoke = reasons_of(run, "smoke-sysrq", "ERROR");
	ck_assert_msg(g_str_has_prefix(smoke, "[\"libvirt connection lost (qemu:///system: ") &&
	                  !strstr(smoke, "no error") &&
	                  strstr(smoke, "kdh killed its QEMU (pid ") &&
	                  strstr(smoke, "the guest's last marker '"),
	              "%s", smoke);
	g_print("smoke-sysrq: %s\n", smoke);
	nmi = reasons_of(run, "nmi", "ERROR");
	/* One reason, the lost connection (its NMI, if due, failed with it). */
	ck_assert_msg(g_str_has_prefix(nmi, "[\"libvirt connection lost (") && !strstr(nmi, "\","),
	              "%s", nmi);
	/* Its turn came once the daemon was gone: the host whose connection
	 * died takes no more cases, and says so. */
	third = reasons_of(run, "no-dump-tiny-crashkernel", "ERROR");
	g_print("nmi: %s\nno-dump-tiny-crashkernel: %s\n", nmi, third);
	ck_assert_msg(strstr(third, "no host is left to run it: qemu:///system was lost"), "%s",
	              third);
	cases = kdh_test_read_file(run, "results.json");
	ck_assert_msg(strstr(cases, "no-dump-tiny-crashkernel") && strstr(cases, "\"nmi\""), "%s",
	              cases);
}
END_TEST

/* ---- libguestfs and the results disk ---- */

/* The appliance's hypervisor fails to start (libguestfs honours
 * LIBGUESTFS_HV): ERROR "retrieving ...: <libguestfs's words>", the
 * guest's disk kept in the case folder with the dump still in it, nothing
 * of libguestfs left in /tmp. */
START_TEST(libguestfs_launch_failure_keeps_the_disk)
{
	g_autofree char *out_dir = g_build_filename(results, "r", NULL);
	g_autofree char *hv = g_build_filename(results, "broken-qemu", NULL);
	const char *args[] = {"run", "--results", out_dir, SMOKE, NULL};
	const char *env[] = {"LIBGUESTFS_HV", hv, NULL};
	g_autofree char *before = tmp_guestfs(), *after = NULL, *run = NULL, *why = NULL;
	g_autofree char *disk = NULL, *dest = g_build_filename(results, "later", NULL);
	g_autoptr(GSubprocess) p = NULL;
	g_autoptr(KdhCrashFiles) files = NULL;
	g_autoptr(GError) error = NULL;
	GPid pid;

	ck_assert(g_file_set_contents(hv, "#!/bin/sh\necho 'no hypervisor today' >&2\nexit 1\n", -1,
	                              NULL));
	ck_assert_int_eq(g_chmod(hv, 0755), 0);
	p = spawn_kdh("noguestfs", args, env);
	pid = pid_of(p);
	ck_assert_int_eq(wait_kdh(p), 3);
	kdh_test_assert_nothing_left(pid);
	run = kdh_test_run_folder(out_dir);
	why = reasons_of(run, "smoke-sysrq", "ERROR");
	ck_assert_msg(strstr(why, "retrieving the dump from the guest's disk: ") &&
	                  strstr(why, "the guest's disk is kept as "),
	              "%s", why);
	g_print("smoke-sysrq: %s\n", why);
	after = tmp_guestfs();
	ck_assert_str_eq(after, before);
	/* The dump was not lost: read from the kept disk with a working
	 * libguestfs. */
	disk = g_build_filename(run, "smoke-sysrq", "disk.qcow2", NULL);
	ck_assert(g_file_test(disk, G_FILE_TEST_IS_REGULAR));
	g_mkdir(dest, 0755);
	files = kdh_guest_fetch_crash(disk, dest, NULL, TRUE, &error);
	ck_assert_msg(files, "%s", error ? error->message : "");
	ck_assert_msg(has(files->files, "vmcore"), "%s", joined(files->files));
}
END_TEST

/* The results folder on a tmpfs too small for the dump: ERROR naming the
 * file, its size and the room there is, nothing copied (kdh checks the
 * free space before each copy; a disk that fills during one still has its
 * partial file removed), verdict.json and the reports still written. */
START_TEST(full_results_disk_is_an_error_without_half_a_dump)
{
	g_autofree char *out_dir = g_build_filename(results, "small", NULL);
	const char *mount[] = {"mount",         "-t",    "tmpfs", "-o", "size=6m",
	                       "kdh-test-full", out_dir, NULL};
	const char *args[] = {"run", "--results", out_dir, SMOKE, NULL};
	g_autoptr(GSubprocess) p = NULL;
	g_autofree char *run = NULL, *why = NULL, *dir = NULL, *listing = NULL, *report = NULL;
	GPid pid;

	g_mkdir(out_dir, 0755);
	ck_assert(kdh_run(mount, NULL, NULL, NULL));
	p = spawn_kdh("full", args, NULL);
	pid = pid_of(p);
	ck_assert_int_eq(wait_kdh(p), 3);
	kdh_test_assert_nothing_left(pid);
	run = kdh_test_run_folder(out_dir);
	why = reasons_of(run, "smoke-sysrq", "ERROR");
	/* The first reason decides: the file, its size, the room there is. */
	g_autofree char *first = g_strdup(why);
	if (strstr(first, "\",\""))
		*strstr(first, "\",\"") = '\0';
	ck_assert_msg(g_str_has_prefix(first, "[\"retrieving the dump from the guest's disk: "
	                                      "copying vmcore (") &&
	                  strstr(first, " would leave less than 64.0 MiB free there (") &&
	                  g_str_has_suffix(first, " free): not copied"),
	              "%s", why);
	g_print("smoke-sysrq: %s\n", why);
	dir = g_build_filename(run, "smoke-sysrq", NULL);
	listing = kdh_test_list_dir(dir);
	ck_assert_msg(!strstr(listing, "vmcore ") && !g_str_has_suffix(listing, "vmcore") &&
	                  !strstr(listing, "disk.qcow2"),
	              "left in the case folder: %s", listing);
	report = kdh_test_read_file(run, "results.json");
	ck_assert_ptr_nonnull(strstr(report, "smoke-sysrq"));
	const char *umount[] = {"umount", out_dir, NULL};
	ck_assert(kdh_run(umount, NULL, NULL, NULL));
}
END_TEST

/* ---- the cache ---- */

/* Names created in the folder watched by inotify descriptor FD that start
 * with PREFIX. */
static guint created(int fd, const char *prefix)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len;
	guint n = 0;

	while ((len = read(fd, buf, sizeof(buf))) > 0) {
		for (char *at = buf; at < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)at;
			if ((ev->mask & IN_CREATE) && ev->len && g_str_has_prefix(ev->name, prefix))
				n++;
			at += sizeof(*ev) + ev->len;
		}
	}
	return n;
}

/* Two kdh processes import the same kernel into one fresh cache at once:
 * both succeed with the same entry, which was made once (one temporary
 * folder ever created, seen by inotify: the second waited on the entry's
 * lock and took the first's), with its manifest and no leftovers. */
START_TEST(two_runs_build_one_entry_once)
{
	g_autofree char *cache = g_build_filename(results, "cache", NULL);
	g_autofree char *kernels = g_build_filename(cache, "kernels", NULL);
	g_autofree char *out1 = NULL, *out2 = NULL, *listing = NULL;
	g_autoptr(KdhKernel) k = kdh_kernel_resolve("debian:default", KDH_SYSTEM_CACHE_DIR, NULL);
	const char *env[] = {"KDH_CACHE_DIR", cache, NULL};
	g_autoptr(GSubprocess) p1 = NULL, p2 = NULL;
	int fd;

	/* The Debian kernel the other suites use, imported as a folder. */
	ck_assert_ptr_nonnull(k);
	const char *args[] = {"kernel", "import", k->root, NULL};
	ck_assert_int_eq(g_mkdir_with_parents(kernels, 0755), 0);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ck_assert_int_ge(inotify_add_watch(fd, kernels, IN_CREATE), 0);
	p1 = spawn_kdh("import1", args, env);
	p2 = spawn_kdh("import2", args, env);
	ck_assert_int_eq(wait_kdh(p1), 0);
	ck_assert_int_eq(wait_kdh(p2), 0);
	ck_assert_uint_eq(created(fd, ".tmp-"), 1);
	close(fd);
	out1 = output_of("import1", "out");
	out2 = output_of("import2", "out");
	ck_assert_str_eq(out1, out2);
	/* One entry, its manifest and lock; no temporary folder left. */
	listing = kdh_test_list_dir(kernels);
	g_auto(GStrv) names = g_strsplit(listing, " ", -1);
	ck_assert_uint_eq(g_strv_length(names), 3);
	ck_assert_msg(g_str_has_prefix(names[0], ".lock-import-") &&
	                  g_str_has_prefix(names[1], ".manifest-import-") &&
	                  g_str_has_prefix(names[2], "import-"),
	              "%s", listing);
}
END_TEST

/* The first file below DIR whose name starts with PREFIX (depth-first). */
static char *find_file(const char *dir, const char *prefix)
{
	g_autoptr(GPtrArray) names = kdh_dir_names_sorted(dir, NULL);

	for (guint i = 0; names && i < names->len; i++) {
		g_autofree char *path = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
		char *found;
		if (g_str_has_prefix(g_ptr_array_index(names, i), prefix) &&
		    g_file_test(path, G_FILE_TEST_IS_REGULAR))
			return g_steal_pointer(&path);
		if (g_file_test(path, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(path, G_FILE_TEST_IS_SYMLINK) && (found = find_file(path, prefix)))
			return found;
	}
	return NULL;
}

static goffset size_of(const char *path)
{
	GStatBuf st;

	ck_assert_int_eq(g_stat(path, &st), 0);
	return st.st_size;
}

/* Copies the system cache's ENTRY (below kernels/, disks/) into CACHE as
 * kdh would have published it: with its manifest. */
static void seed(const char *cache, const char *sub, const char *entry)
{
	g_autofree char *from = g_build_filename(KDH_SYSTEM_CACHE_DIR, sub, entry, NULL);
	g_autofree char *dir = g_build_filename(cache, sub, NULL);
	g_autofree char *to = g_build_filename(dir, entry, NULL);
	g_autofree char *manifest = kdh_cache_manifest_path(dir, entry);
	const char *cp[] = {"cp", "-a", "--", from, to, NULL};
	g_autoptr(GError) error = NULL;

	ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
	ck_assert(kdh_run(cp, NULL, NULL, NULL));
	ck_assert_msg(kdh_cache_manifest_write(to, manifest, &error), "%s",
	              error ? error->message : "");
}

/* In a cache of its own: the kernel's vmlinuz, the mini image's initrd and
 * the base disk truncated between two runs.  The second run finds each
 * (saying what differs), makes it again, never boots the damaged one, and
 * passes; the entries are whole and match their manifests again. */
START_TEST(damaged_cache_entries_are_made_again)
{
	g_autofree char *cache = g_build_filename(results, "cache", NULL);
	g_autofree char *r1 = g_build_filename(results, "r1", NULL);
	g_autofree char *r2 = g_build_filename(results, "r2", NULL);
	g_autofree char *kernels = g_build_filename(cache, "kernels", NULL);
	g_autofree char *images = g_build_filename(cache, "images", NULL);
	g_autofree char *base = g_build_filename(cache, "disks", "base-ext4-v1.qcow2", NULL);
	g_autofree char *vmlinuz = NULL, *initrd = NULL, *out = NULL, *entry = NULL;
	g_autoptr(KdhKernel) k = kdh_kernel_resolve("debian:default", KDH_SYSTEM_CACHE_DIR, NULL);
	const char *args1[] = {"run",       "--accel", "tcg", "--cache", cache,
	                       "--results", r1,        SMOKE, NULL};
	const char *args2[] = {"run",       "--accel", "tcg", "--cache", cache,
	                       "--results", r2,        SMOKE, NULL};
	g_autoptr(JsonParser) p1 = json_parser_new(), p2 = json_parser_new();
	g_autoptr(GSubprocess) first = NULL, second = NULL;
	goffset sizes[3];
	const char *paths[3];
	GPid pid;

	ck_assert_ptr_nonnull(k);
	seed(cache, "kernels", k->id);
	seed(cache, "disks", "base-ext4-v1.qcow2");
	first = spawn_kdh("first", args1, NULL);
	if (wait_kdh(first) != 0) {
		g_autofree char *o = output_of("first", "out"), *e = output_of("first", "err");
		ck_abort_msg("the first run failed: %s %s", o, e);
	}
	kdh_test_assert_case(r1, "smoke-sysrq", "PASS", (const char *[]){NULL}, p1);

	entry = g_build_filename(kernels, k->id, NULL);
	vmlinuz = find_file(entry, "vmlinuz");
	initrd = find_file(images, "initrd");
	ck_assert(vmlinuz && initrd);
	paths[0] = vmlinuz, paths[1] = initrd, paths[2] = base;
	for (guint i = 0; i < 3; i++) {
		sizes[i] = size_of(paths[i]);
		ck_assert_int_eq(truncate(paths[i], sizes[i] / 2), 0);
	}
	second = spawn_kdh("second", args2, NULL);
	pid = pid_of(second);
	ck_assert_int_eq(wait_kdh(second), 0);
	kdh_test_assert_nothing_left(pid);
	kdh_test_assert_case(r2, "smoke-sysrq", "PASS", (const char *[]){NULL}, p2);
	out = output_of("second", "out");
	g_print("%s", out);
	for (guint i = 0; i < 3; i++) {
		g_autofree char *said = g_strdup_printf(
		    "%s: %" G_GOFFSET_FORMAT " bytes, the manifest says %" G_GOFFSET_FORMAT,
		    paths[i], sizes[i] / 2, sizes[i]);
		ck_assert_msg(strstr(out, said) && strstr(out, "made again"), "no '%s' in: %s",
		              said, out);
		ck_assert_int_eq(size_of(paths[i]), sizes[i]);
	}
	/* The three entries match their manifests again. */
	g_autofree char *mk = kdh_cache_manifest_path(kernels, k->id);
	g_autofree char *md =
	    g_build_filename(cache, "disks", ".manifest-base-ext4-v1.qcow2", NULL);
	ck_assert(kdh_cache_manifest_check(entry, mk, NULL));
	ck_assert(kdh_cache_manifest_check(base, md, NULL));
}
END_TEST

Suite *host_faults_suite(void);
Suite *host_faults_suite(void)
{
	Suite *s = suite_create("host_faults");
	TCase *tc = tcase_create("host_faults");
	TCase *slow = tcase_create("host_faults_slow");

	tcase_set_tags(tc, "e2e");
	tcase_set_timeout(tc, 900);
	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unreachable_uri_is_an_error_before_anything_starts);
	tcase_add_test(tc, libvirtd_killed_mid_run);
	tcase_add_test(tc, libguestfs_launch_failure_keeps_the_disk);
	tcase_add_test(tc, full_results_disk_is_an_error_without_half_a_dump);
	tcase_add_test(tc, two_runs_build_one_entry_once);
	suite_add_tcase(s, tc);
	/* Measured: the others 3 min in all; a whole passing case after the
	 * daemons' start 1.7 min; two runs and three rebuilds (an apt
	 * download, the image, the base disk) 3.1 min. */
	tcase_set_tags(slow, "e2e slow");
	tcase_set_timeout(slow, 1200);
	tcase_add_unchecked_fixture(slow, suite_setup, suite_teardown);
	tcase_add_checked_fixture(slow, setup, teardown);
	tcase_add_test(slow, stopped_libvirtd_is_started_and_the_case_passes);
	tcase_add_test(slow, damaged_cache_entries_are_made_again);
	suite_add_tcase(s, slow);
	return s;
}
