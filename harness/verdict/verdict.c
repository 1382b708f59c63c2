/* A case's evidence against its expectations.  PASS needs the dump itself:
 * what the console says is diagnosis, never proof. */
#include "verdict/verdict.h"
#include "dump/dump.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

/* Strings from a dump are guest memory: bounded like a console line. */
#define DUMP_TEXT_MAX 4096

void kdh_console_evidence_clear(KdhConsoleEvidence *e)
{
	g_clear_pointer(&e->booted_release, g_free);
	g_clear_pointer(&e->capture_rc, g_free);
	g_clear_pointer(&e->guest_failure, g_free);
	g_clear_pointer(&e->timeout_phase, g_free);
	g_clear_pointer(&e->timeout_message, g_free);
	g_clear_pointer(&e->skip_reason, g_free);
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

/* What the dump's headers and memory say about itself, against what the
 * case asked for: the kernel (twice: VMCOREINFO and init_uts_ns in memory),
 * the dump level and compression the collector was told to use. */
static void check_summary(KdhResult *r, const KdhCase *c, const char *release, dump_t *d)
{
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

static void verify_dump(KdhResult *r, const KdhCase *c, const char *release, const char *vmcore)
{
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
	check_summary(r, c, release, d);
	check_pages(r, d);

	if (dump_dmesg(d, &dmesg, &len) != DUMP_OK) {
		kdh_result_fail(r, KDH_VERDICT_FAIL, "reading dmesg from the dump: %s",
		                dump_error(d));
	} else if (c->expect_panic) {
		r->dump_panic = line_with(dmesg, len, c->expect_panic);
		if (!r->dump_panic)
			kdh_result_fail(r, KDH_VERDICT_FAIL,
			                "the dump's dmesg (%zu bytes) has no line with '%s'", len,
			                c->expect_panic);
		else
			kdh_result_check(r, "dump dmesg: %s", g_strstrip(r->dump_panic));
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

void kdh_verdict_judge(KdhResult *r, const KdhCase *c, const KdhEvidence *e)
{
	const char *failure = e->console->guest_failure;

	if (e->console->timeout_phase && c->outcome == KDH_OUTCOME_DUMP)
		kdh_result_fail(r, KDH_VERDICT_TIMEOUT, "%s", e->console->timeout_message);
	if (!e->crash_dir) {
		if (c->outcome == KDH_OUTCOME_DUMP)
			kdh_result_fail(r, KDH_VERDICT_FAIL, "no dump on the guest disk (%s): %s",
			                e->no_crash,
			                failure ? failure : "the console says nothing");
		else
			kdh_result_check(r, "no dump on the guest disk, as expected: %s",
			                 failure ? failure : "the console says nothing");
		return;
	}
	if (c->outcome == KDH_OUTCOME_NO_DUMP) {
		kdh_result_fail(r, KDH_VERDICT_FAIL, "a dump was written to %s, none was expected",
		                e->crash_dir);
		return;
	}
	if (failure)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "%s", failure);
	check_collector(r, e->console);
	if (!e->vmcore)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "%s holds no vmcore", e->crash_dir);
	else
		verify_dump(r, c, e->release, e->vmcore);
}
