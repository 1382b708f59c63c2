/* End to end, every part real: faults a guest meets on its way to a dump,
 * each with the verdict and message kdh must give.  Some are the kernel's
 * own (a reservation that fails, kexec -p with too little room, a capture
 * kernel out of memory: each case here expects a dump, so each is a FAIL
 * naming the cause); the others are done to the guest from outside, through
 * libvirt as an administrator or a broken host would, while build/kdh runs
 * them: the guest paused right after its first marker (it hangs before
 * arming kexec), paused once the capture kernel starts (it hangs in the
 * capture kernel), and destroyed while the capture kernel writes the dump
 * (the partial dump must be retrieved and called incomplete, never
 * passed); and a guest that floods its console with forged markers before
 * it panics (a PASS on its dump, the rotated console followed).  The test
 * watches each case's serial.log and the domain's disk
 * from outside kdh and acts with virsh. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "support.h"
#include "util/util.h"

static char *results;

static void setup(void)
{
	results = g_dir_make_tmp("kdh-faults-XXXXXX", NULL);
	ck_assert_ptr_nonnull(results);
}

static void teardown(void)
{
	kdh_rm_rf(results);
	g_free(results);
}

typedef enum {
	ACT_NONE,    /* the fault is the kernel's own */
	ACT_SUSPEND, /* virsh suspend: the guest stops dead, as a hung guest */
	ACT_DESTROY, /* virsh destroy: the guest is gone mid-write */
} Act;

typedef struct {
	const char *name;     /* the case */
	const char *settings; /* its scenario after [scenario] name= */
	Act act;
	const char *when;       /* the serial line after which the test acts */
	guint64 grown;          /* ACT_DESTROY: the disk's growth since WHEN, bytes */
	const char *verdict;    /* what kdh must say */
	const char *reasons[3]; /* each in the case's reasons */
	const char *diagnosis;  /* its diagnosis.reason, or NULL for none */
	const char *warning;    /* in its warnings, or NULL */
	gboolean acted;         /* (state) the test did its part */
	guint64 disk_at_when;   /* (state) the disk's size when WHEN appeared */
	gint64 when_seen;       /* (state) monotonic time WHEN appeared, or 0 */
} Fault;

/* The dump a capture kernel writes for 2 GiB at dump level 0 without
 * compression is ~2 GiB: tens of seconds under TCG, long enough to be cut. */
#define KILLED_MID_WRITE                                                                           \
	"[vm]\nmemory=2G\ncrashkernel=256M\n[capture]\ndump_level=0\ncompression=none\n"           \
	"[verify]\ncrash=no\n"

static Fault faults[] = {
    {.name = "hang-before-arm",
     .settings = "[vm]\nmemory=1G\ncrashkernel=256M\n[timeouts]\nboot=60\n",
     .act = ACT_SUSPEND,
     .when = "KDH: boot",
     .verdict = "TIMEOUT",
     .reasons = {"phase boot: no 'armed' marker within 60 s"}},
    {.name = "hang-in-capture",
     .settings = "[vm]\nmemory=1G\ncrashkernel=256M\n[timeouts]\ncapture=40\n",
     .act = ACT_SUSPEND,
     .when = "KDH: capture-start",
     .verdict = "TIMEOUT",
     .reasons = {"phase capture: no 'capture-done' marker within 40 s"},
     .diagnosis = "capture-timeout"},
    {.name = "killed-mid-write",
     .settings = KILLED_MID_WRITE,
     .act = ACT_DESTROY,
     .when = "KDH: capture-start",
     .grown = 192 << 20,
     .verdict = "FAIL",
     .reasons = {"the domain ended in phase capture", "the dump is incomplete"}},
    /* Not done to it: the guest itself floods its console (5 MiB, forged
     * markers among the lines) before it panics.  virtlogd rotates the log
     * twice; every marker is still seen, the forged ones change nothing. */
    {.name = "console-flood",
     .settings = "[vm]\nmemory=1G\ncrashkernel=256M\n[crash]\ntrigger=module:console-flood\n"
                 "[verify]\ncrash=no\n",
     .verdict = "PASS",
     .reasons = {"kdh-crash: panic after a console flood"},
     .warning = "the console log was rotated"},
    {.name = "capture-oom",
     .settings = "[vm]\nmemory=1G\ncrashkernel=96M\n",
     .verdict = "FAIL",
     .reasons = {"capture-kernel-oom at crashkernel=96M"},
     .diagnosis = "capture-kernel-oom"},
    {.name = "kexec-load-fails",
     .settings = "[vm]\nmemory=1G\ncrashkernel=48M\n",
     .verdict = "FAIL",
     .reasons = {"kexec-load-failed at crashkernel=48M"},
     .diagnosis = "kexec-load-failed"},
    {.name = "reservation-fails",
     .settings = "[vm]\nmemory=1G\ncrashkernel=2G\n",
     .verdict = "FAIL",
     .reasons = {"reservation-failed at crashkernel=2G"},
     .diagnosis = "reservation-failed"},
};

/* RESULTS/<run>/<case>/serial.log, once kdh made it; NULL before. */
static char *serial_of(const char *case_name)
{
	g_autoptr(GDir) dir = g_dir_open(results, 0, NULL);
	const char *run;

	while (dir && (run = g_dir_read_name(dir))) {
		g_autofree char *path =
		    g_build_filename(results, run, case_name, "serial.log", NULL);
		if (g_file_test(path, G_FILE_TEST_EXISTS))
			return g_steal_pointer(&path);
	}
	return NULL;
}

/* The domain kdh PID runs for CASE_NAME ("kdh-<pid>-<hash>-<case>"), or NULL. */
static char *domain_of(GPid pid, const char *case_name)
{
	g_autofree char *list = kdh_test_domains();
	g_autofree char *prefix = g_strdup_printf("kdh-%d-", (int)pid);
	g_autofree char *suffix = g_strdup_printf("-%s", case_name);
	g_auto(GStrv) names = g_strsplit(list, "\n", -1);

	for (char **n = names; *n; n++) {
		if (g_str_has_prefix(*n, prefix) && g_str_has_suffix(*n, suffix))
			return g_strdup(*n);
	}
	return NULL;
}

/* The size of DOMAIN's disk file (virsh domblklist), 0 when unknown. */
static guint64 disk_size(const char *domain)
{
	const char *argv[] = {"virsh", "-c", "qemu:///system", "domblklist", domain, NULL};
	g_autofree char *out = NULL;
	g_auto(GStrv) lines = NULL;
	GStatBuf st;

	if (!kdh_run(argv, NULL, &out, NULL))
		return 0;
	lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) cols = g_strsplit_set(g_strstrip(*l), " ", 2);
		if (cols[0] && g_str_equal(cols[0], "vda") && cols[1] &&
		    g_stat(g_strstrip(cols[1]), &st) == 0)
			return (guint64)st.st_size;
	}
	return 0;
}

static void virsh(const char *verb, const char *domain)
{
	const char *argv[] = {"virsh", "-c", "qemu:///system", verb, domain, NULL};
	g_autoptr(GError) error = NULL;

	ck_assert_msg(kdh_run(argv, NULL, NULL, &error), "virsh %s %s: %s", verb, domain,
	              error ? error->message : "");
}

/* One look at fault F of kdh PID: acts once its moment has come. */
static void watch_fault(GPid pid, Fault *f)
{
	g_autofree char *serial = NULL, *text = NULL, *domain = NULL;

	if (f->act == ACT_NONE || f->acted || !(serial = serial_of(f->name)) ||
	    !g_file_get_contents(serial, &text, NULL, NULL) || !strstr(text, f->when) ||
	    !(domain = domain_of(pid, f->name)))
		return;
	/* Too late is a failure of the test's timing, said as such. */
	ck_assert_msg(!strstr(text, "KDH: capture-done"),
	              "%s: the capture finished before the fault could be injected", f->name);
	if (!f->when_seen) {
		f->when_seen = g_get_monotonic_time();
		f->disk_at_when = disk_size(domain);
	}
	/* Destroyed only once the dump's data has reached the disk and ext4
	 * has had a journal commit (5 s) to record the file's size. */
	if (f->act == ACT_DESTROY && (disk_size(domain) < f->disk_at_when + f->grown ||
	                              g_get_monotonic_time() - f->when_seen < 6 * G_USEC_PER_SEC))
		return;
	virsh(f->act == ACT_SUSPEND ? "suspend" : "destroy", domain);
	f->acted = TRUE;
}

START_TEST(each_fault_has_its_verdict)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	const char *bin = g_getenv("KDH_BIN");
	g_autoptr(GError) error = NULL;
	GPid pid;
	int status = 0;

	g_ptr_array_add(argv, g_strdup(bin && *bin ? bin : "build/kdh"));
	for (const char *a = "run\0--jobs\0"
	                     "2\0--keep-dumps\0never\0--results";
	     *a; a += strlen(a) + 1)
		g_ptr_array_add(argv, g_strdup(a));
	g_ptr_array_add(argv, g_strdup(results));
	for (guint i = 0; i < G_N_ELEMENTS(faults); i++) {
		g_autofree char *file = g_strdup_printf("%s/%s.ini", results, faults[i].name);
		g_autofree char *text =
		    g_strdup_printf("[scenario]\nname=%s\n[kernel]\nref=debian:default\n%s",
		                    faults[i].name, faults[i].settings);
		ck_assert(g_file_set_contents(file, text, -1, NULL));
		g_ptr_array_add(argv, g_steal_pointer(&file));
	}
	g_ptr_array_add(argv, NULL);
	ck_assert_msg(g_spawn_async(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
	                            NULL, NULL, &pid, &error),
	              "%s", error ? error->message : "");
	while (waitpid(pid, &status, WNOHANG) == 0) {
		for (guint i = 0; i < G_N_ELEMENTS(faults); i++)
			watch_fault(pid, &faults[i]);
		g_usleep(250 * 1000);
	}
	ck_assert(WIFEXITED(status));
	/* A FAIL outranks the TIMEOUTs: exit status 1. */
	ck_assert_int_eq(WEXITSTATUS(status), 1);
	kdh_test_assert_nothing_left(pid);
	for (guint i = 0; i < G_N_ELEMENTS(faults); i++) {
		const Fault *f = &faults[i];
		g_autoptr(JsonParser) parser = json_parser_new();
		JsonObject *v;
		JsonObject *diag;

		ck_assert_msg(f->act == ACT_NONE || f->acted, "%s: the fault was never injected",
		              f->name);
		v = kdh_test_assert_case(results, f->name, f->verdict, f->reasons, parser);
		diag = json_object_get_object_member(v, "diagnosis");
		ck_assert_ptr_nonnull(diag);
		if (f->warning) {
			JsonArray *warnings = json_object_get_array_member(v, "warnings");
			gboolean found = FALSE;
			for (guint w = 0; w < json_array_get_length(warnings); w++)
				found |= strstr(json_array_get_string_element(warnings, w),
				                f->warning) != NULL;
			ck_assert_msg(found, "%s: no warning '%s'", f->name, f->warning);
		}
		if (f->diagnosis)
			ck_assert_str_eq(json_object_get_string_member(diag, "reason"),
			                 f->diagnosis);
		else
			ck_assert(json_object_get_null_member(diag, "reason"));
	}
}
END_TEST

Suite *faults_e2e_suite(void);
Suite *faults_e2e_suite(void)
{
	Suite *s = suite_create("faults_e2e");
	TCase *tc = tcase_create("faults_e2e");

	tcase_set_tags(tc, "e2e");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, each_fault_has_its_verdict);
	suite_add_tcase(s, tc);
	return s;
}
