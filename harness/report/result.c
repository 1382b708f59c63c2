/* A KdhResult: its life, its verdict, and what a set of verdicts means for
 * the exit status. */
#include "report/report.h"

static const char *const verdict_names[KDH_VERDICT_COUNT] = {
    [KDH_VERDICT_PASS] = "PASS",       [KDH_VERDICT_FAIL] = "FAIL",
    [KDH_VERDICT_ERROR] = "ERROR",     [KDH_VERDICT_SKIP] = "SKIP",
    [KDH_VERDICT_TIMEOUT] = "TIMEOUT", [KDH_VERDICT_NOT_RUN] = "NOT-RUN",
};

const char *kdh_verdict_name(KdhVerdict v)
{
	return (guint)v < KDH_VERDICT_COUNT ? verdict_names[v] : "ERROR";
}

gboolean kdh_verdict_from_name(const char *name, KdhVerdict *v)
{
	for (guint i = 0; name && i < KDH_VERDICT_COUNT; i++) {
		if (g_str_equal(name, verdict_names[i])) {
			*v = (KdhVerdict)i;
			return TRUE;
		}
	}
	return FALSE;
}

int kdh_report_exit_status(const KdhVerdictCounts *counts)
{
	if (counts->n[KDH_VERDICT_FAIL])
		return 1;
	/* A case that did not run proves nothing: as for a harness failure, the
	 * gate must not pass. */
	if (counts->n[KDH_VERDICT_ERROR] || counts->n[KDH_VERDICT_TIMEOUT] ||
	    counts->n[KDH_VERDICT_NOT_RUN])
		return 3;
	return 0;
}

static void phase_free(KdhPhase *p)
{
	g_free(p->name);
	g_free(p);
}

KdhResult *kdh_result_new(const char *case_name)
{
	KdhResult *r = g_new0(KdhResult, 1);

	r->case_name = g_strdup(case_name);
	r->verdict = KDH_VERDICT_PASS;
	r->dump_level = -1;
	r->uploaded_bytes = -1;
	r->downloaded_bytes = -1;
	r->asked.dump_level = -1;
	r->asked.cpu = -1;
	r->readiness.reserved_mb = -1;
	r->readiness.loaded = -1;
	r->readiness.crash_size = -1;
	r->readiness.service_ready = -1;
	r->reasons = g_ptr_array_new_with_free_func(g_free);
	r->checks = g_ptr_array_new_with_free_func(g_free);
	r->phases = g_ptr_array_new_with_free_func((GDestroyNotify)phase_free);
	r->files = g_ptr_array_new_with_free_func(g_free);
	r->serial_tail = g_ptr_array_new_with_free_func(g_free);
	r->ignored_markers = g_ptr_array_new_with_free_func(g_free);
	r->warnings = g_ptr_array_new_with_free_func(g_free);
	return r;
}

static void asked_clear(KdhAsked *a)
{
	g_free(a->crashkernel);
	g_free(a->trigger);
	g_free(a->collector);
	g_free(a->compression);
	g_free(a->outcome);
	g_free(a->expect_panic);
	g_free(a->expect_function);
	g_free(a->expect_reason);
	g_free(a->verify_crash);
	g_free(a->image);
}

void kdh_result_free(KdhResult *r)
{
	if (!r)
		return;
	g_free(r->case_name);
	g_free(r->scenario_file);
	g_ptr_array_unref(r->reasons);
	g_ptr_array_unref(r->checks);
	g_ptr_array_unref(r->phases);
	g_free(r->phase);
	g_free(r->failed_phase);
	asked_clear(&r->asked);
	g_free(r->started_at);
	g_free(r->kdh_version);
	g_free(r->accel);
	g_free(r->host);
	g_free(r->kernel_ref);
	g_free(r->kernel_release);
	g_free(r->kernel_package);
	g_free(r->kernel_version);
	g_free(r->results_dir);
	g_ptr_array_unref(r->files);
	g_ptr_array_unref(r->serial_tail);
	g_ptr_array_unref(r->ignored_markers);
	g_ptr_array_unref(r->warnings);
	g_free(r->readiness.crashkernel);
	g_free(r->readiness.reserved);
	g_free(r->readiness.service_status);
	g_free(r->diagnosis);
	g_free(r->diagnosis_line);
	kdh_inputs_clear(&r->inputs);
	g_free(r->matrix_kernel);
	g_free(r->matrix_scenario);
	g_free(r->dump_dmesg_file);
	g_free(r->dump_file);
	g_free(r->dump_local);
	g_free(r->dump_format);
	g_free(r->dump_compression);
	g_free(r->dump_osrelease);
	g_free(r->dump_release_memory);
	g_free(r->dump_panic);
	g_free(r->dump_panic_task);
	g_free(r);
}

void kdh_result_add_phase(KdhResult *r, const char *name, double seconds)
{
	KdhPhase *p = g_new0(KdhPhase, 1);

	p->name = g_strdup(name);
	p->seconds = seconds;
	g_ptr_array_add(r->phases, p);
}

void kdh_result_enter_phase(KdhResult *r, const char *name)
{
	g_free(r->phase);
	r->phase = g_strdup(name);
}

void kdh_result_fail(KdhResult *r, KdhVerdict verdict, const char *fmt, ...)
{
	va_list ap;

	if (r->verdict == KDH_VERDICT_PASS && verdict != KDH_VERDICT_PASS) {
		r->verdict = verdict;
		r->failed_phase = g_strdup(r->phase);
	}
	va_start(ap, fmt);
	g_ptr_array_add(r->reasons, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

void kdh_result_check(KdhResult *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(r->checks, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

void kdh_result_warn(KdhResult *r, const char *fmt, ...)
{
	va_list ap;

	if (r->warnings->len >= KDH_RESULT_WARNINGS_MAX) {
		/* A capture kernel that warns on every line gets a count. */
		r->warnings_more++;
		if (r->warnings->len == KDH_RESULT_WARNINGS_MAX)
			g_ptr_array_add(r->warnings, NULL);
		g_free(r->warnings->pdata[KDH_RESULT_WARNINGS_MAX]);
		r->warnings->pdata[KDH_RESULT_WARNINGS_MAX] =
		    g_strdup_printf("... and %u more", r->warnings_more);
		return;
	}
	va_start(ap, fmt);
	g_ptr_array_add(r->warnings, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

void kdh_inputs_clear(KdhInputs *in)
{
	g_clear_pointer(&in->kernel, g_free);
	g_clear_pointer(&in->image, g_free);
	g_clear_pointer(&in->scenario, g_free);
}
