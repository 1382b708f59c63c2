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

KdhProbeOutcome kdh_sizing_probe_outcome(gboolean passed, const char *diagnosis)
{
	static const char *const too_small[] = {"kexec-load-failed", "capture-kernel-oom", NULL};

	if (passed)
		return KDH_PROBE_PASS;
	if (g_strcmp0(diagnosis, "reservation-failed") == 0)
		return KDH_PROBE_TOO_LARGE;
	if (diagnosis && g_strv_contains(too_small, diagnosis))
		return KDH_PROBE_TOO_SMALL;
	return KDH_PROBE_OTHER;
}

gboolean kdh_sizing_search_init(KdhSizingSearch *s, guint64 ram, guint64 low, guint64 high,
                                guint64 step, GError **error)
{
	memset(s, 0, sizeof(*s));
	if (step < KDH_MIB || low >= high || low % step || high % step) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		            "the bounds must be --low < --high, both multiples of --step (at least "
		            "1M): %" G_GUINT64_FORMAT "M, %" G_GUINT64_FORMAT
		            "M, %" G_GUINT64_FORMAT "M",
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
	g_clear_pointer(&s->why, g_free);
}

guint kdh_sizing_bisect_bound(guint64 low, guint64 high, guint64 step)
{
	guint64 steps = (high - low) / step;
	guint bound = 0;

	while (((guint64)1 << bound) < steps)
		bound++;
	return bound;
}

/* The middle of BELOW..ABOVE on the step grid, rounded down. */
static guint64 middle(const KdhSizingSearch *s, guint64 below, guint64 above)
{
	return below + ((above - below) / s->step / 2) * s->step;
}

guint64 kdh_sizing_search_next(const KdhSizingSearch *s)
{
	if (s->state != KDH_SEARCH_RUNNING)
		return 0;
	if (s->retrying)
		return s->retrying;
	if (!s->high_done)
		return s->high;
	if (!s->low_done)
		return s->low;
	/* Between the largest too small and the smallest that worked, or,
	 * while nothing worked, the smallest the kernel could not reserve. */
	return middle(s, s->fail, s->pass ? s->pass : s->too_large);
}

/* Ends the search when what is known decides it. */
static void settle(KdhSizingSearch *s)
{
	if (s->state != KDH_SEARCH_RUNNING || !s->high_done || !s->low_done)
		return;
	if (s->pass && s->fail && s->pass - s->fail <= s->step) {
		s->state = KDH_SEARCH_ANSWERED;
	} else if (!s->pass && s->too_large && s->too_large - s->fail <= s->step) {
		s->state = KDH_SEARCH_NONE_WORKS;
		s->why =
		    g_strdup_printf("%" G_GUINT64_FORMAT "M is too small and %" G_GUINT64_FORMAT
		                    "M more than the kernel can reserve on this RAM",
		                    s->fail / KDH_MIB, s->too_large / KDH_MIB);
	}
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
			s->why = g_strdup_printf(
			    "crashkernel=%" G_GUINT64_FORMAT
			    "M failed twice for another reason than memory: %s",
			    size / KDH_MIB, diagnosis ? diagnosis : "no reason given");
			return;
		}
		s->retrying = size;
		s->retries++;
		return;
	}
	s->retrying = 0;
	s->high_done = s->high_done || size == s->high;
	s->low_done = s->low_done || size == s->low;
	switch (outcome) {
	case KDH_PROBE_PASS:
		s->pass = size;
		if (size == s->low)
			s->state = KDH_SEARCH_LOW_PASSES;
		break;
	case KDH_PROBE_TOO_SMALL:
		s->fail = size;
		g_free(s->fail_diagnosis);
		s->fail_diagnosis = g_strdup(diagnosis);
		if (size == s->high) {
			s->state = KDH_SEARCH_NONE_WORKS;
			s->why =
			    g_strdup_printf("no working size up to --high %" G_GUINT64_FORMAT "M",
			                    s->high / KDH_MIB);
		}
		break;
	case KDH_PROBE_TOO_LARGE:
		s->too_large = size;
		if (size == s->low) {
			s->state = KDH_SEARCH_NONE_WORKS;
			s->why =
			    g_strdup_printf("even --low %" G_GUINT64_FORMAT
			                    "M is more than the kernel can reserve on this RAM",
			                    s->low / KDH_MIB);
		}
		break;
	case KDH_PROBE_OTHER:
		break;
	}
	settle(s);
}

KdhSizingRow *kdh_sizing_row_new(guint64 ram, guint64 low, guint64 high, guint64 step,
                                 GError **error)
{
	KdhSizingRow *row = g_new0(KdhSizingRow, 1);

	if (!kdh_sizing_search_init(&row->search, ram, low, high, step, error)) {
		g_free(row);
		return NULL;
	}
	row->probes = g_ptr_array_new_with_free_func(g_free);
	return row;
}

void kdh_sizing_row_free(KdhSizingRow *row)
{
	if (!row)
		return;
	kdh_sizing_search_clear(&row->search);
	g_ptr_array_unref(row->probes);
	g_free(row);
}
