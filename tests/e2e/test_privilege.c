/* End to end: who QEMU runs as, proven from outside while a real case runs.
 * Under qemu:///system (kdh as root) QEMU must be libvirt's unprivileged
 * user and nothing kdh keeps may stay lent to it; under qemu:///session (kdh
 * as an ordinary user, dropped to with setpriv) QEMU is that user, and the
 * cache and results are that user's. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "support.h"
#include "util/util.h"

/* The unprivileged user the session test runs kdh as (ci/setup-host.sh). */
#define TEST_USER "kdh-test"

/* The kdh under test, absolute: $KDH_BIN as for kdh_test_run, else
 * build/kdh. */
static char *kdh_bin(void)
{
	const char *bin = g_getenv("KDH_BIN");
	return g_canonicalize_filename(bin && *bin ? bin : "build/kdh", NULL);
}

/* Waits until kdh KDH_PID has a QEMU running and returns its pid; fails the
 * test when kdh ends first. */
static GPid wait_for_qemu(GPid kdh_pid)
{
	for (int i = 0; i < 6000; i++) {
		GPid q = kdh_test_qemu_of(kdh_pid);
		int status;

		if (q)
			return q;
		ck_assert_msg(waitpid(kdh_pid, &status, WNOHANG) == 0,
		              "kdh ended (status %d) before a QEMU ran", status);
		g_usleep(100 * 1000);
	}
	ck_abort_msg("no QEMU of kdh %d appeared", (int)kdh_pid);
	return 0;
}

/* The real, effective, saved and file-system uids of PID, from
 * /proc/PID/status ("Uid:\t0\t0\t0\t0"). */
static void uids_of(GPid pid, guint64 uids[4])
{
	g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "%s unreadable", path);
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) f = NULL;
		if (!g_str_has_prefix(*l, "Uid:"))
			continue;
		f = g_strsplit(*l + strlen("Uid:"), "\t", -1);
		ck_assert_msg(g_strv_length(f) == 5, "%s: odd line '%s'", path, *l);
		for (int i = 0; i < 4; i++)
			ck_assert_msg(g_ascii_string_to_unsigned(f[i + 1], 10, 0, G_MAXUINT32,
			                                         &uids[i], NULL),
			              "%s: odd line '%s'", path, *l);
		return;
	}
	ck_abort_msg("%s has no Uid: line", path);
}

static int exit_status(GPid pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- walking a tree for files that changed hands ---- */

static uid_t walk_uid;
static gboolean walk_want; /* TRUE: every file must be walk_uid's; FALSE: none may */
static const char *walk_skip;
static GString *walk_found;

static gboolean is_apt_user(uid_t uid)
{
	struct passwd pw, *found = NULL;
	char buf[1024];

	return getpwnam_r("_apt", &pw, buf, sizeof(buf), &found) == 0 && found &&
	       found->pw_uid == uid;
}

static int check_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char label[64];

	(void)flag;
	(void)ftw;
	if (walk_skip && g_str_has_prefix(path, walk_skip))
		return 0;
	/* apt's own download sandbox: apt-get update, resolving the Debian
	 * image's package versions in its scratch folder, hands lists/partial
	 * to the _apt user, as it does in /var/lib/apt.  Not libvirt's doing,
	 * and only ever that user's. */
	if (strstr(path, "/images/.apt-bookworm/lists/") && is_apt_user(st->st_uid))
		return 0;
	if ((st->st_uid == walk_uid) != walk_want)
		g_string_append_printf(walk_found, "%s (uid %u)\n", path, (unsigned)st->st_uid);
	/* libvirt's remembered owner, left when a label was not given back. */
	if (lgetxattr(path, "trusted.libvirt.security.dac", label, sizeof(label)) >= 0)
		g_string_append_printf(walk_found, "%s (still labelled by libvirt)\n", path);
	return 0;
}

/* The files below ROOT (not below SKIP, may be NULL) owned by UID when
 * OWNED_BY is FALSE, or not owned by UID when it is TRUE: "" when none. */
static char *files_breaking(const char *root, uid_t uid, gboolean owned_by, const char *skip)
{
	walk_uid = uid;
	walk_want = owned_by;
	walk_skip = skip;
	walk_found = g_string_new(NULL);
	ck_assert_msg(nftw(root, check_one, 32, FTW_PHYS) == 0, "walking %s: %s", root,
	              g_strerror(errno));
	return g_string_free(walk_found, FALSE);
}

/* ---- the verdict ---- */

/* Asserts RESULTS holds one run whose case smoke-sysrq PASSed. */
static void assert_smoke_passed(const char *results)
{
	g_autoptr(GDir) dir = g_dir_open(results, 0, NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;
	const char *run;

	ck_assert_ptr_nonnull(dir);
	run = g_dir_read_name(dir);
	ck_assert_ptr_nonnull(run);
	path = g_build_filename(results, run, "smoke-sysrq", "verdict.json", NULL);
	ck_assert_msg(json_parser_load_from_file(parser, path, &error), "%s: %s", path,
	              error ? error->message : "");
	ck_assert_str_eq(json_object_get_string_member(
	                     json_node_get_object(json_parser_get_root(parser)), "verdict"),
	                 "PASS");
}

/* The names in FOLDER, sorted, one per line ("" when it does not exist). */
static char *names_in(const char *folder)
{
	g_autoptr(GDir) dir = g_dir_open(folder, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	while (dir && (name = g_dir_read_name(dir)))
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
	g_ptr_array_add(names, NULL);
	return g_strjoinv("\n", (char **)names->pdata);
}

static char *tmp;

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-priv-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_free(tmp);
}

/* kdh as root: QEMU runs as libvirt's user, the case passes, and afterwards
 * nothing kdh keeps (results, cache) is owned by that user or still carries
 * libvirt's label; while it runs, the shared cache files stay root's. */
START_TEST(system_qemu_is_not_root)
{
	g_autofree char *results = g_build_filename(tmp, "results", NULL);
	g_autofree char *cache = NULL, *vm_root = NULL, *vm_skip = NULL, *vm_before = NULL;
	g_autofree char *vm_after = NULL, *lent = NULL, *left = NULL, *left_results = NULL;
	g_autofree char *bin = kdh_bin();
	const char *argv[] = {bin, "run", "--results", results, "scenarios/smoke-sysrq.ini", NULL};
	g_autoptr(GError) error = NULL;
	guint64 uids[4];
	GPid kdh, qemu;

	ck_assert_msg(geteuid() == 0, "this test runs kdh as root (qemu:///system): run as root");
	ck_assert_msg(!g_getenv("KDH_CACHE_DIR") && !g_getenv("LIBVIRT_DEFAULT_URI"),
	              "unset KDH_CACHE_DIR and LIBVIRT_DEFAULT_URI: the defaults are tested");
	cache = kdh_cache_dir(&error);
	ck_assert_msg(cache, "%s", error ? error->message : "");
	vm_root = g_build_filename(cache, "vm", NULL);
	vm_skip = g_strconcat(vm_root, "/", NULL);
	vm_before = names_in(vm_root);

	ck_assert(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
	                        &kdh, &error));
	qemu = wait_for_qemu(kdh);
	uids_of(qemu, uids);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(uids[i] != 0,
		              "QEMU %d runs with uid %" G_GUINT64_FORMAT " (field %d)", (int)qemu,
		              uids[i], i);
	ck_assert(uids[0] == uids[1] && uids[1] == uids[2] && uids[2] == uids[3]);
	/* Lent while QEMU runs: only the VM's own files in vm/, never a shared
	 * cache file (the base disk, kernels, images). */
	lent = files_breaking(cache, 0, TRUE, vm_skip);
	ck_assert_msg(!*lent, "shared cache files not root's while QEMU runs:\n%s", lent);

	ck_assert_int_eq(exit_status(kdh), 0);
	assert_smoke_passed(results);
	ck_assert_msg(!kdh_test_qemu_of(kdh), "a QEMU of kdh %d still runs", (int)kdh);
	left = files_breaking(cache, (uid_t)uids[0], FALSE, NULL);
	ck_assert_msg(!*left, "cache files left with QEMU's user:\n%s", left);
	left_results = files_breaking(results, (uid_t)uids[0], FALSE, NULL);
	ck_assert_msg(!*left_results, "results left with QEMU's user:\n%s", left_results);
	/* The run's VM folder went with it (others may have been pruned). */
	vm_after = names_in(vm_root);
	{
		g_auto(GStrv) before = g_strsplit(vm_before, "\n", -1);
		g_auto(GStrv) after = g_strsplit(vm_after, "\n", -1);
		for (char **a = after; *a; a++)
			ck_assert_msg(g_strv_contains((const char *const *)before, *a),
			              "%s/%s is left", vm_root, *a);
	}
}
END_TEST

/* A cache QEMU cannot reach (below a folder of mode 0700, as anything under
 * /root is) under qemu:///system: the case is an ERROR whose reason names
 * that folder, rather than QEMU's bare "Permission denied".  The kernels,
 * images and base disk are the default cache's, linked in, so nothing is
 * fetched or built again. */
START_TEST(closed_cache_is_named)
{
	g_autofree char *cache = g_build_filename(tmp, "cache", NULL);
	g_autofree char *results = g_build_filename(tmp, "results", NULL);
	g_autofree char *shared = NULL, *want = NULL, *reasons = NULL, *verdict_path = NULL;
	g_autofree char *bin = kdh_bin();
	const char *argv[] = {
	    bin, "run", "--results", results, "--cache", cache, "scenarios/smoke-sysrq.ini", NULL};
	const char *const linked[] = {"kernels", "images", "disks", NULL};
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) dir = NULL;
	JsonObject *v;
	GPid kdh;

	ck_assert_msg(geteuid() == 0, "this test runs kdh as root (qemu:///system): run as root");
	shared = kdh_cache_dir(&error);
	ck_assert_msg(shared, "%s", error ? error->message : "");
	ck_assert_int_eq(g_mkdir(cache, 0755), 0);
	for (const char *const *l = linked; *l; l++) {
		g_autofree char *from = g_build_filename(cache, *l, NULL);
		g_autofree char *to = g_build_filename(shared, *l, NULL);
		ck_assert_int_eq(symlink(to, from), 0);
	}
	ck_assert(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
	                        &kdh, &error));
	ck_assert_int_ne(exit_status(kdh), 0);

	dir = g_dir_open(results, 0, NULL);
	ck_assert_ptr_nonnull(dir);
	verdict_path =
	    g_build_filename(results, g_dir_read_name(dir), "smoke-sysrq", "verdict.json", NULL);
	ck_assert(json_parser_load_from_file(parser, verdict_path, &error));
	v = json_node_get_object(json_parser_get_root(parser));
	ck_assert_str_eq(json_object_get_string_member(v, "verdict"), "ERROR");
	reasons = json_to_string(json_object_get_member(v, "reasons"), FALSE);
	/* g_dir_make_tmp made TMP with mode 0700. */
	want = g_strdup_printf("folder %s (mode 0700) is not searchable by others", tmp);
	ck_assert_msg(strstr(reasons, want), "reasons: %s", reasons);
	ck_assert_msg(!kdh_test_qemu_of(kdh), "a QEMU of kdh %d still runs", (int)kdh);
}
END_TEST

/* ARGV prefixed with setpriv switching to USER (uid, gid, no other group). */
static GPtrArray *as_user(const struct passwd *user, const char *const *argv)
{
	GPtrArray *full = g_ptr_array_new_with_free_func(g_free);

	g_ptr_array_add(full, g_strdup("setpriv"));
	g_ptr_array_add(full, g_strdup_printf("--reuid=%u", (unsigned)user->pw_uid));
	g_ptr_array_add(full, g_strdup_printf("--regid=%u", (unsigned)user->pw_gid));
	g_ptr_array_add(full, g_strdup("--clear-groups"));
	g_ptr_array_add(full, g_strdup("--"));
	for (const char *const *a = argv; *a; a++)
		g_ptr_array_add(full, g_strdup(*a));
	g_ptr_array_add(full, NULL);
	return full;
}

/* Starts ARGV as USER in CWD with ENV only. */
static GPid spawn_as(const struct passwd *user, const char *const *argv, const char *const *env,
                     const char *cwd)
{
	g_autoptr(GPtrArray) full = as_user(user, argv);
	g_autoptr(GError) error = NULL;
	GPid pid;

	ck_assert_msg(g_spawn_async(cwd, (char **)full->pdata, (char **)env,
	                            G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH, NULL, NULL,
	                            &pid, &error),
	              "setpriv: %s", error ? error->message : "");
	return pid;
}

/* Runs ARGV as USER in CWD with ENV only and returns its standard output;
 * fails the test when it does not exit with status 0. */
static char *output_as(const struct passwd *user, const char *const *argv, const char *const *env,
                       const char *cwd)
{
	g_autoptr(GPtrArray) full = as_user(user, argv);
	g_autoptr(GError) error = NULL;
	char *out = NULL;
	int status;

	ck_assert_msg(g_spawn_sync(cwd, (char **)full->pdata, (char **)env, G_SPAWN_SEARCH_PATH,
	                           NULL, NULL, &out, NULL, &status, &error) &&
	                  g_spawn_check_wait_status(status, &error),
	              "%s: %s", argv[0], error ? error->message : "");
	return out;
}

/* Every libvirt daemon process of UID ends by itself when idle: the
 * session's libvirtd/virtqemud and virtlogd run with --timeout. */
static void assert_session_daemons_end_by_themselves(uid_t uid)
{
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	const char *name;

	while (proc && (name = g_dir_read_name(proc))) {
		g_autofree char *path = g_build_filename("/proc", name, "cmdline", NULL);
		g_autofree char *cmdline = NULL, *base = NULL;
		struct stat st;
		gsize len;

		if (!g_ascii_isdigit(name[0]) || !g_file_get_contents(path, &cmdline, &len, NULL) ||
		    len == 0 || stat(path, &st) != 0 || st.st_uid != uid)
			continue;
		base = g_path_get_basename(cmdline);
		if (!g_str_equal(base, "libvirtd") && !g_str_equal(base, "virtqemud") &&
		    !g_str_equal(base, "virtlogd"))
			continue;
		for (gsize i = 0; i + 1 < len; i++) {
			if (cmdline[i] == '\0')
				cmdline[i] = ' ';
		}
		ck_assert_msg(strstr(cmdline, "--timeout"), "%s of uid %u would not end: %s", base,
		              (unsigned)uid, cmdline);
	}
}

/* kdh as an ordinary user: qemu:///session, which libvirt starts for that
 * user; QEMU is that user, the case passes, cache and results are in that
 * user's folders and theirs, and no domain or QEMU is left. */
START_TEST(session_as_ordinary_user)
{
	struct passwd pw, *user = NULL;
	char pw_buf[4096];
	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *bin = kdh_bin();
	g_autofree char *scenario = g_build_filename(cwd, "scenarios", "smoke-sysrq.ini", NULL);
	g_autofree char *home = g_build_filename(tmp, "home", NULL);
	g_autofree char *runtime = g_build_filename(tmp, "run", NULL);
	g_autofree char *results = g_build_filename(tmp, "results", NULL);
	g_autofree char *kernels = NULL, *not_theirs = NULL, *domains = NULL, *prefix = NULL;
	g_autofree char *env_home = NULL, *env_runtime = NULL;
	guint64 uids[4];
	GPid kdh, qemu;

	ck_assert_msg(geteuid() == 0, "this test drops from root to " TEST_USER ": run as root");
	ck_assert_msg(getpwnam_r(TEST_USER, &pw, pw_buf, sizeof(pw_buf), &user) == 0 && user,
	              "no user " TEST_USER ": ci/setup-host.sh creates it");
	env_home = g_strconcat("HOME=", home, NULL);
	env_runtime = g_strconcat("XDG_RUNTIME_DIR=", runtime, NULL);
	/* Nothing of ours leaks in: the user's defaults decide. */
	const char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", env_home,
	                     env_runtime, "LC_ALL=C.UTF-8", NULL};
	const char *run_argv[] = {bin, "run", "--results", results, scenario, NULL};
	const char *virsh_argv[] = {"virsh", "-q",    "-c",     "qemu:///session",
	                            "list",  "--all", "--name", NULL};

	ck_assert_int_eq(g_mkdir(home, 0700), 0);
	ck_assert_int_eq(g_mkdir(runtime, 0700), 0);
	ck_assert_int_eq(chown(tmp, user->pw_uid, user->pw_gid), 0);
	ck_assert_int_eq(chown(home, user->pw_uid, user->pw_gid), 0);
	ck_assert_int_eq(chown(runtime, user->pw_uid, user->pw_gid), 0);

	kdh = spawn_as(user, run_argv, env, tmp);
	qemu = wait_for_qemu(kdh);
	uids_of(qemu, uids);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(uids[i] == user->pw_uid,
		              "QEMU %d runs with uid %" G_GUINT64_FORMAT ", not %u (field %d)",
		              (int)qemu, uids[i], (unsigned)user->pw_uid, i);
	ck_assert_int_eq(exit_status(kdh), 0);
	assert_smoke_passed(results);

	/* The cache is the user's own ($XDG_CACHE_HOME/kdh), and everything
	 * kdh made is theirs. */
	kernels = g_build_filename(home, ".cache", "kdh", "kernels", NULL);
	ck_assert_msg(g_file_test(kernels, G_FILE_TEST_IS_DIR), "no %s", kernels);
	not_theirs = files_breaking(tmp, user->pw_uid, TRUE, NULL);
	ck_assert_msg(!*not_theirs, "files not %s's:\n%s", TEST_USER, not_theirs);

	/* Nothing left: no QEMU, no domain, and the session's daemons end by
	 * themselves when idle. */
	ck_assert_msg(!kdh_test_qemu_of(kdh), "a QEMU of kdh %d still runs", (int)kdh);
	domains = output_as(user, virsh_argv, env, tmp);
	prefix = g_strdup_printf("kdh-%d-", (int)kdh);
	ck_assert_msg(!strstr(domains, prefix), "domains left: %s", domains);
	assert_session_daemons_end_by_themselves(user->pw_uid);
}
END_TEST

Suite *privilege_suite(void);
Suite *privilege_suite(void)
{
	Suite *s = suite_create("privilege");
	TCase *tc = tcase_create("privilege");
	TCase *session = tcase_create("session");

	tcase_set_tags(tc, "e2e");
	tcase_set_timeout(tc, 1200);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, system_qemu_is_not_root);
	tcase_add_test(tc, closed_cache_is_named);
	suite_add_tcase(s, tc);

	/* A first session run also fetches the kernel and builds the image
	 * and base disk for that user: in make check-full. */
	tcase_set_tags(session, "e2e slow");
	tcase_set_timeout(session, 1200);
	tcase_add_checked_fixture(session, setup, teardown);
	tcase_add_test(session, session_as_ordinary_user);
	suite_add_tcase(s, session);
	return s;
}
