/* kdh reproduce without a VM: every fact of the field logs kdh captured
 * itself (tests/fixtures/field/), each class row recognised, hostile input
 * (binary junk, huge lines, no crash), the scenario a field maps to, and
 * frame matching. */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "reproduce/reproduce.h"
#include "scenario/scenario.h"

#define FIELD_DIR "tests/fixtures/field/"

#define ck_assert_error(err, d, c)                                                                 \
	ck_assert_msg((err) && (err)->domain == (d) && (err)->code == (c), "%s",                   \
	              (err) ? (err)->message : "no error")

static KdhField *load(const char *file)
{
	g_autofree char *path = g_build_filename(FIELD_DIR, file, NULL);
	g_autoptr(GError) error = NULL;
	KdhField *f = kdh_field_load(path, &error);

	ck_assert_msg(f, "%s: %s", path, error ? error->message : "");
	return f;
}

static KdhField *parse(const char *text, GError **error)
{
	return kdh_field_parse("text", text, strlen(text), error);
}

static const char *frame(const KdhField *f, guint i)
{
	ck_assert_uint_gt(f->frames->len, i);
	return g_ptr_array_index(f->frames, i);
}

/* The facts every fixture shares: the crashed boot's, not the capture
 * kernel's that follows it in a serial log (1G, 2 CPUs, crashkernel=256M). */
static void assert_boot(const KdhField *f)
{
	ck_assert_str_eq(f->release, "6.1.0-56-amd64");
	ck_assert_ptr_nonnull(strstr(f->build, "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2"));
	ck_assert_str_eq(f->debian_version, "6.1.192-2");
	ck_assert_uint_eq(f->ram_bytes, 1048036ULL << 10);
	ck_assert_str_eq(f->ram_from, "Memory: line (total)");
	ck_assert_uint_eq(f->cpus, 2);
	ck_assert_ptr_nonnull(strstr(f->cmdline, "console=ttyS0 crashkernel=256M"));
	ck_assert_ptr_null(strstr(f->cmdline, "elfcorehdr"));
	ck_assert_str_eq(f->crashkernel, "256M");
	ck_assert(!f->truncated);
}

START_TEST(sysrq_log)
{
	g_autoptr(KdhField) f = load("sysrq.log");

	assert_boot(f);
	ck_assert_str_eq(f->klass->name, "sysrq");
	ck_assert_str_eq(f->reason, "sysrq triggered crash");
	ck_assert_str_eq(f->crash_text, "sysrq: Trigger a crash");
	ck_assert_int_eq(f->cpu, 0);
	ck_assert_int_eq(f->pid, 125);
	ck_assert_str_eq(f->comm, "sh");
	ck_assert_uint_eq(f->frames->len, KDH_FIELD_FRAMES);
	ck_assert_str_eq(frame(f, 0), "dump_stack_lvl");
	ck_assert_str_eq(frame(f, 1), "panic");
	ck_assert_str_eq(frame(f, 2), "sysrq_handle_crash");
	/* __handle_sysrq.cold: the compiler's split, the same function */
	ck_assert_str_eq(frame(f, 3), "__handle_sysrq");
	ck_assert_str_eq(frame(f, 4), "write_sysrq_trigger");
}
END_TEST

START_TEST(null_deref_log)
{
	g_autoptr(KdhField) f = load("null-deref.log");

	assert_boot(f);
	ck_assert_str_eq(f->klass->name, "null-deref");
	/* panic_on_oops: kdump starts from the oops, before panic() prints */
	ck_assert_str_eq(f->reason,
	                 "BUG: kernel NULL pointer dereference, address: 0000000000000000");
	ck_assert_int_eq(f->cpu, 1);
	ck_assert_int_eq(f->pid, 126);
	ck_assert_str_eq(f->comm, "insmod");
	/* RIP's function first, the module's name stripped, "?" frames skipped */
	ck_assert_str_eq(frame(f, 0), "kdh_crash_null_deref");
	ck_assert_str_eq(frame(f, 1), "kdh_crash_load");
	for (guint i = 0; i < f->frames->len; i++)
		ck_assert_ptr_null(strchr(frame(f, i), ' '));
}
END_TEST

START_TEST(bug_log)
{
	g_autoptr(KdhField) f = load("bug.log");

	assert_boot(f);
	ck_assert_str_eq(f->klass->name, "bug");
	ck_assert_str_eq(f->reason, "kernel BUG at images/crashmod/kdh_crash.c:73!");
	ck_assert_int_eq(f->cpu, 0);
	ck_assert_str_eq(f->comm, "insmod");
	ck_assert_str_eq(frame(f, 0), "kdh_crash_bug");
	ck_assert_str_eq(frame(f, 1), "kdh_crash_load");
}
END_TEST

START_TEST(softlockup_log)
{
	g_autoptr(KdhField) f = load("softlockup.log");

	assert_boot(f);
	ck_assert_str_eq(f->klass->name, "soft-lockup");
	ck_assert_str_eq(f->reason, "softlockup: hung tasks");
	/* the stuck CPU's context, not the watchdog interrupt's panic path */
	ck_assert_ptr_nonnull(strstr(f->crash_text, "BUG: soft lockup - CPU#1 stuck"));
	ck_assert_int_eq(f->cpu, 1);
	ck_assert_str_eq(f->comm, "kdh-crash");
	ck_assert_str_eq(frame(f, 0), "kdh_crash_softlockup");
	ck_assert_str_eq(frame(f, 1), "kthread");
}
END_TEST

START_TEST(oom_log)
{
	g_autoptr(KdhField) f = load("oom.log");

	assert_boot(f);
	ck_assert_str_eq(f->klass->name, "oom");
	ck_assert_str_eq(f->reason, "Out of memory: system-wide panic_on_oom is enabled");
	ck_assert_int_eq(f->cpu, 1);
	ck_assert_str_eq(f->comm, "dd");
	ck_assert_str_eq(frame(f, 1), "panic");
	ck_assert_str_eq(frame(f, 2), "out_of_memory");
}
END_TEST

START_TEST(nmi_dmesg)
{
	/* The kernel log of a vmcore (kdh dump dmesg): the NMI's panic never
	 * reached the serial console. */
	g_autoptr(KdhField) f = load("nmi-dmesg.txt");

	assert_boot(f);
	ck_assert_str_eq(f->klass->name, "nmi");
	ck_assert_str_eq(f->reason, "NMI: Not continuing");
	ck_assert_int_eq(f->cpu, 0);
	ck_assert_int_eq(f->pid, 124);
	ck_assert_str_eq(f->comm, "exe");
	ck_assert_str_eq(frame(f, 2), "nmi_panic");
	ck_assert_str_eq(frame(f, 3), "unknown_nmi_error");
}
END_TEST

/* A vmcore as FIELD: kdh's reader's kernel log, parsed as its text is. */
START_TEST(vmcore_field)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhField) dump =
	    kdh_field_load("tests/fixtures/dump/debian12-6.1-sysrq.kdump", &error);
	g_autoptr(KdhField) text = NULL;
	g_autofree char *dir = g_dir_make_tmp("kdh-reproduce-XXXXXX", NULL);
	g_autofree char *cut = g_build_filename(dir, "cut.kdump", NULL);
	g_autofree char *bytes = NULL;
	gsize len;
	KdhReproduceMatch m;

	ck_assert_msg(dump, "%s", error ? error->message : "");
	text = kdh_field_load("tests/fixtures/dump/debian12-6.1-sysrq.dmesg", &error);
	ck_assert_msg(text, "%s", error ? error->message : "");
	ck_assert(dump->vmcore);
	ck_assert(!text->vmcore);
	ck_assert_str_eq(dump->klass->name, "sysrq");
	ck_assert_str_eq(dump->reason, "sysrq triggered crash");
	ck_assert_str_eq(dump->comm, "init");
	ck_assert_ptr_nonnull(dump->release);
	kdh_reproduce_compare(text, dump, &m);
	ck_assert(m.release && m.klass && m.reason && m.cpu && m.comm);
	ck_assert_uint_eq(m.frames_in_order, text->frames->len);
	ck_assert_uint_gt(text->frames->len, 2);
	/* a dump cut short: an error naming it, never a crash */
	ck_assert(g_file_get_contents("tests/fixtures/dump/debian12-6.1-sysrq.kdump", &bytes, &len,
	                              NULL));
	ck_assert(g_file_set_contents(cut, bytes, 8192, NULL));
	g_clear_error(&error);
	ck_assert_ptr_null(kdh_field_load(cut, &error));
	ck_assert_ptr_nonnull(error);
	ck_assert_ptr_nonnull(strstr(error->message, cut));
	g_unlink(cut);
	g_rmdir(dir);
}
END_TEST

/* The sysrq log as other collectors hand it over: CRLF, syslog levels,
 * journal prefixes, no timestamps, junk between lines. */
START_TEST(prefixes_and_crlf)
{
	g_autofree char *path = g_build_filename(FIELD_DIR, "sysrq.log", NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	GString *s = g_string_new(NULL);
	g_autoptr(KdhField) f = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GRegex) stamp = g_regex_new("^\\[ *\\d+\\.\\d+\\] ", 0, 0, NULL);

	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		g_autofree char *bare = g_regex_replace(stamp, lines[i], -1, 0, "", 0, NULL);

		if (i % 3 == 0)
			g_string_append_printf(s, "<4>%s\r\n", bare);
		else if (i % 3 == 1)
			g_string_append_printf(s, "Nov 28 20:30:01 host kernel: %s\r\n", lines[i]);
		else
			g_string_append_printf(s, "%s\r\n\xff\xfe junk \x01\r\n", bare);
	}
	f = kdh_field_parse("journal", s->str, s->len, &error);
	g_string_free(s, TRUE);
	ck_assert_msg(f, "%s", error ? error->message : "");
	assert_boot(f);
	ck_assert_str_eq(f->klass->name, "sysrq");
	ck_assert_str_eq(f->reason, "sysrq triggered crash");
	ck_assert_str_eq(f->comm, "sh");
	ck_assert_str_eq(frame(f, 2), "sysrq_handle_crash");
}
END_TEST

START_TEST(every_class_recognised)
{
	/* One console line per row, as kernels print them. */
	static const struct {
		const char *line, *klass;
	} lines[] = {
	    {"watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [x:1]", "soft-lockup"},
	    {"Watchdog detected hard LOCKUP on cpu 1", "hard-lockup"},
	    {"INFO: task khungtaskd:12 blocked for more than 120 seconds.", "hung-task"},
	    {"Kernel panic - not syncing: Out of memory: compulsory panic_on_oom is enabled",
	     "oom"},
	    {"Kernel panic - not syncing: Fatal local machine check", "mce"},
	    {"Kernel panic - not syncing: NMI: Not continuing", "nmi"},
	    {"Kernel panic - not syncing: sysrq triggered crash", "sysrq"},
	    {"BUG: kernel NULL pointer dereference, address: 0000000000000008", "null-deref"},
	    {"BUG: unable to handle page fault for address: ffffffffc0201000", "page-fault"},
	    {"divide error: 0000 [#1] PREEMPT SMP NOPTI", "divide-error"},
	    {"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: f",
	     "stack-corruption"},
	    {"kernel BUG at mm/slub.c:42!", "bug"},
	    {"Kernel panic - not syncing: kernel: panic_on_warn set ...", "warn"},
	    {"general protection fault, probably for non-canonical address 0xdead: 0000",
	     "general-protection"},
	    {"Oops: 0002 [#1] PREEMPT SMP NOPTI", "oops"},
	    {"Kernel panic - not syncing: VFS: Unable to mount root fs", "panic"},
	};
	gsize n;
	const KdhPanicClass *rows = kdh_panic_classes(&n);

	ck_assert_uint_eq(n, G_N_ELEMENTS(lines));
	for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
		const KdhPanicClass *k = kdh_panic_class_of_line(lines[i].line);

		ck_assert_msg(k, "%s: no class", lines[i].line);
		ck_assert_str_eq(k->name, lines[i].klass);
		ck_assert_ptr_eq(kdh_panic_class_find(lines[i].klass), k);
		ck_assert_str_eq(rows[i].name, lines[i].klass);
		/* every row's trigger is a row of the trigger table */
		ck_assert_msg(kdh_trigger_find(k->trigger), "%s: %s", k->name, k->trigger);
	}
	ck_assert_ptr_null(kdh_panic_class_of_line("Kernel command line: vm.panic_on_oom=1"));
	ck_assert_ptr_null(kdh_panic_class_of_line("KDH: trigger type=sysrq"));
	ck_assert_ptr_null(kdh_panic_class_find("nope"));
}
END_TEST

START_TEST(generic_panic_takes_the_oops_class)
{
	const char *text = "Linux version 6.1.0-56-amd64 (x) #1 SMP Debian 6.1.192-2 (2026)\n"
	                   "WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n"
	                   "BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
	                   "Oops: 0002 [#1] PREEMPT SMP NOPTI\n"
	                   "CPU: 3 PID: 77 Comm: worker Not tainted 6.1.0-56-amd64 #1\n"
	                   "RIP: 0010:my_func.isra.0+0x5/0x10 [mymod]\n"
	                   "Call Trace:\n <TASK>\n ? show_regs+0x1/0x2\n caller+0x1/0x2 [mymod]\n"
	                   " </TASK>\n"
	                   "Kernel panic - not syncing: Fatal exception\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhField) f = parse(text, &error);

	ck_assert_msg(f, "%s", error ? error->message : "");
	ck_assert_str_eq(f->klass->name, "null-deref");
	ck_assert_str_eq(f->reason, "Fatal exception");
	ck_assert_uint_eq(f->crash_line, 3);
	ck_assert_int_eq(f->cpu, 3);
	ck_assert_str_eq(f->comm, "worker");
	ck_assert_uint_eq(f->frames->len, 2);
	ck_assert_str_eq(frame(f, 0), "my_func");
	ck_assert_str_eq(frame(f, 1), "caller");
	/* no Memory: line, e820 missing: unknown, not guessed */
	ck_assert_uint_eq(f->ram_bytes, 0);
	ck_assert_uint_eq(f->cpus, 0);
	ck_assert_ptr_null(f->crashkernel);
}
END_TEST

START_TEST(e820_and_allowing)
{
	const char *text = "Linux version 6.1.0-56-amd64 (x) #1 SMP Debian 6.1.192-2 (2026)\n"
	                   "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n"
	                   "BIOS-e820: [mem 0x0000000000100000-0x000000007ffdafff] usable\n"
	                   "BIOS-e820: [mem 0x000000007ffdb000-0x000000007fffffff] reserved\n"
	                   "BIOS-e820: [mem 0x0000000000100000-0x00000000000fffff] usable\n"
	                   "smpboot: Allowing 6 CPUs, 0 hotplug CPUs\n"
	                   "Memory: 99999999999999999999K/1K available\n"
	                   "Kernel command line: ro crashkernel=1G crashkernel=512M-:192M quiet\n"
	                   "Kernel panic - not syncing: sysrq triggered crash\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhField) f = parse(text, &error);

	ck_assert_msg(f, "%s", error ? error->message : "");
	/* usable ranges summed (the malformed one noted, the bad Memory: line too) */
	ck_assert_uint_eq(f->ram_bytes, 0x9fc00ULL + 0x7fedb000ULL);
	ck_assert_str_eq(f->ram_from, "e820 usable ranges");
	ck_assert_uint_eq(f->cpus, 6);
	ck_assert_str_eq(f->cpus_from, "smpboot: Allowing");
	/* the kernel honours the last crashkernel= */
	ck_assert_str_eq(f->crashkernel, "512M-:192M");
	ck_assert_uint_ge(f->notes->len, 1);
}
END_TEST

START_TEST(no_crash_is_a_clear_error)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = g_build_filename(FIELD_DIR, "README", NULL);

	ck_assert_ptr_null(parse("Linux version 6.1.0 (x) #1\nall fine\n", &error));
	ck_assert_error(error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_INPUT);
	ck_assert_ptr_nonnull(strstr(error->message, "text: no kernel crash in its 2 lines"));
	g_clear_error(&error);
	ck_assert_ptr_null(kdh_field_load(path, &error));
	ck_assert_ptr_nonnull(strstr(error->message, path));
	g_clear_error(&error);
	ck_assert_ptr_null(kdh_field_load("/nonexistent/field.log", &error));
	ck_assert_ptr_nonnull(strstr(error->message, "/nonexistent/field.log"));
}
END_TEST

START_TEST(binary_junk)
{
	g_autofree char *junk = g_malloc(1 << 16);
	g_autoptr(GRand) rand = g_rand_new_with_seed(11);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhField) f = NULL;

	for (gsize i = 0; i < 1 << 16; i++)
		junk[i] = (char)g_rand_int_range(rand, 0, 256);
	ck_assert_ptr_null(kdh_field_parse("junk", junk, 1 << 16, &error));
	ck_assert_error(error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_INPUT);
	g_clear_error(&error);
	/* a crash line in the middle of junk, NUL bytes before it, is still found */
	memcpy(junk + 1000, "\nKernel panic - not syncing: sysrq triggered crash\n", 51);
	junk[10] = '\0';
	f = kdh_field_parse("junk", junk, 1 << 16, &error);
	ck_assert_msg(f, "%s", error ? error->message : "");
	ck_assert_str_eq(f->klass->name, "sysrq");
	ck_assert(g_utf8_validate(f->crash_text, -1, NULL));
}
END_TEST

START_TEST(huge_lines_and_files)
{
	gsize big = KDH_FIELD_MAX_BYTES + 4096;
	g_autofree char *text = g_malloc(big);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhField) f = NULL;
	const char *tail = "\nKernel panic - not syncing: sysrq triggered crash\n";

	/* one line of megabytes, then the panic: the line is cut, the panic found */
	memset(text, 'A', big);
	memcpy(text + KDH_FIELD_MAX_BYTES - 200, tail, strlen(tail));
	f = kdh_field_parse("huge", text, big, &error);
	ck_assert_msg(f, "%s", error ? error->message : "");
	ck_assert(f->truncated);
	ck_assert_str_eq(f->reason, "sysrq triggered crash");
	ck_assert_uint_ge(f->notes->len, 2); /* truncated, and a line cut */
	g_clear_pointer(&f, kdh_field_free);
	/* past the bound, the panic is not read: no crash, said so */
	memset(text, 'A', big);
	memcpy(text + KDH_FIELD_MAX_BYTES + 100, tail, strlen(tail));
	ck_assert_ptr_null(kdh_field_parse("huge", text, big, &error));
	ck_assert_error(error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_INPUT);
	g_clear_error(&error);
	/* millions of empty lines: the line bound, then the panic is not read */
	memset(text, '\n', big);
	memcpy(text + KDH_FIELD_MAX_LINES + 10, tail, strlen(tail));
	ck_assert_ptr_null(kdh_field_parse("empty", text, big, &error));
	ck_assert_ptr_nonnull(strstr(error->message, "200000 lines"));
	g_clear_error(&error);
	memset(text, '\n', big);
	memcpy(text + KDH_FIELD_MAX_LINES - 10, tail, strlen(tail));
	f = kdh_field_parse("empty", text, big, &error);
	ck_assert_msg(f, "%s", error ? error->message : "");
	ck_assert(f->truncated);
	ck_assert_uint_eq(f->lines, KDH_FIELD_MAX_LINES);
}
END_TEST

START_TEST(debian_refs_and_memory)
{
	g_autofree char *a =
	    kdh_reproduce_debian_ref("6.1.0-56-amd64", "(x) #1 SMP Debian 6.1.192-2");
	g_autofree char *b =
	    kdh_reproduce_debian_ref("6.1.0-56-cloud-amd64", "#1 SMP Debian 6.1.1-1");

	ck_assert_str_eq(a, "debian:6.1.0-56-amd64");
	ck_assert_str_eq(b, "debian:6.1.0-56-cloud-amd64");
	ck_assert_ptr_null(kdh_reproduce_debian_ref("6.12.0", "#1 SMP PREEMPT"));
	ck_assert_ptr_null(kdh_reproduce_debian_ref("5.15.0-91-generic", "#101-Ubuntu SMP"));
	ck_assert_ptr_null(kdh_reproduce_debian_ref("6.1.0-56-amd64", "#1 SMP (no distro)"));
	ck_assert_ptr_null(kdh_reproduce_debian_ref(NULL, NULL));
	ck_assert_uint_eq(kdh_reproduce_guest_memory(1048036ULL << 10), 1ULL << 30);
	ck_assert_uint_eq(kdh_reproduce_guest_memory((1ULL << 30) + 1),
	                  (1ULL << 30) + (128ULL << 20));
	ck_assert_uint_eq(kdh_reproduce_guest_memory(1), KDH_REPRODUCE_MIN_MEMORY);
	ck_assert_uint_eq(kdh_reproduce_guest_memory(1ULL << 40), KDH_REPRODUCE_MAX_MEMORY);
}
END_TEST

/* The scenario a fixture maps to, loaded back as kdh run would. */
static KdhCase *scenario_of(const KdhField *f, const KdhReproduceOptions *o, GPtrArray *notes)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *ini = kdh_reproduce_scenario(f, o, notes, &error);
	g_autoptr(GPtrArray) cases = NULL;

	ck_assert_msg(ini, "%s", error ? error->message : "");
	cases = kdh_scenario_load_data("reproduce.ini", ini, &error);
	ck_assert_msg(cases, "%s\n%s", error ? error->message : "", ini);
	ck_assert_uint_eq(cases->len, 1);
	return g_ptr_array_steal_index(cases, 0);
}

START_TEST(scenario_mapping)
{
	static const struct {
		const char *file, *trigger;
	} rows[] = {
	    {"sysrq.log", "sysrq"},    {"null-deref.log", "module:null-deref"},
	    {"bug.log", "module:bug"}, {"softlockup.log", "module:softlockup"},
	    {"oom.log", "oom"},        {"nmi-dmesg.txt", "nmi"},
	};
	KdhReproduceOptions o = {.name = "field-case"};

	for (gsize i = 0; i < G_N_ELEMENTS(rows); i++) {
		g_autoptr(KdhField) f = load(rows[i].file);
		g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(KdhCase) c = scenario_of(f, &o, notes);

		ck_assert_str_eq(c->name, "field-case");
		ck_assert_str_eq(c->kernel_ref, "debian:6.1.0-56-amd64");
		ck_assert_uint_eq(c->memory, 1ULL << 30);
		ck_assert_uint_eq(c->cpus, 2);
		ck_assert_str_eq(c->crashkernel, "256M");
		ck_assert_str_eq(c->image, "mini");
		ck_assert_str_eq(c->trigger->name, rows[i].trigger);
		ck_assert_int_eq(c->outcome, KDH_OUTCOME_DUMP);
		ck_assert_uint_eq(notes->len, 0);
		if (c->trigger->pins_cpu)
			ck_assert_int_eq(c->cpu, f->cpu);
	}
}
END_TEST

START_TEST(scenario_needs_a_kernel)
{
	const char *text = "Linux version 6.12.3-custom (me@host) #4 SMP PREEMPT\n"
	                   "Kernel panic - not syncing: sysrq triggered crash\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhField) f = parse(text, &error);
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	KdhReproduceOptions o = {.name = "x"};
	g_autoptr(KdhCase) c = NULL;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_null(kdh_reproduce_scenario(f, &o, notes, &error));
	ck_assert_error(error, KDH_REPRODUCE_ERROR, KDH_REPRODUCE_ERROR_KERNEL);
	ck_assert_ptr_nonnull(strstr(error->message, "--kernel import:"));
	ck_assert_ptr_nonnull(strstr(error->message, "6.12.3-custom"));
	g_autofree char *dir = g_dir_make_tmp("kdh-reproduce-XXXXXX", NULL);
	g_autofree char *vmlinuz = g_build_filename(dir, "vmlinuz-6.12.3-custom", NULL);
	g_autofree char *ref = g_strconcat("import:", vmlinuz, NULL);

	ck_assert(g_file_set_contents(vmlinuz, "not a kernel", -1, NULL));
	o.kernel = ref;
	o.image = "debian";
	c = scenario_of(f, &o, notes);
	g_unlink(vmlinuz);
	g_rmdir(dir);
	ck_assert_str_eq(c->kernel_ref, ref);
	ck_assert_str_eq(c->image, "debian");
	/* no RAM, no CPUs, no crashkernel=: defaults, each said */
	ck_assert_str_eq(c->crashkernel, KDH_REPRODUCE_DEFAULT_CRASHKERNEL);
	ck_assert_uint_eq(c->memory, 1ULL << 30);
	ck_assert_uint_eq(notes->len, 3);
	ck_assert_ptr_nonnull(strstr(g_ptr_array_index(notes, 2), "no crashkernel="));
}
END_TEST

START_TEST(hostile_reason_in_scenario)
{
	/* A reason line with INI syntax in it stays text. */
	const char *text = "Linux version 6.1.0-56-amd64 (x) #1 SMP Debian 6.1.192-2 (2026)\n"
	                   "smpboot: Allowing 64 CPUs, 0 hotplug CPUs\n"
	                   "Memory: 1K/268435456K available\n"
	                   "Kernel command line: crashkernel=bogus!\n"
	                   "Kernel panic - not syncing: x\\n[kernel]\\nref=import:/etc [vm]\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhField) f = parse(text, &error);
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	KdhReproduceOptions o = {.name = "x"};
	g_autoptr(KdhCase) c = NULL;

	ck_assert_ptr_nonnull(f);
	c = scenario_of(f, &o, notes);
	ck_assert_str_eq(c->kernel_ref, "debian:6.1.0-56-amd64");
	ck_assert_str_eq(c->trigger->name, "module:panic");
	ck_assert_uint_eq(c->cpus, KDH_REPRODUCE_MAX_CPUS);
	ck_assert_uint_eq(c->memory, KDH_REPRODUCE_MAX_MEMORY);
	ck_assert_str_eq(c->crashkernel, KDH_REPRODUCE_DEFAULT_CRASHKERNEL);
	ck_assert_uint_eq(notes->len, 3);
}
END_TEST

START_TEST(frame_matching)
{
	g_autoptr(KdhField) sysrq = load("sysrq.log");
	g_autoptr(KdhField) oom = load("oom.log");
	g_autoptr(KdhField) nd = load("null-deref.log");
	KdhReproduceMatch m;

	kdh_reproduce_compare(sysrq, sysrq, &m);
	ck_assert(m.release && m.klass && m.reason && m.cpu && m.comm);
	ck_assert_uint_eq(m.frames_field, KDH_FIELD_FRAMES);
	ck_assert_uint_eq(m.frames_common, KDH_FIELD_FRAMES);
	ck_assert_uint_eq(m.frames_in_order, KDH_FIELD_FRAMES);
	/* sysrq against oom: dump_stack_lvl and panic in common and in order */
	kdh_reproduce_compare(sysrq, oom, &m);
	ck_assert(m.release && !m.klass && !m.reason && !m.cpu && !m.comm);
	ck_assert_uint_eq(m.frames_common, 2);
	ck_assert_uint_eq(m.frames_in_order, 2);
	kdh_reproduce_compare(sysrq, nd, &m);
	ck_assert_uint_eq(m.frames_common, 0);
	ck_assert_uint_eq(m.frames_in_order, 0);
	/* offsets, modules and ".cold" ignored: the same function matches */
	{
		const char *a =
		    "Kernel panic - not syncing: x\nCPU: 0 PID: 1 Comm: a\nCall Trace:\n"
		    " f.cold+0x1/0x2 [m]\n g+0x10/0x20\n";
		const char *b =
		    "Kernel panic - not syncing: x\nCPU: 0 PID: 1 Comm: a\nCall Trace:\n"
		    " f+0x9/0x90\n h+0x1/0x2\n g+0x1/0x2\n";
		g_autoptr(KdhField) fa = parse(a, NULL);
		g_autoptr(KdhField) fb = parse(b, NULL);

		kdh_reproduce_compare(fa, fb, &m);
		ck_assert_uint_eq(m.frames_field, 2);
		ck_assert_uint_eq(m.frames_common, 2);
		ck_assert_uint_eq(m.frames_in_order, 1);
	}
}
END_TEST

Suite *reproduce_suite(void);
Suite *reproduce_suite(void)
{
	Suite *s = suite_create("reproduce");
	TCase *tc = tcase_create("reproduce");

	tcase_add_test(tc, sysrq_log);
	tcase_add_test(tc, null_deref_log);
	tcase_add_test(tc, bug_log);
	tcase_add_test(tc, softlockup_log);
	tcase_add_test(tc, oom_log);
	tcase_add_test(tc, nmi_dmesg);
	tcase_add_test(tc, vmcore_field);
	tcase_add_test(tc, prefixes_and_crlf);
	tcase_add_test(tc, every_class_recognised);
	tcase_add_test(tc, generic_panic_takes_the_oops_class);
	tcase_add_test(tc, e820_and_allowing);
	tcase_add_test(tc, no_crash_is_a_clear_error);
	tcase_add_test(tc, binary_junk);
	tcase_add_test(tc, debian_refs_and_memory);
	tcase_add_test(tc, scenario_mapping);
	tcase_add_test(tc, scenario_needs_a_kernel);
	tcase_add_test(tc, hostile_reason_in_scenario);
	tcase_add_test(tc, frame_matching);
	suite_add_tcase(s, tc);
	/* Buffers of tens of MiB parsed four times: seconds under the
	 * sanitizers, which Check's default 4 s does not always leave. */
	TCase *big = tcase_create("reproduce-big");
	tcase_set_timeout(big, 60);
	tcase_add_test(big, huge_lines_and_files);
	suite_add_tcase(s, big);
	return s;
}
