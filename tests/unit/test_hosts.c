/* The hosts a run spreads its cases over: the hosts file, what a URI
 * says, each host's capacity through libvirt, placement, and (e2e) a real
 * ssh transport to this machine's libvirtd through a loopback sshd. */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sshd.h"
#include "util/util.h"
#include "vm/vm.h"

#define GIB ((guint64)1 << 30)

static const char good_file[] = "# the lab's hosts\n"
                                "\n"
                                "qemu:///system\n"
                                "   # an indented comment\n"
                                "qemu+ssh://root@big:22/system?keyfile=/k&no_verify=1 jobs=8 "
                                "pool=kdh-cache   # the big one\n"
                                "\tqemu+ssh://root@small/system\tjobs=1\tpool-path=/srv/kdh\r\n"
                                "test:///default#not-a-comment jobs=256";

START_TEST(hosts_file_is_read_in_order)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) hosts = kdh_hosts_parse(good_file, "/etc/hosts-x", &error);
	const KdhHostSpec *h;

	ck_assert_msg(hosts, "%s", error ? error->message : "");
	ck_assert_uint_eq(hosts->len, 4);

	h = hosts->pdata[0];
	ck_assert_str_eq(h->uri, "qemu:///system");
	ck_assert_uint_eq(h->jobs, 0);
	ck_assert_ptr_null(h->pool);
	ck_assert_ptr_null(h->pool_path);
	ck_assert_str_eq(h->where, "/etc/hosts-x:3");

	h = hosts->pdata[1];
	ck_assert_str_eq(h->uri, "qemu+ssh://root@big:22/system?keyfile=/k&no_verify=1");
	ck_assert_uint_eq(h->jobs, 8);
	ck_assert_str_eq(h->pool, "kdh-cache");
	ck_assert_ptr_null(h->pool_path);
	ck_assert_str_eq(h->where, "/etc/hosts-x:5");

	h = hosts->pdata[2];
	ck_assert_str_eq(h->uri, "qemu+ssh://root@small/system");
	ck_assert_uint_eq(h->jobs, 1);
	ck_assert_ptr_null(h->pool);
	ck_assert_str_eq(h->pool_path, "/srv/kdh");
	ck_assert_str_eq(h->where, "/etc/hosts-x:6");

	/* '#' inside a word is the URI's own. */
	h = hosts->pdata[3];
	ck_assert_str_eq(h->uri, "test:///default#not-a-comment");
	ck_assert_uint_eq(h->jobs, 256);
	ck_assert_str_eq(h->where, "/etc/hosts-x:7");
}
END_TEST

/* Each kind of wrong line, alone after a good one; the error names the
 * file and the line, and says what is wrong. */
static const struct {
	const char *text;
	guint line;
	const char *says;
} malformed[] = {
    {"qemu:///system\nqemu+ssh://h/system cpus=4\n", 2, "unknown key 'cpus'"},
    {"qemu:///system\nqemu+ssh://h/system jobs=0\n", 2, "jobs=0: not a number from 1 to 256"},
    {"qemu:///system\nqemu+ssh://h/system jobs=257\n", 2, "jobs=257"},
    {"qemu:///system\nqemu+ssh://h/system jobs=1x\n", 2, "jobs=1x"},
    {"qemu:///system\nqemu+ssh://h/system jobs=\n", 2, "jobs=: not a number"},
    {"qemu:///system\nqemu+ssh://h/system jobs=-1\n", 2, "jobs=-1"},
    {"qemu:///system\nqemu+ssh://h/system jobs=+2\n", 2, "jobs=+2"},
    {"qemu:///system\nqemu+ssh://h/system jobs=2 jobs=3\n", 2, "jobs= given twice"},
    {"qemu:///system\nqemu+ssh://h/system pool-path=srv/kdh\n", 2, "not an absolute path"},
    {"qemu:///system\nqemu+ssh://h/system pool-path=\n", 2, "not an absolute path"},
    {"qemu:///system\nqemu+ssh://h/system pool=\n", 2, "not a pool name"},
    {"qemu:///system\nqemu+ssh://h/system pool=a/b\n", 2, "not a pool name"},
    {"qemu:///system\nqemu+ssh://h/system pool=p pool-path=/srv\n", 2, "together"},
    {"qemu:///system\nqemu+ssh://h/system pool-path=/srv pool=p\n", 2, "together"},
    {"qemu:///system\nqemu+ssh://h/system fast\n", 2, "'fast' is not KEY=VALUE"},
    {"qemu:///system\n# x\nqemu:///system jobs=2\n", 3, "already on line 1"},
    {"qemu:///system\nqemu+ssh://h/\xff\xfe/system\n", 2, "not UTF-8"},
    {"qemu:///system\nqemu+ssh://h/\x1b[31m/system\n", 2, "a control character"},
    {"", 1, "no host"},
    {"# only\n\n  # comments\n", 3, "no host"},
    {"qemu:///system\nmyhost\n", 2, "'myhost' is not a libvirt URI"},
    {"qemu:///system\n/var/run/libvirt/sock\n", 2, "is not a libvirt URI"},
    {"qemu:///system\n:///system\n", 2, "is not a libvirt URI"},
    {"jobs=2 qemu:///system\n", 1, "is not a libvirt URI"},
};

START_TEST(hosts_file_errors_name_the_line)
{
	const char *path = "/cfg/hosts";
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) hosts = kdh_hosts_parse(malformed[_i].text, path, &error);
	g_autofree char *where = g_strdup_printf("%s:%u: ", path, malformed[_i].line);

	ck_assert_msg(!hosts, "row %d was accepted", _i);
	ck_assert_msg(error && g_error_matches(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED), "row %d",
	              _i);
	ck_assert_msg(
	    g_str_has_prefix(error->message, where) && strstr(error->message, malformed[_i].says),
	    "row %d: got '%s', want '%s...%s'", _i, error->message, where, malformed[_i].says);
}
END_TEST

/* A line over 4096 bytes, refused before anything reads it; 4096 is
 * still a line. */
START_TEST(hosts_file_line_is_bounded)
{
	g_autoptr(GString) text = g_string_new("qemu:///system\nqemu+ssh://h/system pool-path=/");
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) hosts = NULL;
	gsize start = strlen("qemu:///system\n");

	while (text->len - start < 4096)
		g_string_append_c(text, 'a');
	hosts = kdh_hosts_parse(text->str, "h", &error);
	ck_assert_msg(hosts, "%s", error ? error->message : "");
	g_clear_pointer(&hosts, g_ptr_array_unref);
	g_string_append(text, "a\nqemu:///session\n");
	hosts = kdh_hosts_parse(text->str, "h", &error);
	ck_assert_ptr_null(hosts);
	ck_assert_str_eq(error->message, "h:2: longer than 4096 bytes");
}
END_TEST

/* The file: read whole up to 1 MiB, a NUL named by its line, an absent
 * file told apart (G_FILE_ERROR_NOENT) from a wrong one. */
START_TEST(hosts_file_load)
{
	g_autofree char *tmp = g_dir_make_tmp("kdh-hosts-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(tmp, "hosts", NULL);
	g_autofree char *missing = g_build_filename(tmp, "none", NULL);
	g_autofree char *big = g_malloc0((1 << 20) + 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) hosts = NULL;
	static const char nul[] = "qemu:///system\nqemu+ssh://h/sys\0tem\n";

	ck_assert(g_file_set_contents(path, "qemu:///system jobs=2\n", -1, NULL));
	hosts = kdh_hosts_load(path, &error);
	ck_assert_msg(hosts, "%s", error ? error->message : "");
	ck_assert_uint_eq(hosts->len, 1);
	g_clear_pointer(&hosts, g_ptr_array_unref);

	ck_assert(g_file_set_contents(path, nul, sizeof(nul) - 1, NULL));
	hosts = kdh_hosts_load(path, &error);
	ck_assert_ptr_null(hosts);
	ck_assert_msg(g_str_has_suffix(error->message, "hosts:2: a NUL byte"), "%s",
	              error->message);
	g_clear_error(&error);

	memset(big, '#', (1 << 20) + 1);
	ck_assert(g_file_set_contents(path, big, (1 << 20) + 1, NULL));
	hosts = kdh_hosts_load(path, &error);
	ck_assert_ptr_null(hosts);
	ck_assert_msg(strstr(error->message, "larger than 1 MiB"), "%s", error->message);
	g_clear_error(&error);

	hosts = kdh_hosts_load(missing, &error);
	ck_assert_ptr_null(hosts);
	ck_assert(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
	kdh_rm_rf(tmp);
}
END_TEST

START_TEST(hosts_default_file_follows_xdg)
{
	g_autofree char *by_env = NULL, *by_home = NULL, *relative = NULL;
	g_autofree char *want_home = g_build_filename(g_get_home_dir(), ".config/kdh/hosts", NULL);

	g_setenv("XDG_CONFIG_HOME", "/cfg", TRUE);
	by_env = kdh_hosts_default_file();
	ck_assert_str_eq(by_env, "/cfg/kdh/hosts");
	g_setenv("XDG_CONFIG_HOME", "cfg", TRUE);
	relative = kdh_hosts_default_file();
	ck_assert_str_eq(relative, want_home);
	g_unsetenv("XDG_CONFIG_HOME");
	by_home = kdh_hosts_default_file();
	ck_assert_str_eq(by_home, want_home);
}
END_TEST

static const struct {
	const char *uri;
	gboolean remote;
	const char *label;
} uris[] = {
    {"qemu:///system", FALSE, "qemu:///system"},
    {"qemu:///session", FALSE, "qemu:///session"},
    {"qemu+unix:///system", FALSE, "qemu+unix:///system"},
    {"qemu+unix:///system?socket=/run/x.sock", FALSE, "qemu+unix:///system"},
    {"test:///default", FALSE, "test:///default"},
    {"QEMU:///system", FALSE, "qemu:///system"},
    {"qemu+ssh://root@127.0.0.1/system", TRUE, "qemu+ssh://root@127.0.0.1/system"},
    {"qemu+ssh://root@host:2222/system?keyfile=/k&no_verify=1", TRUE,
     "qemu+ssh://root@host:2222/system"},
    {"qemu+ssh://root:secret@host/system?keyfile=/k#frag", TRUE, "qemu+ssh://root@host/system"},
    {"qemu+libssh://u@h/system?known_hosts=/k", TRUE, "qemu+libssh://u@h/system"},
    {"qemu+tcp://h/system", TRUE, "qemu+tcp://h/system"},
    {"qemu+tls://h.example/system", TRUE, "qemu+tls://h.example/system"},
    {"qemu+ssh:///system", TRUE, "qemu+ssh:///system"},
    {"qemu://h/system", TRUE, "qemu://h/system"},
    {"qemu+ssh://[::1]:22/system", TRUE, "qemu+ssh://[::1]:22/system"},
    {"qemu+ssh://u%40x:p%3Aw@h/system", TRUE, "qemu+ssh://u%40x@h/system"},
    /* Not URIs (libvirt aliases): remote, to be safe; cut by hand. */
    {"bighost", TRUE, "bighost"},
    {"odd://u:pw@h:99999/p?q=1#f", TRUE, "odd://u@h:99999/p"},
    {"odd://pw-only@h/p", TRUE, "odd://pw-only@h/p"},
};

START_TEST(uri_remote_and_label)
{
	g_autofree char *label = kdh_uri_label(uris[_i].uri);

	ck_assert_msg(kdh_uri_is_remote(uris[_i].uri) == uris[_i].remote, "%s: remote is not %d",
	              uris[_i].uri, uris[_i].remote);
	ck_assert_msg(g_str_equal(label, uris[_i].label), "%s: label '%s', want '%s'", uris[_i].uri,
	              label, uris[_i].label);
}
END_TEST

/* libvirt's test driver has no memory stats: the node info and free
 * memory stand in (its own figures: 16 CPUs, 3 GiB). */
START_TEST(node_capacity_of_the_test_driver)
{
	g_autoptr(GError) error = NULL;
	KdhHostCapacity cap = {.load = 7};

	ck_assert_msg(kdh_node_capacity("test:///default", &cap, &error), "%s",
	              error ? error->message : "");
	ck_assert_uint_eq(cap.cores, 16);
	ck_assert_uint_eq(cap.mem_total, (guint64)3 << 30);
	ck_assert(cap.mem_available > 0 && cap.mem_available <= cap.mem_total);
	ck_assert(cap.load == 0);

	ck_assert(!kdh_node_capacity("nosuchdriver:///x", &cap, &error));
	ck_assert_msg(g_str_has_prefix(error->message, "nosuchdriver:///x: cannot connect"), "%s",
	              error->message);
}
END_TEST

/* ---- placement ---- */

#define HOST(l, s, b, r, u)                                                                        \
	{                                                                                          \
		.label = (l), .slots = (s), .budget = (b), .running = (r), .used = (u)             \
	}

START_TEST(place_least_busy_first_on_tie)
{
	KdhPlaceHost hosts[] = {
	    HOST("a", 4, 0, 2, 0),
	    HOST("b", 2, 0, 1, 0),
	    HOST("c", 8, 0, 2, 0),
	};

	/* a 2/4, b 1/2, c 2/8: c. */
	ck_assert_int_eq(kdh_place(hosts, 3, GIB), 2);
	/* a and b 1/2 each: the first listed. */
	hosts[2].running = 4;
	ck_assert_int_eq(kdh_place(hosts, 3, GIB), 0);
	/* All idle: the first. */
	hosts[0].running = hosts[1].running = hosts[2].running = 0;
	ck_assert_int_eq(kdh_place(hosts, 3, GIB), 0);
}
END_TEST

START_TEST(place_slots_and_memory_both_limit)
{
	KdhPlaceHost hosts[] = {
	    HOST("full", 2, 0, 2, 0),              /* no slot */
	    HOST("tight", 8, 4 * GIB, 1, 3 * GIB), /* 1 GiB left */
	    HOST("roomy", 8, 16 * GIB, 6, 12 * GIB),
	};

	/* tight is the least busy, but 2 GiB does not fit there. */
	ck_assert_int_eq(kdh_place(hosts, 3, 2 * GIB), 2);
	/* 1 GiB does: exactly what is left. */
	ck_assert_int_eq(kdh_place(hosts, 3, GIB), 1);
	/* Neither now; both once VMs end. */
	hosts[2].used = 15 * GIB;
	ck_assert_int_eq(kdh_place(hosts, 3, 2 * GIB), KDH_PLACE_WAIT);
	hosts[2].running = 8;
	hosts[2].used = 0;
	ck_assert_int_eq(kdh_place(hosts, 3, 2 * GIB), KDH_PLACE_WAIT);
	/* used beyond the budget (a host that shrank) is simply full. */
	hosts[1].used = 5 * GIB;
	ck_assert_int_eq(kdh_place(hosts, 3, GIB), KDH_PLACE_WAIT);
}
END_TEST

START_TEST(place_never_and_the_largest)
{
	KdhPlaceHost hosts[] = {
	    HOST("a", 4, 4 * GIB, 0, 0),
	    HOST("b", 4, 6 * GIB, 0, 0),
	    HOST("c", 4, 6 * GIB, 0, 0),
	};

	ck_assert_int_eq(kdh_place(hosts, 3, 7 * GIB), KDH_PLACE_NEVER);
	ck_assert_int_eq(kdh_place_largest(hosts, 3), 1);
	/* The largest lost: the next largest. */
	hosts[1].lost = TRUE;
	ck_assert_int_eq(kdh_place_largest(hosts, 3), 2);
	/* No budget is no limit: the largest of all. */
	hosts[0].budget = 0;
	ck_assert_int_eq(kdh_place_largest(hosts, 3), 0);
	ck_assert_int_eq(kdh_place(hosts, 3, 7 * GIB), 0);
	/* No slot at all can never hold anything. */
	hosts[0].slots = 0;
	ck_assert_int_eq(kdh_place(hosts, 3, 7 * GIB), KDH_PLACE_NEVER);
	ck_assert_int_eq(kdh_place(hosts, 0, GIB), KDH_PLACE_NEVER);
	ck_assert_int_eq(kdh_place_largest(hosts, 0), -1);
}
END_TEST

START_TEST(place_never_on_a_lost_host)
{
	KdhPlaceHost hosts[] = {
	    HOST("lost", 8, 0, 0, 0),
	    HOST("busy", 2, 0, 2, 0),
	};

	hosts[0].lost = TRUE;
	/* The idle host is lost: wait for the busy one. */
	ck_assert_int_eq(kdh_place(hosts, 2, GIB), KDH_PLACE_WAIT);
	hosts[1].running = 1;
	ck_assert_int_eq(kdh_place(hosts, 2, GIB), 1);
	/* All lost: never. */
	hosts[1].lost = TRUE;
	ck_assert_int_eq(kdh_place(hosts, 2, GIB), KDH_PLACE_NEVER);
	ck_assert_int_eq(kdh_place_largest(hosts, 2), -1);
}
END_TEST

/* ---- e2e: a remote transport to this machine ---- */

static void libvirt_quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

/* libvirt's ssh transport through the loopback sshd reaches the same
 * libvirtd as qemu:///system: the same cores, the same memory; and the
 * sshd, once stopped, leaves neither its process nor its folder. */
START_TEST(node_capacity_over_ssh_is_this_machine)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhTestSshd) sshd = NULL;
	KdhHostCapacity local, remote;
	virConnectPtr conn;
	g_autofree char *dir = NULL, *hostname = NULL;
	GPid pid;

	ck_assert_msg(kdh_libvirt_prepare("qemu:///system", NULL, &error), "%s", error->message);
	sshd = kdh_test_sshd_start(NULL, &error);
	ck_assert_msg(sshd, "%s", error ? error->message : "");
	ck_assert(kdh_uri_is_remote(kdh_test_sshd_uri(sshd)));

	virSetErrorFunc(NULL, libvirt_quiet);
	conn = virConnectOpen(kdh_test_sshd_uri(sshd));
	ck_assert_msg(conn, "%s: %s", kdh_test_sshd_uri(sshd), virGetLastErrorMessage());
	hostname = virConnectGetHostname(conn);
	ck_assert_msg(hostname && g_str_equal(hostname, g_get_host_name()), "%s", hostname);
	virConnectClose(conn);

	ck_assert_msg(kdh_node_capacity("qemu:///system", &local, &error), "%s", error->message);
	ck_assert_msg(kdh_node_capacity(kdh_test_sshd_uri(sshd), &remote, &error), "%s",
	              error->message);
	ck_assert_uint_eq(remote.cores, local.cores);
	ck_assert_uint_eq(remote.mem_total, local.mem_total);
	ck_assert(remote.mem_available > 0 && remote.mem_available <= remote.mem_total);

	pid = kdh_test_sshd_pid(sshd);
	dir = g_strdup(kdh_test_sshd_dir(sshd));
	ck_assert_int_gt(pid, 0);
	ck_assert(g_file_test(dir, G_FILE_TEST_IS_DIR));
	g_clear_pointer(&sshd, kdh_test_sshd_stop);
	ck_assert_msg(kill(pid, 0) == -1 && errno == ESRCH, "sshd %d still runs", pid);
	ck_assert_msg(!g_file_test(dir, G_FILE_TEST_EXISTS), "%s is left", dir);
}
END_TEST

Suite *hosts_suite(void);
Suite *hosts_suite(void)
{
	Suite *s = suite_create("hosts");
	TCase *tc = tcase_create("file");

	tcase_add_test(tc, hosts_file_is_read_in_order);
	tcase_add_loop_test(tc, hosts_file_errors_name_the_line, 0, G_N_ELEMENTS(malformed));
	tcase_add_test(tc, hosts_file_line_is_bounded);
	tcase_add_test(tc, hosts_file_load);
	tcase_add_test(tc, hosts_default_file_follows_xdg);
	suite_add_tcase(s, tc);
	tc = tcase_create("uri");
	tcase_add_loop_test(tc, uri_remote_and_label, 0, G_N_ELEMENTS(uris));
	tcase_add_test(tc, node_capacity_of_the_test_driver);
	suite_add_tcase(s, tc);
	tc = tcase_create("place");
	tcase_add_test(tc, place_least_busy_first_on_tie);
	tcase_add_test(tc, place_slots_and_memory_both_limit);
	tcase_add_test(tc, place_never_and_the_largest);
	tcase_add_test(tc, place_never_on_a_lost_host);
	suite_add_tcase(s, tc);
	/* root: sshd needs it (and a login as root to reach qemu:///system). */
	tc = tcase_create("ssh");
	tcase_set_tags(tc, "e2e root");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, node_capacity_over_ssh_is_this_machine);
	suite_add_tcase(s, tc);
	return s;
}
