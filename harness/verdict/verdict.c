/* A case's evidence against its expectations.  PASS needs the dump itself:
 * what the console says is diagnosis, never proof. */
#include "verdict/verdict.h"
#include "dump/dump.h"
#include "util/util.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

/* Strings from a dump are guest memory: bounded like a console line. */
#define DUMP_TEXT_MAX 4096
/* The crash's time may be this far outside the run (the guest's clock). */
#define KDH_CRASH_TIME_SLACK 120
/* An oops report (the WARNING or BUG line, registers, trace) is this many
 * lines at most before the panic line it leads to. */
#define TRACE_BEFORE 100u

void kdh_console_evidence_clear(KdhConsoleEvidence *e)
{
	g_clear_pointer(&e->booted_release, g_free);
	g_clear_pointer(&e->cmdline, g_free);
	g_clear_pointer(&e->loaded, g_free);
	g_clear_pointer(&e->crash_size, g_free);
	g_clear_pointer(&e->service_ready, g_free);
	g_clear_pointer(&e->service, g_free);
	g_clear_pointer(&e->capture_rc, g_free);
	g_clear_pointer(&e->guest_failure, g_free);
	g_clear_pointer(&e->timeout_phase, g_free);
	g_clear_pointer(&e->timeout_message, g_free);
	g_clear_pointer(&e->skip_reason, g_free);
	g_clear_pointer(&e->reservation, g_free);
	e->capture_done = FALSE;
	e->armed = FALSE;
	e->capture_started = FALSE;
}

static char *dump_text(const char *s)
{
	return kdh_guest_text(s, -1, DUMP_TEXT_MAX);
}

/* The line of TEXT (LEN bytes) that holds NEEDLE, as text, or NULL. */
static char *line_with(const char *text, size_t len, const char *needle)
{
	const char *hit = g_strstr_len(text, len, needle), *start, *end;

	if (!hit)
		return NULL;
	for (start = hit; start > text && start[-1] != '\n'; start--)
		;
	end = memchr(hit, '\n', text + len - hit);
	return kdh_guest_text(start, (end ? end : text + len) - start, DUMP_TEXT_MAX);
}

/* When the dump says the kernel crashed: VMCOREINFO's CRASHTIME (6.1 and
 * 6.12 write it at the crash, kernel/crash_core.c and kernel/vmcore_info.c),
 * else the kdump-compressed header's timestamp.  It must fall in this run:
 * not before the case started, not after now, give or take
 * KDH_CRASH_TIME_SLACK for the guest's clock (a TCG guest's clock comes from
 * the host's at boot and drifts little).  A dump with neither has no date at
 * all, so it cannot be told from an older dump left on the disk: a FAIL. */
static void check_crash_time(KdhResult *r, const dump_summary *sum, gint64 started)
{
	gint64 t = sum->crash_time > 0 ? sum->crash_time : sum->header_time;
	const char *source = sum->crash_time > 0 ? "VMCOREINFO CRASHTIME" : "header timestamp";
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(GDateTime) when = NULL;
	g_autofree char *shown = NULL;

	if (t <= 0) {
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "the dump carries no crash time (no VMCOREINFO CRASHTIME, no "
		                "header timestamp): it cannot be shown to come from this run");
		return;
	}
	when = g_date_time_new_from_unix_utc(t);
	shown = when ? g_date_time_format(when, "%Y-%m-%d %H:%M:%S UTC")
	             : g_strdup_printf("%" G_GINT64_FORMAT, t);
	if (started <= 0) {
		kdh_result_check(r, "dump crash time %s (%s); the case's start is unknown", shown,
		                 source);
		return;
	}
	if (t < started - KDH_CRASH_TIME_SLACK)
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "the dump's crash time %s (%s) is %" G_GINT64_FORMAT
		                " s before this case started (more than the %d s allowed): an "
		                "older dump",
		                shown, source, started - t, KDH_CRASH_TIME_SLACK);
	else if (t > now + KDH_CRASH_TIME_SLACK)
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "the dump's crash time %s (%s) is %" G_GINT64_FORMAT
		                " s in the future (more than the %d s allowed)",
		                shown, source, t - now, KDH_CRASH_TIME_SLACK);
	else
		kdh_result_check(r, "dump crash time %s (%s) is within this run (±%d s)", shown,
		                 source, KDH_CRASH_TIME_SLACK);
}

/* The crashing CPU, where the trigger fixes it ([crash] cpu= on a row that
 * pins it): the CPU of the panic's dump_stack() header in the dump's own
 * dmesg, cross-checked with that CPU's PRSTATUS note (the notes are one per
 * online CPU in CPU order, so with every CPU present note N is CPU N, and
 * crash_save_cpu() wrote the crashing task's pid into it).  For a hang
 * fired by the host's watchdog NMI: a note with registers for every CPU of
 * the guest, the frozen CPUs' state. */
static void check_cpus(KdhResult *r, const KdhCase *c, const dump_summary *sum, dump_t *d)
{
	unsigned n = dump_cpu_count(d);

	if (c->cpu >= 0 && c->trigger && c->trigger->pins_cpu) {
		dump_cpu_regs regs;

		if (sum->panic_cpu < 0)
			kdh_result_fail(r, KDH_VERDICT_FAIL,
			                "the dump's dmesg names no crashing CPU (no 'CPU: N PID: N "
			                "Comm:' header); CPU %d was asked for",
			                c->cpu);
		else if (sum->panic_cpu != c->cpu)
			kdh_result_fail(
			    r, KDH_VERDICT_FAIL,
			    "the dump's crashing CPU is %d, the trigger was fired on CPU %d",
			    sum->panic_cpu, c->cpu);
		else if (n == c->cpus && dump_cpu(d, (unsigned)c->cpu, &regs) == DUMP_OK &&
		         regs.pid >= 0 && sum->panic_pid >= 0 && regs.pid != sum->panic_pid)
			kdh_result_fail(
			    r, KDH_VERDICT_FAIL,
			    "the dump's dmesg says CPU %d ran pid %d, its PRSTATUS note "
			    "says pid %d",
			    c->cpu, sum->panic_pid, regs.pid);
		else
			kdh_result_check(r, "dump crashing CPU %d (dmesg%s), as asked", c->cpu,
			                 n == c->cpus ? " and its PRSTATUS note" : "");
	}
	if (c->trigger && c->trigger->fire == KDH_FIRE_HOST_WATCHDOG) {
		guint with_regs = 0;

		for (unsigned i = 0; i < n; i++) {
			dump_cpu_regs regs;
			if (dump_cpu(d, i, &regs) == DUMP_OK && regs.regs_known && regs.reg[16])
				with_regs++;
		}
		if (n != c->cpus || with_regs != n)
			kdh_result_fail(
			    r, KDH_VERDICT_FAIL,
			    "the dump holds %u CPU notes (%u with registers), the guest "
			    "has %u CPUs: the frozen CPUs' state is not all there",
			    n, with_regs, c->cpus);
		else
			kdh_result_check(r, "dump holds the registers of all %u frozen CPUs", n);
	}
}

/* What the dump's headers and memory say about itself, against what the
 * case asked for: the kernel (twice: VMCOREINFO and init_uts_ns in memory),
 * the dump level and compression the collector was told to use. */
static void check_summary(KdhResult *r, const KdhCase *c, const KdhEvidence *e, dump_t *d)
{
	const char *release = e->release;
	dump_summary sum;

	if (dump_summarize(d, &sum) != DUMP_OK) {
		kdh_result_fail(r, KDH_VERDICT_FAIL, "summarising the dump: %s", dump_error(d));
		return;
	}
	r->dump_format = g_strdup(sum.format);
	r->dump_compression = g_strdup(sum.compression);
	r->dump_level = sum.dump_level;
	r->dump_pages_dumped = sum.pages.dumped;
	r->dump_pages_total = sum.pages.total;
	r->dump_release_memory = dump_text(sum.release);
	if (sum.panic_pid >= 0) {
		g_autofree char *comm = dump_text(sum.panic_comm);
		r->dump_panic_task =
		    g_strdup_printf("cpu %d pid %d comm %s", sum.panic_cpu, sum.panic_pid, comm);
	}
	if (!sum.release[0])
		kdh_result_fail(r, KDH_VERDICT_FAIL, "init_uts_ns is unreadable in the dump");
	else if (!g_str_equal(sum.release, release))
		kdh_result_fail(r, KDH_VERDICT_FAIL, "init_uts_ns in the dump says %s, not %s",
		                r->dump_release_memory, release);
	check_crash_time(r, &sum, e->started_unix);
	check_cpus(r, c, &sum, d);
	if (!g_str_equal(c->collector, "makedumpfile"))
		return;
	if (sum.dump_level >= 0 && (guint)sum.dump_level != c->dump_level)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "the dump has dump level %d, %u was asked for",
		                sum.dump_level, c->dump_level);
	if (!g_str_equal(sum.compression, c->compression))
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "the dump is compressed with %s, %s was asked for", sum.compression,
		                c->compression);
}

/* Every page decompressed and checked, the incomplete markers read. */
static void check_pages(KdhResult *r, dump_t *d)
{
	dump_check_result chk;

	if (dump_check(d, &chk) != DUMP_OK) {
		kdh_result_fail(r, KDH_VERDICT_FAIL, "verifying the dump: %s", dump_error(d));
		return;
	}
	r->dump_pages_checked = chk.pages_checked;
	switch (chk.verdict) {
	case DUMP_VERDICT_PASS:
		kdh_result_check(r, "dump verified: %" G_GUINT64_FORMAT " pages",
		                 (guint64)chk.pages_checked);
		break;
	case DUMP_VERDICT_INCOMPLETE:
		kdh_result_fail(r, KDH_VERDICT_FAIL, "the dump is incomplete: %s", chk.problem[0]);
		break;
	case DUMP_VERDICT_FAIL:
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "the dump is corrupt: %s (%" G_GUINT64_FORMAT " problems)",
		                chk.problem[0], (guint64)chk.problems);
		break;
	}
}

/* Whether LINE holds FUNC as a call trace entry: the name standing alone
 * (after a space, ':' or '(' or at the start) and followed by "+0x" or a
 * compiler suffix (".cold+0x", ".isra.0+0x"), as the kernel prints %pS. */
static gboolean trace_entry(const char *line, gsize len, const char *func)
{
	gsize flen = strlen(func);

	for (const char *p = line; (p = g_strstr_len(p, line + len - p, func)); p++) {
		const char *after = p + flen;
		gboolean starts = p == line || p[-1] == ' ' || p[-1] == ':' || p[-1] == '(';
		if (starts && after + 3 <= line + len &&
		    (g_str_has_prefix(after, "+0x") || after[0] == '.'))
			return TRUE;
	}
	return FALSE;
}

/* The panic's call trace holds FUNC: a trace entry for it in the dump's own
 * dmesg, from TRACE_BEFORE lines before the last line with SIGNATURE (an
 * oops prints its RIP and trace before the panic line; a panic prints its
 * trace after) to the end, where the log stopped at the crash. */
static void check_function(KdhResult *r, const char *dmesg, const char *signature, const char *func)
{
	g_auto(GStrv) lines = g_strsplit(dmesg, "\n", -1);
	guint n = g_strv_length(lines), last = n, from;

	for (guint i = 0; i < n; i++) {
		if (strstr(lines[i], signature))
			last = i;
	}
	from = last > TRACE_BEFORE ? last - TRACE_BEFORE : 0;
	for (guint i = from; last < n && i < n; i++) {
		if (trace_entry(lines[i], strlen(lines[i]), func)) {
			g_autofree char *shown = dump_text(lines[i]);
			kdh_result_check(r, "dump call trace: %s", g_strstrip(shown));
			return;
		}
	}
	kdh_result_fail(r, KDH_VERDICT_FAIL,
	                "the dump's dmesg shows no '%s' in the panic's call trace (from %u lines "
	                "before the last '%s' line on)",
	                func, TRACE_BEFORE, signature);
}

/* The most of kdh_verdict_find_dump's explanation, per file. */
#define FIND_WHY_FILE_MAX 160

const char *kdh_verdict_find_dump(GPtrArray *files, char **why)
{
	g_autoptr(GString) what = g_string_new(NULL);
	const char *best = NULL;
	goffset best_size = -1;

	for (guint i = 0; files && i < files->len; i++) {
		const char *path = g_ptr_array_index(files, i);
		g_autofree char *base = g_path_get_basename(path);
		g_autofree char *err = NULL;
		dump_t *d = dump_new();
		GStatBuf st;

		if (d && dump_open(d, path) == DUMP_OK && g_stat(path, &st) == 0) {
			if (st.st_size > best_size) {
				best = path;
				best_size = st.st_size;
			}
		} else {
			err = kdh_guest_text(d ? dump_error(d) : "out of memory", -1,
			                     FIND_WHY_FILE_MAX);
			g_string_append_printf(what, "%s%s: %s", what->len ? "; " : "", base, err);
		}
		dump_free(d);
	}
	if (!best && why)
		*why = g_strdup(what->len ? what->str : "no file");
	return best;
}

/* The dump's dmesg (LEN bytes, guest text) into the case's folder, for
 * people and the reports' links; a failure is a warning, not a verdict. */
static void save_dmesg(KdhResult *r, const char *case_dir, const char *dmesg, size_t len)
{
	g_autofree char *path = g_build_filename(case_dir, KDH_VERDICT_DMESG_FILE, NULL);
	g_autofree char *text = g_utf8_make_valid(dmesg, (gssize)len);
	g_autoptr(GError) error = NULL;

	if (!g_file_set_contents(path, text, -1, &error)) {
		kdh_result_warn(r, "the dump's dmesg was not saved: %s", error->message);
		return;
	}
	r->dump_dmesg_file = g_strdup(KDH_VERDICT_DMESG_FILE);
}

static void verify_dump(KdhResult *r, const KdhCase *c, const KdhEvidence *e, const char *vmcore)
{
	const char *release = e->release;
	dump_t *d = dump_new();
	char *dmesg = NULL;
	size_t len = 0;
	const char *osrelease;

	if (!d) {
		kdh_result_fail(r, KDH_VERDICT_ERROR, "out of memory");
		return;
	}
	if (dump_open(d, vmcore) != DUMP_OK) {
		kdh_result_fail(r, KDH_VERDICT_FAIL, "the dump does not open: %s", dump_error(d));
		dump_free(d);
		return;
	}
	osrelease = dump_vmcoreinfo(d, "OSRELEASE");
	r->dump_osrelease = dump_text(osrelease);
	if (!osrelease)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "the dump's VMCOREINFO has no OSRELEASE");
	else if (!g_str_equal(osrelease, release))
		kdh_result_fail(r, KDH_VERDICT_FAIL, "the dump is of kernel %s, but %s was booted",
		                r->dump_osrelease, release);
	else
		kdh_result_check(r, "dump VMCOREINFO OSRELEASE=%s", r->dump_osrelease);
	check_summary(r, c, e, d);
	check_pages(r, d);

	if (dump_dmesg(d, &dmesg, &len) != DUMP_OK) {
		kdh_result_fail(r, KDH_VERDICT_FAIL, "reading dmesg from the dump: %s",
		                dump_error(d));
		free(dmesg);
		dump_free(d);
		return;
	}
	if (e->case_dir)
		save_dmesg(r, e->case_dir, dmesg, len);
	if (c->expect_panic) {
		r->dump_panic = line_with(dmesg, len, c->expect_panic);
		if (!r->dump_panic)
			kdh_result_fail(r, KDH_VERDICT_FAIL,
			                "the dump's dmesg (%zu bytes) has no line with '%s'", len,
			                c->expect_panic);
		else {
			kdh_result_check(r, "dump dmesg: %s", g_strstrip(r->dump_panic));
			if (c->expect_function)
				check_function(r, dmesg, c->expect_panic, c->expect_function);
		}
	}
	free(dmesg);
	dump_free(d);
}

/* The collector's exit status, from the capture-done marker: only a
 * well-formed 0 is success ("rc=", "rc=abc", "rc=-0" are not). */
static void check_collector(KdhResult *r, const KdhConsoleEvidence *con)
{
	guint64 rc;

	if (!con->capture_done)
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "the console shows no 'capture-done' marker: the collector's "
		                "exit status is unknown");
	else if (!con->capture_rc ||
	         !g_ascii_string_to_unsigned(con->capture_rc, 10, 0, 255, &rc, NULL))
		kdh_result_fail(r, KDH_VERDICT_FAIL,
		                "capture-done rc='%s' is not an exit status: the collector's "
		                "result is unknown",
		                con->capture_rc ? con->capture_rc : "");
	else if (rc != 0)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "the collector exited with status %u",
		                (guint)rc);
}

/* A no-dump case: passes only when the console's diagnosis is the reason
 * it expects. */
static void judge_no_dump(KdhResult *r, const KdhCase *c, const KdhEvidence *e,
                          KdhNoDumpReason found, const char *line)
{
	const char *expected = kdh_reason_name(c->expect_reason);
	const char *failure = e->console->guest_failure;

	/* A capture cut short (a timeout, the capture kernel dying) may leave
	 * a folder with part of a dump: that is the failure expected, not a
	 * dump.  A capture that said it was done wrote one. */
	if (e->crash_dir && e->console->capture_done)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "a dump was written to %s, none was expected",
		                e->crash_dir);
	else if (found != KDH_REASON_NONE && found == c->expect_reason && e->crash_dir)
		kdh_result_check(r,
		                 "no complete dump, as expected: %s: %s (the capture left %s, "
		                 "not verified)",
		                 expected, line, e->crash_dir);
	else if (found != KDH_REASON_NONE && found == c->expect_reason)
		kdh_result_check(r, "no dump, as expected: %s: %s", expected, line);
	else if (found != KDH_REASON_NONE)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "expected %s, diagnosed %s: %s", expected,
		                kdh_reason_name(found), line);
	else if (e->console->timeout_phase)
		kdh_result_fail(r, KDH_VERDICT_TIMEOUT, "%s; expected %s, no diagnosis",
		                e->console->timeout_message ? e->console->timeout_message
		                                            : e->console->timeout_phase,
		                expected);
	else
		kdh_result_fail(r, KDH_VERDICT_FAIL, "expected %s, no diagnosis: %s", expected,
		                failure ? failure : "the console says nothing");
}

void kdh_verdict_judge(KdhResult *r, const KdhCase *c, const KdhEvidence *e)
{
	const KdhConsoleEvidence *con = e->console;
	const char *failure = con->guest_failure;
	g_autoptr(KdhSerialLog) log = NULL;
	g_autofree char *line = NULL, *not_dump = NULL;
	const char *vmcore;
	KdhNoDumpReason found;

	if (e->serial_log) {
		g_autoptr(GError) error = NULL;
		log = kdh_serial_log_read(e->serial_log, &error);
		if (!log)
			kdh_result_warn(
			    r, "the console log was not read for warnings and diagnosis: %s",
			    error->message);
		else
			kdh_verdict_warnings(r, log);
	}
	found = kdh_verdict_diagnose(log, con, &line);
	if (found != KDH_REASON_NONE) {
		r->diagnosis = g_strdup(kdh_reason_name(found));
		r->diagnosis_line = g_strdup(line);
	}
	if (c->outcome == KDH_OUTCOME_NO_DUMP) {
		kdh_verdict_readiness(r, c, log, con);
		judge_no_dump(r, c, e, found, line);
		return;
	}
	if (con->timeout_phase)
		kdh_result_fail(r, KDH_VERDICT_TIMEOUT, "%s",
		                con->timeout_message ? con->timeout_message : con->timeout_phase);
	/* What a user reads first of a case that got no dump: why. */
	if (!e->crash_dir && found != KDH_REASON_NONE)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "%s at crashkernel=%s: %s",
		                kdh_reason_name(found), c->crashkernel, line);
	kdh_verdict_readiness(r, c, log, con);
	if (!e->crash_dir) {
		kdh_result_fail(r, KDH_VERDICT_FAIL, "no dump on the guest disk (%s): %s",
		                e->no_crash, failure ? failure : "the console says nothing");
		return;
	}
	if (failure)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "%s", failure);
	check_collector(r, con);
	vmcore = kdh_verdict_find_dump(e->files, &not_dump);
	if (!vmcore) {
		kdh_result_fail(r, KDH_VERDICT_FAIL, "%s holds no dump kdh's reader opens (%s)",
		                e->crash_dir, not_dump);
	} else {
		g_autofree char *base = g_path_get_basename(vmcore);
		r->dump_file = g_build_filename(e->crash_dir, base, NULL);
		r->dump_local = g_strdup(vmcore);
		verify_dump(r, c, e, vmcore);
		kdh_result_check(r, "dump file %s (%s), found by its content", r->dump_file,
		                 r->dump_format ? r->dump_format : "format unknown");
	}
	/* The second opinion, on a dump kdh's reader accepted: crash(8) must
	 * open it too, and see the same panic. */
	if (vmcore && e->vmlinux && e->case_dir && r->verdict == KDH_VERDICT_PASS) {
		g_autofree char *out = g_build_filename(e->case_dir, KDH_VERDICT_CRASH_FILE, NULL);
		KdhCrashOptions opts = {.module_name = e->crash_module ? "kdh_crash" : NULL,
		                        .module_object = e->crash_module};
		kdh_verdict_crash_full(r, c, e->vmlinux, vmcore, out, &opts);
	}
	if (r->verdict != KDH_VERDICT_PASS && found != KDH_REASON_NONE)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "diagnosis: %s at crashkernel=%s: %s",
		                kdh_reason_name(found), c->crashkernel, line);
}
