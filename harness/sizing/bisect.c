/* One RAM size's search for the smallest working crashkernel=: the bounds
 * first, then bisection on multiples of the step, a probe that failed for
 * another reason than memory retried once and never taken for "too small". */
#include "sizing/sizing.h"

#include <string.h>

const char *kdh_search_state_name(KdhSearchState s)
{
	static const char *const names[] = {
	    [KDH_SEARCH_RUNNING] = "running",       [KDH_SEARCH_ANSWERED] = "answered",
	    [KDH_SEARCH_LOW_PASSES] = "low-passes", [KDH_SEARCH_NONE_WORKS] = "none-works",
	    [KDH_SEARCH_BLOCKED] = "blocked",
	};
	return names[s];
}

gboolean kdh_sizing_memory_diagnosis(const char *diagnosis)
{
	static const char *const memory[] = {"kexec-load-failed", "capture-kernel-oom",
	                                     "reservation-failed", NULL};

	return diagnosis && g_strv_contains(memory, diagnosis);
}

gboolean kdh_sizing_search_init(KdhSizingSearch *s, guint64 ram, guint64 low, guint64 high,
                                guint64 step, GError **error)
{
	memset(s, 0, sizeof(*s));
	if (step < KDH_MIB || low >= high || low % step || high % step) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		            "the bounds must be --low < --high, both multiples of --step (at least "
		            "1M): %" G_GUINT64_FORMAT "M, %" G_GUINT64_FORMAT "M, %" G_GUINT64_FORMAT
		            "M",
		            low / KDH_MIB, high / KDH_MIB, step / KDH_MIB);
		return FALSE;
	}
	s->ram = ram;
	s->low = low;
	s->high = high;
	s->step = step;
	s->state = KDH_SEARCH_RUNNING;
	return TRUE;
}

void kdh_sizing_search_clear(KdhSizingSearch *s)
{
	g_clear_pointer(&s->fail_diagnosis, g_free);
	g_clear_pointer(&s->blocked_why, g_free);
}

guint kdh_sizing_bisect_bound(guint64 low, guint64 high, guint64 step)
{
	guint64 steps = (high - low) / step;
	guint bound = 0;

	while (((guint64)1 << bound) < steps)
		bound++;
	return bound;
}

guint64 kdh_sizing_search_next(const KdhSizingSearch *s)
{
	guint64 below, above;

	if (s->state != KDH_SEARCH_RUNNING)
		return 0;
	if (s->retrying)
		return s->retrying;
	if (!s->pass)
		return s->high;
	if (!s->fail)
		return s->low;
	/* FAIL < PASS, both multiples of STEP apart: the middle, rounded down. */
	below = s->fail;
	above = s->pass;
	return below + ((above - below) / s->step / 2) * s->step;
}

/* Ends the search when what is known decides it. */
static void settle(KdhSizingSearch *s)
{
	if (s->pass && s->fail && s->pass - s->fail <= s->step)
		s->state = KDH_SEARCH_ANSWERED;
}

void kdh_sizing_search_record(KdhSizingSearch *s, guint64 size, KdhProbeOutcome outcome,
                              const char *diagnosis, double seconds)
{
	g_return_if_fail(s->state == KDH_SEARCH_RUNNING && size == kdh_sizing_search_next(s));
	s->probes++;
	s->seconds += seconds;
	if (outcome == KDH_PROBE_OTHER) {
		if (s->retrying) {
			s->state = KDH_SEARCH_BLOCKED;
			s->blocked_why = g_strdup_printf(
			    "crashkernel=%" G_GUINT64_FORMAT "M failed twice for another reason than "
			    "memory: %s",
			    size / KDH_MIB, diagnosis ? diagnosis : "no reason given");
			return;
		}
		s->retrying = size;
		s->retries++;
		return;
	}
	s->retrying = 0;
	if (outcome == KDH_PROBE_PASS) {
		s->pass = size;
		if (size == s->low)
			s->state = KDH_SEARCH_LOW_PASSES;
	} else {
		s->fail = size;
		g_free(s->fail_diagnosis);
		s->fail_diagnosis = g_strdup(diagnosis);
		if (size == s->high)
			s->state = KDH_SEARCH_NONE_WORKS;
	}
	settle(s);
}
