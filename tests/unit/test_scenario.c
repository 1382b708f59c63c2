/* Scenario parsing: the schema, defaults, matrix expansion and every error
 * naming file, line and key. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "scenario/scenario.h"
#include "support.h"
#include "util/util.h"

static const char *const good = "[scenario]\n"
                                "name=smoke\n"
                                "[kernel]\n"
                                "ref=debian:6.1.0-56-amd64   # a comment\n"
                                "[vm]\n"
                                "memory=2G\n"
                                "crashkernel=512M-2G:128M,2G-:256M\n"
                                "[expect]\n"
                                "panic=sysrq triggered crash\n";

START_TEST(parses_values_and_defaults)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("good.ini", good, &error);

	ck_assert_msg(cases, "%s", error ? error->message : "");
	ck_assert_uint_eq(cases->len, 1);
	const KdhCase *c = g_ptr_array_index(cases, 0);
	ck_assert_str_eq(c->name, "smoke");
	ck_assert_str_eq(c->kernel_ref, "debian:6.1.0-56-amd64");
	ck_assert_uint_eq(c->memory, 2ULL << 30);
	ck_assert_uint_eq(c->cpus, 1);
	ck_assert_str_eq(c->crashkernel, "512M-2G:128M,2G-:256M");
	ck_assert_str_eq(c->trigger->name, "sysrq");
	ck_assert_int_eq(c->trigger->fire, KDH_FIRE_GUEST);
	ck_assert_str_eq(c->collector, "makedumpfile");
	ck_assert_uint_eq(c->dump_level, 31);
	ck_assert_str_eq(c->expect_panic, "sysrq triggered crash");
	ck_assert_int_eq(c->outcome, KDH_OUTCOME_DUMP);
}
END_TEST

/* Each bad file and the exact place its error must name. */
static const struct {
	const char *text;
	const char *message;
} bad[] = {
    {"[scenario]\nname=x\n[vm]\ncrashkernel=12Q\n", "bad.ini:4: [vm] crashkernel: '12Q'"},
    {"[scenario]\nname=x\n[vm]\nmemory=1X\n", "bad.ini:4: [vm] memory: '1X' is not a size"},
    {"[scenario]\nname=x\n[vm]\ncolour=red\n", "bad.ini:4: [vm] colour: unknown key"},
    {"[scenario]\nname=x\n[flavour]\n", "bad.ini:3: unknown group [flavour]"},
    {"[scenario]\nname=x\nname=y\n", "bad.ini:3: [scenario] name: given twice (first at line 2)"},
    {"[scenario]\nname=x\njunk\n", "bad.ini:3: expected key=value"},
    {"name=x\n", "bad.ini:1: key outside of any [group]"},
    {"[scenario]\nname=x\n[crash]\ntrigger=bomb\n",
     "bad.ini:4: [crash] trigger: 'bomb' is not one of: sysrq, sysrq-key, nmi"},
    {"[scenario]\nname=x\n[capture]\ndump_level=32\n",
     "bad.ini:4: [capture] dump_level: '32' is not a number in 0..31"},
    {"[vm]\nmemory=1G\n", "bad.ini:1: no [scenario] group"},
    {"[scenario]\ndescription=d\n", "bad.ini:1: [scenario] name: required, but missing"},
    {"[scenario]\nname=x\n[matrix]\nmemory=1G;3Z\n", "bad.ini:4: [vm] memory: '3Z'"},
    {"[scenario]\nname=x\n[matrix]\nname=a;b\n", "bad.ini:4: [matrix] name: unknown key"},
    {"[scenario]\nname=x\n[vm]\ncrashkernel=auto\n", "bad.ini:4: [vm] crashkernel: 'auto'"},
    {"[scenario]\nname=x\n[vm]\ncpus=0\n", "bad.ini:4: [vm] cpus: '0' is not a number"},
    /* Names that would put results outside the run folder, or two cases in
     * one folder. */
    {"[scenario]\nname=.\n", "bad.ini:2: [scenario] name: \".\" is not usable"},
    {"[scenario]\nname=..\n", "bad.ini:2: [scenario] name: \"..\" is not usable"},
    {"[scenario]\nname=x\n[matrix]\nmemory=1G;2G;1G\n",
     "bad.ini:4: [matrix] memory: '1G' is listed twice"},
    {"[scenario]\nname=x\n[matrix]\nmemory=1G; 1G\n",
     "bad.ini:4: [matrix] memory: '1G' is listed twice"},
    {"[scenario]\nname=x\n[matrix]\nref=import:a b;import:a_b\n",
     "bad.ini:4: [matrix] ref: 'import:a b' and 'import:a_b' give cases the same name"},
    {"[scenario]\nname=x\n[matrix]\nref=a/b;a:b\n",
     "bad.ini:4: [matrix] ref: 'a/b' and 'a:b' give cases the same name"},
    /* Guest-visible text is checked before anything quotes it. */
    {"[scenario]\nname=x\x1b[2J\n", "bad.ini:2: not a text file (byte 0x1b at offset 17)"},
    {"[scenario]\nname=\xff\n", "bad.ini:2: not a text file (byte 0xff at offset 16)"},
    {"[scenario]\n\nname=\xc2\x9b\n", "bad.ini:3: not a text file (byte 0xc2 at offset 17)"},
    /* GKeyFile's own escapes: a bad one is still our error, with a line. */
    {"[scenario]\nname=x\n[expect]\npanic=a\\qb\n", "bad.ini:4: [expect] panic:"},
};

START_TEST(errors_name_file_line_and_key)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("bad.ini", bad[_i].text, &error);

	ck_assert_ptr_null(cases);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(g_str_has_prefix(error->message, bad[_i].message),
	              "case %d: got \"%s\", want prefix \"%s\"", _i, error->message,
	              bad[_i].message);
}
END_TEST

/* Settings that cannot hold together in one case: refused at the line of
 * the one that does not apply, naming the line of the one that rules it
 * out; a value from [matrix] is reported at its matrix line. */
static const struct {
	const char *text;
	const char *message; /* prefix, or NULL: loads */
} contradictions[] = {
    {"[scenario]\nname=x\n[capture]\ncollector=cp\ncompression=zlib\n",
     "bad.ini:5: [capture] compression: does not apply to collector=cp (line 4), which copies "
     "/proc/vmcore"},
    {"[scenario]\nname=x\n[capture]\ndump_level=1\ncollector=cp\n",
     "bad.ini:4: [capture] dump_level: does not apply to collector=cp (line 5)"},
    {"[scenario]\nname=x\n[capture]\ncompression=none\n[matrix]\ncollector=makedumpfile;cp\n",
     "bad.ini:4: [capture] compression: does not apply to collector=cp (line 6)"},
    {"[scenario]\nname=x\n[capture]\ncollector=cp\n[matrix]\ndump_level=1;31\n",
     "bad.ini:6: [capture] dump_level: does not apply to collector=cp (line 4)"},
    {"[scenario]\nname=x\n[expect]\noutcome=no-dump\npanic=sysrq triggered crash\n",
     "bad.ini:5: [expect] panic: contradicts outcome=no-dump (line 4)"},
    {"[scenario]\nname=x\n[expect]\npanic=sysrq triggered crash\noutcome=no-dump\n",
     "bad.ini:4: [expect] panic: contradicts outcome=no-dump (line 5)"},
    /* What does hold together. */
    {"[scenario]\nname=x\n[capture]\ncollector=cp\n", NULL},
    {"[scenario]\nname=x\n[capture]\ncompression=zlib\ndump_level=1\n", NULL},
    {"[scenario]\nname=x\n[expect]\noutcome=no-dump\nreason=capture-kernel-oom\n", NULL},
    {"[scenario]\nname=x\n[expect]\noutcome=dump\npanic=x\n", NULL},
    {"[scenario]\nname=x\n[vm]\ncpus=2\n[crash]\ncpu=1\n", NULL},
    {"[scenario]\nname=x\n[crash]\ntrigger=hang\nhang_detect=5\n", NULL},
    /* The trigger's keys, and the outcome's. */
    {"[scenario]\nname=x\n[expect]\noutcome=no-dump\n",
     "bad.ini:3: [expect] reason: required, but missing"},
    {"[scenario]\nname=x\n[expect]\noutcome=no-dump\nreason=tired\n",
     "bad.ini:5: [expect] reason: 'tired' is not one of: reservation-failed"},
    {"[scenario]\nname=x\n[expect]\nreason=capture-timeout\n",
     "bad.ini:4: [expect] reason: applies only to outcome=no-dump"},
    {"[scenario]\nname=x\n[expect]\noutcome=no-dump\nreason=capture-timeout\nfunction=f\n",
     "bad.ini:6: [expect] function: contradicts outcome=no-dump (line 4)"},
    {"[scenario]\nname=x\n[vm]\ncpus=2\n[crash]\ncpu=2\n",
     "bad.ini:6: [crash] cpu: CPU 2 does not exist in a guest of 2 CPUs (cpus=, line 4)"},
    {"[scenario]\nname=x\n[crash]\ncpu=1\n",
     "bad.ini:4: [crash] cpu: CPU 1 does not exist in a guest of 1 CPU (the default cpus=1)"},
    {"[scenario]\nname=x\n[vm]\ncpus=2\n[crash]\ntrigger=nmi\ncpu=1\n",
     "bad.ini:7: [crash] cpu: trigger=nmi does not run on a chosen CPU"},
    {"[scenario]\nname=x\n[crash]\nhang_detect=5\n",
     "bad.ini:4: [crash] hang_detect: applies only to trigger=hang, not sysrq"},
    {"[scenario]\nname=x\n[crash]\ntrigger=hang\nhang_detect=0\n",
     "bad.ini:5: [crash] hang_detect: '0' is not a number in 1..3600"},
    {"[scenario]\nname=x\n[matrix]\ncollector=makedumpfile;cp\n", NULL},
};

START_TEST(contradictions_refused)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases =
	    kdh_scenario_load_data("bad.ini", contradictions[_i].text, &error);

	if (!contradictions[_i].message) {
		ck_assert_msg(cases, "case %d: %s", _i, error ? error->message : "");
		return;
	}
	ck_assert_msg(!cases, "case %d: loaded", _i);
	ck_assert_msg(g_str_has_prefix(error->message, contradictions[_i].message),
	              "case %d: got \"%s\", want prefix \"%s\"", _i, error->message,
	              contradictions[_i].message);
}
END_TEST

/* Kernel refs, by the resolver's syntax: each either loads or is refused
 * at its line with the reason.  "@" stands for a scratch folder holding
 * the file k.deb and the fragment f.config. */
static const struct {
	const char *ref;
	const char *message; /* after "bad.ini:4: [kernel] ref: "; NULL: loads */
} refs[] = {
    {"debian:default", NULL},
    {"debian:6.1.0-56-amd64", NULL},
    {"debian:6.1.0-56-cloud-amd64", NULL},
    {"debian:5.10.0-32-rt-amd64", NULL},
    {"debian:6.12.38+deb13-amd64", NULL},
    {"debian:6.1.0-0.deb11.21-amd64", NULL},
    {"build:6.12.117-0123abcd", NULL},
    {"build:build-6.12.117-0123abcd", NULL},
    {"build:0123456789ab", NULL},
    {"build:linux-source-6.12+kdump,virt,lkdtm", NULL},
    {"build:6.1+kdump", NULL},
    {"build:@+kdump", NULL},
    {"build:linux-source-6.12+kdump,@/f.config", NULL},
    {"import:import-kdhtest", NULL},
    {"import:0123abcd", NULL},
    {"import:@/k.deb", NULL},
    {"import:@", NULL},
    {"debian:", "'' is not a Debian kernel ABI"},
    {"debian:6.1.0", "'6.1.0' is not a Debian kernel ABI such as 6.1.0-56-amd64"},
    {"debian:6.1.0-56", "'6.1.0-56' is not a Debian kernel ABI"},
    {"debian:6.1.0-56-AMD64", "'6.1.0-56-AMD64' is not a Debian kernel ABI"},
    {"debian:../../etc-56-amd64", "'../../etc-56-amd64' is not a Debian kernel ABI"},
    {"debian:6.1.0-56-amd64 x", "'6.1.0-56-amd64 x' is not a Debian kernel ABI"},
    {"debian:Default", "'Default' is not a Debian kernel ABI"},
    {"debian:6.1.0-56-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "'6.1.0-56-aaaaaaaaaa"},
    {"build:", "'' is not a build id"},
    {"build:-x", "'-x' is not a build id"},
    {"build:a b", "'a b' is not a build id"},
    {"build:+kdump", "kernel source '': expected linux-source-<version>"},
    {"build:linux-source-6.12+", "no kconfig fragment after '+'"},
    {"build:6.12+kdump,,virt", "an empty kconfig fragment name"},
    {"build:6.12+kdump,", "an empty kconfig fragment name"},
    {"build:linux-source-x+kdump", "kernel source 'linux-source-x': expected"},
    {"build:/nonexistent/linux+kdump", "kernel source folder '/nonexistent/linux': no such folder"},
    {"build:6.12+/nonexistent/x.config", "kconfig fragment '/nonexistent/x.config': no such file"},
    {"build:6.12+missing.config", "kconfig fragment 'missing.config': no such file"},
    {"build:6.12+.hidden", "kconfig fragment '.hidden' is neither a name"},
    {"import:", "'' is neither an existing package or folder nor an import id"},
    {"import:/nonexistent/k.deb", "'/nonexistent/k.deb': no such file or folder"},
    {"import:@/none.rpm", "'@/none.rpm': no such file or folder"},
    {"import:no-such-kernel.deb", "'no-such-kernel.deb': no such file or folder"},
    {"import:-rf", "'-rf' is neither an existing package or folder nor an import id"},
    {"fedora:40", "'fedora:40' is not a kernel ref: expected debian:default"},
    {"6.1.0-56-amd64", "'6.1.0-56-amd64' is not a kernel ref"},
    {"DEBIAN:default", "'DEBIAN:default' is not a kernel ref"},
};

START_TEST(kernel_refs_checked_at_load)
{
	g_autofree char *dir = g_dir_make_tmp("kdh-ref-XXXXXX", NULL);
	g_autofree char *deb = g_build_filename(dir, "k.deb", NULL);
	g_autofree char *fragment = g_build_filename(dir, "f.config", NULL);
	g_autoptr(GString) ref = g_string_new(refs[_i].ref);
	g_autoptr(GString) want = g_string_new(refs[_i].message);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = NULL;
	g_autofree char *text = NULL;

	ck_assert(g_file_set_contents(deb, "not a package", -1, NULL));
	ck_assert(g_file_set_contents(fragment, "CONFIG_KEXEC=y\n", -1, NULL));
	g_string_replace(ref, "@", dir, 0);
	g_string_replace(want, "@", dir, 0);
	text = g_strdup_printf("[scenario]\nname=x\n[kernel]\nref=%s\n", ref->str);
	cases = kdh_scenario_load_data("bad.ini", text, &error);
	kdh_rm_rf(dir);
	if (!refs[_i].message) {
		ck_assert_msg(cases, "%s: %s", ref->str, error ? error->message : "");
		ck_assert_str_eq(((KdhCase *)g_ptr_array_index(cases, 0))->kernel_ref, ref->str);
		return;
	}
	g_string_prepend(want, "bad.ini:4: [kernel] ref: ");
	ck_assert_msg(!cases, "%s: loaded", ref->str);
	ck_assert_msg(g_str_has_prefix(error->message, want->str), "got \"%s\", want prefix \"%s\"",
	              error->message, want->str);
}
END_TEST

/* kernel_line names where the ref was written, for the runner's errors. */
START_TEST(kernel_line_is_where_the_ref_is)
{
	static const struct {
		const char *text;
		guint line;
	} where[] = {
	    {"[scenario]\nname=x\n[kernel]\nref=debian:default\n", 4},
	    {"# c\n[scenario]\nname=x\n", 3},
	    {"[scenario]\nname=x\n[kernel]\nref=debian:default\n[matrix]\n"
	     "ref=debian:6.1.0-56-amd64;debian:6.1.0-54-amd64\n",
	     6},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(where); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) cases = kdh_scenario_load_data("k.ini", where[i].text, &error);
		ck_assert_msg(cases, "%s", error ? error->message : "");
		for (guint j = 0; j < cases->len; j++)
			ck_assert_uint_eq(((KdhCase *)g_ptr_array_index(cases, j))->kernel_line,
			                  where[i].line);
	}
}
END_TEST

/* A bad ref in a [matrix] is reported at the matrix line. */
START_TEST(kernel_ref_in_matrix_reported_there)
{
	const char *text = "[scenario]\nname=x\n[matrix]\nref=debian:default;debian:6.1\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("m.ini", text, &error);

	ck_assert_ptr_null(cases);
	ck_assert_msg(g_str_has_prefix(error->message,
	                               "m.ini:4: [kernel] ref: '6.1' is not a Debian kernel ABI"),
	              "%s", error->message);
}
END_TEST

START_TEST(collectors_are_a_table)
{
	ck_assert(kdh_collector_find("makedumpfile")->filters);
	ck_assert(!kdh_collector_find("cp")->filters);
	ck_assert_ptr_null(kdh_collector_find("dd"));
	ck_assert_ptr_null(kdh_collector_find(NULL));
}
END_TEST

START_TEST(matrix_expands_cross_product)
{
	const char *text = "[scenario]\nname=m\n[vm]\nmemory=1G\n"
	                   "[matrix]\nmemory=1G;2G\ncrashkernel=128M;256M;384M\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("m.ini", text, &error);

	ck_assert_msg(cases, "%s", error ? error->message : "");
	ck_assert_uint_eq(cases->len, 6);
	const KdhCase *first = g_ptr_array_index(cases, 0);
	const KdhCase *last = g_ptr_array_index(cases, 5);
	ck_assert_str_eq(first->name, "m-memory1G-crashkernel128M");
	ck_assert_uint_eq(first->memory, 1ULL << 30);
	ck_assert_str_eq(last->name, "m-memory2G-crashkernel384M");
	ck_assert_uint_eq(last->memory, 2ULL << 30);
	ck_assert_str_eq(last->crashkernel, "384M");
}
END_TEST

START_TEST(missing_file_is_an_error)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load("/nonexistent/x.ini", &error);

	ck_assert_ptr_null(cases);
	ck_assert_ptr_nonnull(strstr(error->message, "/nonexistent/x.ini"));
}
END_TEST

START_TEST(names_are_path_safe)
{
	const char *text = "[scenario]\nname=../../etc/x y\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("n.ini", text, &error);

	ck_assert_ptr_nonnull(cases);
	const KdhCase *c = g_ptr_array_index(cases, 0);
	ck_assert_ptr_null(strchr(c->name, '/'));
	ck_assert_str_eq(c->name, "_._.._etc_x_y");
}
END_TEST

/* The comment rule, line by line: full-line '#' and ';' comments, inline
 * " #" on key lines and group headers, ';' separating matrix values; line
 * numbers in errors count the comment lines. */
static const struct {
	const char *text;
	const char *error; /* prefix of the error, or NULL */
	guint cases;
	const char *name;   /* of the first case */
	const char *memory; /* its [vm] memory, as a size */
	const char *panic;  /* its [expect] panic, or NULL */
} comments[] = {
    {"[scenario]\nname=x\n[vm]\nmemory=2G # two\n", NULL, 1, "x", "2G", NULL},
    {"[scenario]\nname=x\n[vm]\nmemory=2G\t# tab\n", NULL, 1, "x", "2G", NULL},
    {"[scenario]\nname=x\n[matrix] # optional\nmemory=1G;2G   # two sizes\n", NULL, 2, "x-memory1G",
     "1G", NULL},
    {"[scenario]\nname=x\n[matrix]\nmemory=1G;2G;\n", NULL, 2, "x-memory1G", "1G", NULL},
    {"; a comment\n[scenario]\nname=x\n", NULL, 1, "x", "1G", NULL},
    {"  # indented\n\t; indented\n[scenario]\nname=x\n", NULL, 1, "x", "1G", NULL},
    {"[scenario]   # the group\nname=x # the name\n", NULL, 1, "x", "1G", NULL},
    {"[scenario]\nname=x\n[expect]\npanic=a#b c\n", NULL, 1, "x", "1G", "a#b c"},
    {"[scenario]\nname=x\n[expect]\npanic=NMI: Not continuing # the end\n", NULL, 1, "x", "1G",
     "NMI: Not continuing"},
    {"[scenario]\r\nname=x\r\n[vm]\r\nmemory=2G # c\r\n", NULL, 1, "x", "2G", NULL},
    {"# c1\n; c2\n[scenario]\nname=x\n[vm]\nmemory=1X # bad\n", "c.ini:6: [vm] memory: '1X'", 0,
     NULL, NULL, NULL},
    {"[scenario]\nname=x\n[matrix]\nmemory=1G;2G#x\n", "c.ini:4: [vm] memory: '2G#x'", 0, NULL,
     NULL, NULL},
    {"[scenario]#x\nname=x\n", "c.ini:1: malformed group header '[scenario]#x'", 0, NULL, NULL,
     NULL},
    {"[scenario]\nname=x\n; [vm]\nmemory=2G\n", "c.ini:4: [scenario] memory: unknown key", 0, NULL,
     NULL, NULL},
    {"[scenario]\nname=x\n[vm]\n# memory=1X\n", NULL, 1, "x", "1G", NULL},
};

START_TEST(one_comment_rule)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("c.ini", comments[_i].text, &error);
	guint64 memory = 0;

	if (comments[_i].error) {
		ck_assert_msg(!cases, "case %d: loaded", _i);
		ck_assert_msg(g_str_has_prefix(error->message, comments[_i].error),
		              "case %d: got \"%s\", want prefix \"%s\"", _i, error->message,
		              comments[_i].error);
		return;
	}
	ck_assert_msg(cases, "case %d: %s", _i, error ? error->message : "");
	ck_assert_uint_eq(cases->len, comments[_i].cases);
	const KdhCase *c = g_ptr_array_index(cases, 0);
	ck_assert_str_eq(c->name, comments[_i].name);
	ck_assert(kdh_parse_size(comments[_i].memory, &memory));
	ck_assert_uint_eq(c->memory, memory);
	/* No panic= gives the trigger's signature. */
	ck_assert_pstr_eq(c->expect_panic,
	                  comments[_i].panic ? comments[_i].panic : "sysrq triggered crash");
}
END_TEST

START_TEST(triggers_are_a_table)
{
	ck_assert_int_eq(kdh_trigger_find("nmi")->fire, KDH_FIRE_HOST_NMI);
	ck_assert_int_eq(kdh_trigger_find("sysrq")->fire, KDH_FIRE_GUEST);
	ck_assert_ptr_null(kdh_trigger_find("bomb"));
	ck_assert_ptr_null(kdh_trigger_find(NULL));
}
END_TEST

/* Two files whose cases have the same name would share a results folder. */
START_TEST(case_names_unique_across_files)
{
	g_autofree char *dir = g_dir_make_tmp("kdh-scenario-XXXXXX", NULL);
	g_autofree char *a = g_build_filename(dir, "a.ini", NULL);
	g_autofree char *b = g_build_filename(dir, "b.ini", NULL);
	g_autofree char *c = g_build_filename(dir, "c.ini", NULL);
	const char *same[] = {a, b, NULL}, *differ[] = {a, c, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) ok = NULL, refused = NULL;
	g_autofree char *want = NULL;

	ck_assert(g_file_set_contents(a, "# a\n[scenario]\nname=smoke\n", -1, NULL));
	ck_assert(g_file_set_contents(b, "[scenario]\nname=smoke\n", -1, NULL));
	ck_assert(g_file_set_contents(c, "[scenario]\nname=other\n", -1, NULL));
	ok = kdh_scenario_load_all(differ, &error);
	ck_assert_msg(ok, "%s", error ? error->message : "");
	ck_assert_uint_eq(ok->len, 2);
	refused = kdh_scenario_load_all(same, &error);
	ck_assert_ptr_null(refused);
	want = g_strdup_printf("%s:2: [scenario] name: case 'smoke' is also a case of %s:3", b, a);
	ck_assert_msg(g_str_has_prefix(error->message, want), "%s", error->message);
	kdh_rm_rf(dir);
}
END_TEST

/* The same file named twice gives every case twice: refused as well. */
START_TEST(same_file_twice_refused)
{
	g_autofree char *dir = g_dir_make_tmp("kdh-scenario-XXXXXX", NULL);
	g_autofree char *a = g_build_filename(dir, "a.ini", NULL);
	const char *twice[] = {a, a, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = NULL;
	g_autofree char *want = NULL;

	ck_assert(g_file_set_contents(a, "[scenario]\nname=m\n[matrix]\ncpus=1;2\n", -1, NULL));
	cases = kdh_scenario_load_all(twice, &error);
	kdh_rm_rf(dir);
	ck_assert_ptr_null(cases);
	want =
	    g_strdup_printf("%s:2: [scenario] name: case 'm-cpus1' is also a case of %s:2", a, a);
	ck_assert_msg(g_str_has_prefix(error->message, want), "%s", error->message);
}
END_TEST

START_TEST(sizes)
{
	guint64 b = 0;

	ck_assert(kdh_parse_size("256M", &b) && b == 256ULL << 20);
	ck_assert(kdh_parse_size("4096", &b) && b == 4096);
	ck_assert(kdh_parse_size("1g", &b) && b == 1ULL << 30);
	ck_assert(!kdh_parse_size("12Q", &b));
	ck_assert(!kdh_parse_size("", &b));
	ck_assert(!kdh_parse_size("-1M", &b));
	ck_assert(!kdh_parse_size("1MB", &b));
	ck_assert(!kdh_parse_size("99999999999999999999", &b));
	ck_assert(!kdh_parse_size("20000000000T", &b));
	ck_assert(kdh_crashkernel_valid("256M@16M"));
	ck_assert(kdh_crashkernel_valid("1G-4G:256M,4G-:512M"));
	ck_assert(!kdh_crashkernel_valid("4G-1G:256M"));
	ck_assert(!kdh_crashkernel_valid("0"));
	ck_assert(!kdh_crashkernel_valid("256M@"));
}
END_TEST

/* ---- README.md's table of keys against the parser ---- */

typedef struct {
	char *group, *key, *fallback; /* fallback: the literal default, or NULL */
	gboolean matrix;
} DocRow;

static void doc_row_free(DocRow *r)
{
	g_free(r->group);
	g_free(r->key);
	g_free(r->fallback);
	g_free(r);
}

/* The rows "| `[group]` | `key` | values | default | yes/no | meaning |" of
 * README.md; the default counts as literal when it is one `word` or a
 * number. */
static GPtrArray *readme_keys(void)
{
	g_autofree char *text = NULL;
	g_autoptr(GRegex) row =
	    g_regex_new("^\\| `\\[(\\w+)\\]` \\| `(\\w+)` \\|[^|]*\\| ([^|]*) \\| (yes|no) \\|",
	                G_REGEX_MULTILINE, 0, NULL);
	g_autoptr(GRegex) literal = g_regex_new("^(`[^` ]+`|[0-9]+)$", 0, 0, NULL);
	g_autoptr(GMatchInfo) m = NULL;
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)doc_row_free);

	ck_assert(g_file_get_contents("README.md", &text, NULL, NULL));
	for (g_regex_match(row, text, 0, &m); g_match_info_matches(m); g_match_info_next(m, NULL)) {
		DocRow *r = g_new0(DocRow, 1);
		g_autofree char *fallback = g_match_info_fetch(m, 3);
		g_autofree char *matrix = g_match_info_fetch(m, 4);
		r->group = g_match_info_fetch(m, 1);
		r->key = g_match_info_fetch(m, 2);
		r->matrix = g_str_equal(matrix, "yes");
		if (g_regex_match(literal, fallback, 0, NULL))
			r->fallback = g_strndup(fallback + (*fallback == '`'),
			                        strlen(fallback) - 2 * (*fallback == '`'));
		g_ptr_array_add(rows, r);
	}
	return rows;
}

static GPtrArray *load_ok(const char *text)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *cases = kdh_scenario_load_data("doc.ini", text, &error);

	ck_assert_msg(cases, "%s: %s", text, error ? error->message : "");
	return cases;
}

/* Two cases alike in everything a key can set. */
static void assert_same_case(const KdhCase *a, const KdhCase *b, const char *what)
{
	ck_assert_msg(
	    g_str_equal(a->kernel_ref, b->kernel_ref) && a->memory == b->memory &&
	        a->cpus == b->cpus && g_str_equal(a->crashkernel, b->crashkernel) &&
	        g_str_equal(a->image, b->image) && a->trigger == b->trigger &&
	        g_str_equal(a->collector, b->collector) && a->dump_level == b->dump_level &&
	        g_str_equal(a->compression, b->compression) && a->outcome == b->outcome &&
	        g_strcmp0(a->expect_panic, b->expect_panic) == 0 &&
	        a->timeout_boot == b->timeout_boot && a->timeout_crash == b->timeout_crash &&
	        a->timeout_capture == b->timeout_capture &&
	        a->timeout_shutdown == b->timeout_shutdown,
	    "README's default for %s is not the parser's", what);
}

/* Every key of README.md's table is one the parser knows, [matrix] takes
 * it exactly where the table says "yes", and writing a literal default
 * gives the same case as leaving the key out. */
START_TEST(readme_keys_are_the_parsers)
{
	g_autoptr(GPtrArray) rows = readme_keys();
	g_autoptr(GPtrArray) plain = load_ok("[scenario]\nname=x\n");

	ck_assert_uint_ge(rows->len, 17);
	for (guint i = 0; i < rows->len; i++) {
		const DocRow *r = g_ptr_array_index(rows, i);
		g_autofree char *what = g_strdup_printf("[%s] %s", r->group, r->key);
		g_autofree char *in_matrix =
		    g_strdup_printf("[scenario]\nname=x\n[matrix]\n%s=a;b\n", r->key);
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) cases = kdh_scenario_load_data("doc.ini", in_matrix, &error);
		gboolean unknown = !cases && strstr(error->message, "unknown key");

		ck_assert_msg(unknown == !r->matrix, "%s: README says matrix %s, the parser: %s",
		              what, r->matrix ? "yes" : "no", error ? error->message : "loads");
		if (!r->fallback)
			continue;
		g_autofree char *text =
		    g_str_equal(r->group, "scenario")
		        ? g_strdup_printf("[scenario]\nname=x\n%s=%s\n", r->key, r->fallback)
		        : g_strdup_printf("[scenario]\nname=x\n[%s]\n%s=%s\n", r->group, r->key,
		                          r->fallback);
		g_autoptr(GPtrArray) given = load_ok(text);
		assert_same_case(g_ptr_array_index(plain, 0), g_ptr_array_index(given, 0), what);
	}
}
END_TEST

/* And the other way: every row of the parser's schema (scenario.c) is in
 * README.md's table, with the same [matrix] flag. */
START_TEST(readme_documents_every_key)
{
	g_autoptr(GPtrArray) rows = readme_keys();
	g_autofree char *source = NULL;
	g_autoptr(GRegex) spec = g_regex_new("^\\s*\\{\"(\\w+)\", \"(\\w+)\", (TRUE|FALSE)\\},$",
	                                     G_REGEX_MULTILINE, 0, NULL);
	g_autoptr(GMatchInfo) m = NULL;
	guint specs = 0;

	ck_assert(g_file_get_contents("harness/scenario/scenario.c", &source, NULL, NULL));
	for (g_regex_match(spec, source, 0, &m); g_match_info_matches(m);
	     g_match_info_next(m, NULL)) {
		g_autofree char *group = g_match_info_fetch(m, 1), *key = g_match_info_fetch(m, 2);
		g_autofree char *flag = g_match_info_fetch(m, 3);
		gboolean found = FALSE;
		for (guint i = 0; i < rows->len && !found; i++) {
			const DocRow *r = g_ptr_array_index(rows, i);
			found = g_str_equal(r->group, group) && g_str_equal(r->key, key) &&
			        r->matrix == g_str_equal(flag, "TRUE");
		}
		ck_assert_msg(found, "[%s] %s (matrix %s) is not in README.md's table of keys",
		              group, key, flag);
		specs++;
	}
	ck_assert_uint_eq(specs, rows->len);
}
END_TEST

Suite *scenario_suite(void);
Suite *scenario_suite(void)
{
	Suite *s = suite_create("scenario");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parses_values_and_defaults);
	tcase_add_loop_test(tc, errors_name_file_line_and_key, 0, G_N_ELEMENTS(bad));
	tcase_add_test(tc, matrix_expands_cross_product);
	tcase_add_test(tc, missing_file_is_an_error);
	tcase_add_test(tc, names_are_path_safe);
	tcase_add_loop_test(tc, one_comment_rule, 0, G_N_ELEMENTS(comments));
	tcase_add_test(tc, triggers_are_a_table);
	tcase_add_test(tc, case_names_unique_across_files);
	tcase_add_test(tc, same_file_twice_refused);
	tcase_add_loop_test(tc, contradictions_refused, 0, G_N_ELEMENTS(contradictions));
	tcase_add_loop_test(tc, kernel_refs_checked_at_load, 0, G_N_ELEMENTS(refs));
	tcase_add_test(tc, kernel_line_is_where_the_ref_is);
	tcase_add_test(tc, kernel_ref_in_matrix_reported_there);
	tcase_add_test(tc, collectors_are_a_table);
	tcase_add_test(tc, readme_keys_are_the_parsers);
	tcase_add_test(tc, readme_documents_every_key);
	tcase_add_test(tc, sizes);
	suite_add_tcase(s, tc);
	return s;
}
