/* End to end over two libvirt hosts, one of them reached the way a lab's
 * hypervisor is: qemu:///system beside qemu+ssh://root@127.0.0.1/system
 * through an sshd of the test's own (tests/support/sshd.c), whose cases'
 * files live in a storage pool in a folder of their own.  Four cases with
 * one job a host: each must PASS on its dump, both hosts must have run
 * cases, verdict.json must say where, and a remote case's VM must have
 * opened nothing but volumes of that pool (its domain.xml says what QEMU
 * opened): a path of this machine there would mean the "remote" host
 * worked only because it shares our file system.  A second run on the
 * remote host alone uploads nothing. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <utime.h>

#include "util/util.h"
#include "vm/vm.h"
#include "sshd.h"
#include "support.h"

static const char *const scenarios[] = {
    "scenarios/smoke-sysrq.ini",
    "scenarios/nmi.ini",
    "scenarios/trigger-sysrq-key.ini",
    "scenarios/module-bug.ini",
};
static const char *const names[] = {"smoke-sysrq", "nmi", "trigger-sysrq-key", "module-bug"};

static char *work;        /* results and the pool's folder */
static KdhTestSshd *sshd; /* the "remote" host's door */
static char *pool_path;
static char *hosts_file;

/* Writes the hosts file: this machine, and the loopback "remote" host
 * behind the test's sshd, one job each. */
static void write_hosts(void)
{
	g_autofree char *text = g_strdup_printf(
	    "# the test's two hosts\nqemu:///system jobs=1\n%s jobs=1 pool-path=%s\n",
	    kdh_test_sshd_uri(sshd), pool_path);

	ck_assert(g_file_set_contents(hosts_file, text, -1, NULL));
}

/* The suite's folder, made in Check's own process: a test that fails
 * ends its process at once (_exit), without its checked teardown, so what
 * must not outlive it (the pools over its folders, the folders, the sshd's
 * keys) lives here and goes in the unchecked teardown, from what that finds
 * itself (with g_spawn_sync: no GSubprocess in Check's process). */
static char *suite_dir;

/* Runs ARGV and returns its standard output (NULL when it failed). */
static char *run_here(const char *const *argv)
{
	char *out = NULL;
	int status = -1;

	if (!g_spawn_sync(NULL, (char **)argv, NULL,
	                  G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
	                  &status, NULL) ||
	    !g_spawn_check_wait_status(status, NULL))
		g_clear_pointer(&out, g_free);
	return out;
}

static void suite_setup(void)
{
	suite_dir = g_dir_make_tmp("kdh-hosts-XXXXXX", NULL);
	ck_assert_ptr_nonnull(suite_dir);
	/* QEMU runs as libvirt's user and must reach the pools below it. */
	ck_assert_int_eq(g_chmod(suite_dir, 0711), 0);
}

/* Destroys kdh's transient pools over a folder of the suite's (they go
 * from libvirt altogether), then the folder. */
static void suite_teardown(void)
{
	const char *list[] = {"virsh", "-q", "pool-list", "--name", NULL};
	g_autofree char *pools = run_here(list);
	g_auto(GStrv) lines = g_strsplit(pools ? pools : "", "\n", -1);

	for (guint i = 0; lines[i]; i++) {
		const char *name = g_strstrip(lines[i]);
		const char *dump[] = {"virsh", "-q", "pool-dumpxml", name, NULL};
		const char *destroy[] = {"virsh", "-q", "pool-destroy", name, NULL};
		g_autofree char *xml = *name ? run_here(dump) : NULL;
		g_autofree char *gone = NULL;
		if (xml && strstr(xml, suite_dir))
			gone = run_here(destroy);
	}
	kdh_rm_rf(suite_dir);
	g_clear_pointer(&suite_dir, g_free);
}

static void setup(void)
{
	g_autoptr(GError) error = NULL;

	work = g_build_filename(suite_dir, "test-XXXXXX", NULL);
	ck_assert_ptr_nonnull(g_mkdtemp_full(work, 0711));
	sshd = kdh_test_sshd_start(work, &error);
	ck_assert_msg(sshd, "starting the loopback sshd: %s", error ? error->message : "?");
	pool_path = g_build_filename(work, "pool", NULL);
	hosts_file = g_build_filename(work, "hosts", NULL);
	write_hosts();
}

static void teardown(void)
{
	kdh_test_sshd_stop(g_steal_pointer(&sshd));
	g_clear_pointer(&work, g_free);
	g_clear_pointer(&pool_path, g_free);
	g_clear_pointer(&hosts_file, g_free);
}

/* Every file the domain of DOMAIN_XML opens (kernel, initrd, disks and
 * their backing files, a file console) lies in the pool's folder, and its
 * console is a pty (read through the connection). */
static void assert_only_pool_files(const char *domain_xml)
{
	xmlDocPtr doc = xmlReadFile(domain_xml, NULL, XML_PARSE_NONET);
	xmlXPathContextPtr xp;
	xmlXPathObjectPtr files;
	g_autofree char *prefix = g_strconcat(pool_path, "/", NULL);

	ck_assert_msg(doc, "%s does not parse", domain_xml);
	xp = xmlXPathNewContext(doc);
	files = xmlXPathEvalExpression(
	    BAD_CAST "//os/kernel | //os/initrd | //source/@file | //source/@path", xp);
	ck_assert(files && files->nodesetval);
	/* kernel, initrd, the overlay, its base: at least four. */
	ck_assert_int_ge(files->nodesetval->nodeNr, 4);
	for (int i = 0; i < files->nodesetval->nodeNr; i++) {
		xmlChar *path = xmlNodeGetContent(files->nodesetval->nodeTab[i]);
		ck_assert_msg(g_str_has_prefix((const char *)path, prefix),
		              "%s: the remote VM opened %s, outside its pool %s", domain_xml,
		              (const char *)path, pool_path);
		xmlFree(path);
	}
	xmlXPathFreeObject(files);
	files = xmlXPathEvalExpression(BAD_CAST "//serial/@type", xp);
	ck_assert_int_eq(files->nodesetval->nodeNr, 1);
	{
		xmlChar *type = xmlNodeGetContent(files->nodesetval->nodeTab[0]);
		ck_assert_str_eq((const char *)type, "pty");
		xmlFree(type);
	}
	xmlXPathFreeObject(files);
	xmlXPathFreeContext(xp);
	xmlFreeDoc(doc);
}

/* Case NAME of the run in RESULTS passed on what was read from its dump;
 * returns the host its verdict names. */
static char *assert_passed_on_dump(const char *run, const char *name, gint64 *uploaded,
                                   gint64 *downloaded)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *dir = g_build_filename(run, name, NULL);
	JsonObject *v = kdh_test_read_verdict(dir, parser);
	JsonObject *dump = json_object_get_object_member(v, "dump");

	ck_assert_msg(g_str_equal(json_object_get_string_member(v, "verdict"), "PASS"),
	              "case %s: %s", name,
	              json_to_string(json_object_get_member(v, "reasons"), FALSE));
	ck_assert_str_eq(
	    json_object_get_string_member(dump, "osrelease"),
	    json_object_get_string_member(json_object_get_object_member(v, "kernel"), "release"));
	ck_assert_int_gt(json_object_get_int_member(dump, "pages_checked"), 1000);
	ck_assert_int_eq(json_object_get_int_member(dump, "pages_checked"),
	                 json_object_get_int_member(dump, "pages_dumped"));
	*uploaded = json_object_get_null_member(v, "uploaded_bytes")
	                ? -1
	                : json_object_get_int_member(v, "uploaded_bytes");
	*downloaded = json_object_get_null_member(v, "downloaded_bytes")
	                  ? -1
	                  : json_object_get_int_member(v, "downloaded_bytes");
	return g_strdup(json_object_get_string_member(v, "host"));
}

START_TEST(four_cases_over_a_local_and_a_remote_host)
{
	g_autofree char *results = g_build_filename(work, "results", NULL);
	g_autofree char *run = NULL, *remote_label = NULL;
	const char *args[] = {"run",        "--results",  results,        "--hosts", hosts_file,
	                      "--accel",    "tcg",        "--keep-dumps", "never",   scenarios[0],
	                      scenarios[1], scenarios[2], scenarios[3],   NULL};
	guint local = 0, remote = 0, again_case = 0;
	GPid pid;

	ck_assert_int_eq(kdh_test_run(args, &pid), 0);
	kdh_test_assert_nothing_left(pid);
	run = kdh_test_run_folder(results);
	remote_label = kdh_uri_label(kdh_test_sshd_uri(sshd));
	ck_assert(g_str_has_prefix(remote_label, "qemu+ssh://root@127.0.0.1:"));
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		gint64 up, down;
		g_autofree char *host = assert_passed_on_dump(run, names[i], &up, &down);
		g_autofree char *dir = g_build_filename(run, names[i], NULL);
		g_autofree char *xml = g_build_filename(dir, "domain.xml", NULL);

		if (g_str_equal(host, "qemu:///system")) {
			local++;
			ck_assert_int_eq(up, -1);
			ck_assert_int_eq(down, -1);
			continue;
		}
		ck_assert_str_eq(host, remote_label);
		again_case = i;
		remote++;
		assert_only_pool_files(xml);
		/* The overlay came home: the dump's bytes travelled. */
		ck_assert_int_gt(down, 10 << 20);
		g_print("hosts_e2e: %s on %s: uploaded %" G_GINT64_FORMAT
		        " bytes, downloaded %" G_GINT64_FORMAT "\n",
		        names[i], host, up, down);
	}
	ck_assert_uint_ge(local, 1);
	ck_assert_uint_ge(remote, 1);

	/* On the remote host alone, two VMs at once: a case that ran there
	 * again and the others of the first run (its pool holds their
	 * kernel, initrd and base: nothing travels there), and every
	 * host-fired trigger (NMI,
	 * Alt+SysRq+C, a machine check through QEMU's monitor) over the
	 * connection. */
	{
		g_autofree char *again = g_build_filename(work, "again", NULL);
		g_autofree char *one_host = g_build_filename(work, "remote-only", NULL);
		g_autofree char *text =
		    g_strdup_printf("%s jobs=2 pool-path=%s\n", kdh_test_sshd_uri(sshd), pool_path);
		/* module-bug keeps the run's image the first run's (the crash
		 * module is in it when a case of the run needs it). */
		const char *host_fired[][2] = {{scenarios[1], names[1]},
		                               {scenarios[2], names[2]},
		                               {scenarios[3], names[3]},
		                               {"scenarios/trigger-mce.ini", "trigger-mce"}};
		g_autoptr(GPtrArray) args2 = g_ptr_array_new();
		g_autoptr(GPtrArray) cases2 = g_ptr_array_new();
		const char *head[] = {"run",     "--results", again,          "--hosts", one_host,
		                      "--accel", "tcg",       "--keep-dumps", "never"};
		g_autofree char *run2 = NULL;
		/* What a killed run or a lost host left two hours ago: its
		 * domain is gone, the next run deletes it.  (Made here through
		 * the folder: on loopback the test may, kdh never does.) */
		g_autofree char *orphan =
		    g_build_filename(pool_path, "case-kdh-1-000000000000-gone.disk.qcow2", NULL);
		struct utimbuf old = {.actime = time(NULL) - 7200, .modtime = time(NULL) - 7200};

		for (guint i = 0; i < G_N_ELEMENTS(head); i++)
			g_ptr_array_add(args2, (gpointer)head[i]);
		g_ptr_array_add(args2, (gpointer)scenarios[again_case]);
		g_ptr_array_add(cases2, (gpointer)names[again_case]);
		for (guint i = 0; i < G_N_ELEMENTS(host_fired); i++) {
			if (g_str_equal(host_fired[i][1], names[again_case]))
				continue;
			g_ptr_array_add(args2, (gpointer)host_fired[i][0]);
			g_ptr_array_add(cases2, (gpointer)host_fired[i][1]);
		}
		g_ptr_array_add(args2, NULL);
		ck_assert(g_file_set_contents(orphan, "left", -1, NULL));
		ck_assert_int_eq(utime(orphan, &old), 0);
		ck_assert(g_file_set_contents(one_host, text, -1, NULL));

		ck_assert_int_eq(kdh_test_run((const char *const *)args2->pdata, &pid), 0);
		ck_assert_msg(!g_file_test(orphan, G_FILE_TEST_EXISTS), "%s was not swept", orphan);
		kdh_test_assert_nothing_left(pid);
		run2 = kdh_test_run_folder(again);
		for (guint i = 0; i < cases2->len; i++) {
			gint64 up, down;
			g_autofree char *host =
			    assert_passed_on_dump(run2, g_ptr_array_index(cases2, i), &up, &down);
			ck_assert_str_eq(host, remote_label);
			ck_assert_int_gt(down, 10 << 20);
			ck_assert_int_eq(up, 0);
		}
	}
}
END_TEST

/* The names of the pool folder's entries that are case volumes. */
static GPtrArray *case_volumes(void)
{
	g_autoptr(GDir) dir = g_dir_open(pool_path, 0, NULL);
	GPtrArray *found = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	while (dir && (name = g_dir_read_name(dir)))
		if (g_str_has_prefix(name, "case-"))
			g_ptr_array_add(found, g_build_filename(pool_path, name, NULL));
	return found;
}

/* Starts kdh run with ARGS, reads its output; once a case has entered
 * "upload" (only a remote case does) and then "crash" (its guest booted
 * and armed), the remote host goes away: its sshd and every session
 * through it end, as a host dropping off the network.  Returns kdh's exit
 * status; *LOST_CASE the case that was running there. */
static int run_and_lose_remote(const char *const *args, GPid *pid, char **lost_case)
{
	g_autoptr(GIOChannel) out = kdh_test_spawn(args, pid);
	g_autofree char *crash = NULL;
	int status;
	char *line;

	*lost_case = NULL;
	while (g_io_channel_read_line(out, &line, NULL, NULL, NULL) == G_IO_STATUS_NORMAL) {
		/* "[    0 s] nmi: upload (disk took 0.0 s)" */
		const char *at = strstr(line, "] "), *upload = strstr(line, ": upload");
		fputs(line, stdout);
		if (!*lost_case && at && upload > at) {
			*lost_case = g_strndup(at + 2, (gsize)(upload - at - 2));
			crash = g_strdup_printf("] %s: crash", *lost_case);
		}
		if (crash && sshd && strstr(line, crash)) {
			g_print("hosts_e2e: the remote host goes away\n");
			kdh_test_sshd_stop(g_steal_pointer(&sshd));
		}
		g_free(line);
	}
	ck_assert_int_eq(waitpid(*pid, &status, 0), *pid);
	ck_assert_msg(*lost_case, "no case went to the remote host");
	ck_assert_msg(!sshd, "the remote case never reached its crash phase");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The remote host dropped mid-run: its case is ERROR "host lost" with
 * where it was, the others pass here, no domain or QEMU is left; when the
 * host is back, the next run deletes the volumes the lost case left. */
START_TEST(lost_remote_host_fails_its_case_only)
{
	g_autofree char *results = g_build_filename(work, "results", NULL);
	g_autofree char *remote_label = kdh_uri_label(kdh_test_sshd_uri(sshd));
	g_autofree char *lost = NULL, *run = NULL, *first = NULL, *want = NULL;
	const char *args[] = {
	    "run",          "--results", results,      "--hosts",    hosts_file,   "--accel", "tcg",
	    "--keep-dumps", "never",     scenarios[0], scenarios[1], scenarios[3], NULL};
	g_autoptr(GPtrArray) left = NULL;
	g_autoptr(GPtrArray) swept = NULL;
	GPid pid;

	ck_assert_int_eq(run_and_lose_remote(args, &pid, &lost), 3);
	kdh_test_assert_nothing_left(pid);
	run = kdh_test_run_folder(results);
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(JsonParser) parser = json_parser_new();
		g_autofree char *dir = g_build_filename(run, names[i], NULL);
		JsonObject *v;
		gint64 up, down;
		g_autofree char *host = NULL;

		if (i == 2)
			continue; /* not in this run */
		if (!g_str_equal(names[i], lost)) {
			host = assert_passed_on_dump(run, names[i], &up, &down);
			ck_assert_str_eq(host, "qemu:///system");
			continue;
		}
		v = kdh_test_read_verdict(dir, parser);
		ck_assert_str_eq(json_object_get_string_member(v, "verdict"), "ERROR");
		ck_assert_str_eq(json_object_get_string_member(v, "host"), remote_label);
		first = g_strdup(
		    json_array_get_string_element(json_object_get_array_member(v, "reasons"), 0));
	}
	want = g_strdup_printf("host lost (%s): libvirt connection lost (", remote_label);
	ck_assert_msg(first && g_str_has_prefix(first, want), "%s", first);
	ck_assert_msg(strstr(first, "the case was in phase crash") ||
	                  strstr(first, "the case was in phase capture"),
	              "%s", first);

	/* The host comes back (a new sshd, the same pool folder): the lost
	 * case's volumes are there, and once old enough the next run that
	 * uses the host deletes them. */
	left = case_volumes();
	ck_assert_uint_ge(left->len, 1);
	for (guint i = 0; i < left->len; i++) {
		struct utimbuf old = {.actime = time(NULL) - 7200, .modtime = time(NULL) - 7200};
		ck_assert_int_eq(utime(g_ptr_array_index(left, i), &old), 0);
	}
	{
		g_autoptr(GError) error = NULL;
		g_autofree char *again = g_build_filename(work, "again", NULL);
		const char *args2[] = {"run",      "--results",  again, "--hosts",
		                       hosts_file, "--accel",    "tcg", "--keep-dumps",
		                       "never",    scenarios[0], NULL};
		sshd = kdh_test_sshd_start(work, &error);
		ck_assert_msg(sshd, "%s", error ? error->message : "");
		write_hosts();
		ck_assert_int_eq(kdh_test_run(args2, &pid), 0);
		kdh_test_assert_nothing_left(pid);
	}
	swept = case_volumes();
	ck_assert_msg(swept->len == 0, "left after the next run: %s",
	              (char *)g_ptr_array_index(swept, 0));
}
END_TEST

Suite *hosts_e2e_suite(void);
Suite *hosts_e2e_suite(void)
{
	Suite *s = suite_create("hosts_e2e");
	TCase *tc = tcase_create("hosts-full");

	tcase_set_tags(tc, "e2e slow");
	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 1800);
	tcase_add_test(tc, four_cases_over_a_local_and_a_remote_host);
	tcase_add_test(tc, lost_remote_host_fails_its_case_only);
	suite_add_tcase(s, tc);
	return s;
}
