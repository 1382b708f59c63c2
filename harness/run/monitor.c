/* The run as it goes (run.h, KdhRunMonitor).  On a terminal, the lines of
 * the running cases are redrawn in place, once a second and at each event,
 * below the permanent lines of finished cases; in a log, nothing is ever
 * redrawn: a line per phase change and per verdict. */
#include "run/run.h"

#define NAME_SHOWN_MAX 60

typedef struct {
	char *name;
	char *phase;
	gint64 since;
} Running;

struct KdhRunMonitor {
	FILE *out;
	gboolean tty;
	guint total, done;
	gint64 start;
	GMutex lock;
	GCond wake;
	GPtrArray *running; /* Running*, in start order */
	GString *finished;  /* lines not yet printed (terminal) */
	guint drawn;        /* running lines on screen now */
	gboolean stop;
	GThread *ticker;
};

static void running_free(Running *r)
{
	g_free(r->name);
	g_free(r->phase);
	g_free(r);
}

/* Draws what changed; the lock is held. */
static void redraw(KdhRunMonitor *m)
{
	gint64 now = g_get_monotonic_time();

	if (m->drawn)
		fprintf(m->out, "\033[%uF", m->drawn);
	fprintf(m->out, "\033[J%s", m->finished->str);
	g_string_truncate(m->finished, 0);
	for (guint i = 0; i < m->running->len; i++) {
		const Running *r = g_ptr_array_index(m->running, i);
		fprintf(m->out, "  %-*.*s %-13s %6.1f s\n", NAME_SHOWN_MAX / 2, NAME_SHOWN_MAX,
		        r->name, r->phase, (now - r->since) / 1e6);
	}
	fprintf(m->out, "  [%u/%u done, %u running, %.0f s]\n", m->done, m->total, m->running->len,
	        (now - m->start) / 1e6);
	m->drawn = m->running->len + 1;
	fflush(m->out);
}

static gpointer tick(gpointer data)
{
	KdhRunMonitor *m = data;

	g_mutex_lock(&m->lock);
	while (!m->stop) {
		redraw(m);
		g_cond_wait_until(&m->wake, &m->lock, g_get_monotonic_time() + G_USEC_PER_SEC);
	}
	g_mutex_unlock(&m->lock);
	return NULL;
}

KdhRunMonitor *kdh_run_monitor_new(FILE *out, gboolean tty, guint total)
{
	KdhRunMonitor *m = g_new0(KdhRunMonitor, 1);

	m->out = out;
	m->tty = tty;
	m->total = total;
	m->start = g_get_monotonic_time();
	g_mutex_init(&m->lock);
	g_cond_init(&m->wake);
	m->running = g_ptr_array_new_with_free_func((GDestroyNotify)running_free);
	m->finished = g_string_new(NULL);
	if (tty)
		m->ticker = g_thread_new("kdh-monitor", tick, m);
	return m;
}

void kdh_run_monitor_free(KdhRunMonitor *m)
{
	if (!m)
		return;
	if (m->ticker) {
		g_mutex_lock(&m->lock);
		m->stop = TRUE;
		g_cond_signal(&m->wake);
		g_mutex_unlock(&m->lock);
		g_thread_join(m->ticker);
		/* The last picture, without the running lines. */
		g_ptr_array_set_size(m->running, 0);
		redraw(m);
	}
	g_ptr_array_unref(m->running);
	g_string_free(m->finished, TRUE);
	g_cond_clear(&m->wake);
	g_mutex_clear(&m->lock);
	g_free(m);
}

static Running *find(KdhRunMonitor *m, const char *name, guint *index)
{
	for (guint i = 0; i < m->running->len; i++) {
		Running *r = g_ptr_array_index(m->running, i);
		if (g_str_equal(r->name, name)) {
			if (index)
				*index = i;
			return r;
		}
	}
	return NULL;
}

static double elapsed(const KdhRunMonitor *m)
{
	return (g_get_monotonic_time() - m->start) / 1e6;
}

void kdh_run_monitor_phase(KdhRunMonitor *m, const char *name, const char *phase)
{
	Running *r;
	double took = -1;
	gint64 now = g_get_monotonic_time();

	g_mutex_lock(&m->lock);
	r = find(m, name, NULL);
	if (!r) {
		r = g_new0(Running, 1);
		r->name = g_strdup(name);
		g_ptr_array_add(m->running, r);
	} else {
		took = (now - r->since) / 1e6;
	}
	if (!m->tty) {
		if (took >= 0)
			fprintf(m->out, "[%6.0f s] %.*s: %s (%s took %.1f s)\n", elapsed(m),
			        NAME_SHOWN_MAX, name, phase, r->phase, took);
		else
			fprintf(m->out, "[%6.0f s] %.*s: %s\n", elapsed(m), NAME_SHOWN_MAX, name,
			        phase);
		fflush(m->out);
	}
	g_free(r->phase);
	r->phase = g_strdup(phase);
	r->since = now;
	if (m->tty)
		g_cond_signal(&m->wake);
	g_mutex_unlock(&m->lock);
}

/* The verdict line, the phases and the results folder of R. */
static char *finished_text(const KdhResult *r)
{
	g_autoptr(GString) s = g_string_new(NULL);
	double total = 0;

	for (guint i = 0; i < r->phases->len; i++)
		total += ((const KdhPhase *)g_ptr_array_index(r->phases, i))->seconds;
	g_string_append_printf(s, "%s %s (%.1f s)", kdh_verdict_name(r->verdict), r->case_name,
	                       total);
	/* Why it is not PASS, or what the PASS rests on. */
	GPtrArray *said = r->verdict == KDH_VERDICT_PASS ? r->checks : r->reasons;
	for (guint i = 0; i < said->len; i++)
		g_string_append_printf(s, "%s%s", i ? "; " : ": ",
		                       (const char *)g_ptr_array_index(said, i));
	/* Warnings never change a verdict, and are easy to miss in a console:
	 * each on its own line. */
	for (guint i = 0; r->warnings && i < r->warnings->len; i++)
		g_string_append_printf(s, "\n    warning: %s",
		                       (const char *)g_ptr_array_index(r->warnings, i));
	g_string_append(s, "\n   ");
	for (guint i = 0; i < r->phases->len; i++) {
		const KdhPhase *p = g_ptr_array_index(r->phases, i);
		g_string_append_printf(s, " %s %.1f", p->name, p->seconds);
	}
	g_string_append_printf(s, "\n    results: %s\n", r->results_dir);
	return g_string_free(g_steal_pointer(&s), FALSE);
}

void kdh_run_monitor_finished(KdhRunMonitor *m, const KdhResult *r)
{
	g_autofree char *text = finished_text(r);
	guint index;

	g_mutex_lock(&m->lock);
	m->done++;
	if (find(m, r->case_name, &index))
		g_ptr_array_remove_index(m->running, index);
	if (m->tty) {
		g_string_append(m->finished, text);
		g_cond_signal(&m->wake);
	} else {
		fputs(text, m->out);
		fflush(m->out);
	}
	g_mutex_unlock(&m->lock);
}
