/* What the runner shows while it works: kernel build progress, run ids. */
#include "run/run.h"

#include <unistd.h>

KdhProgressPrinter kdh_progress_printer(FILE *out, const char *prefix)
{
	return (KdhProgressPrinter){.out = out, .prefix = prefix, .tty = isatty(fileno(out))};
}

void kdh_run_kernel_progress(const char *step, double elapsed, guint done, gpointer data)
{
	KdhProgressPrinter *p = data;
	int mins = (int)elapsed / 60, secs = (int)elapsed % 60;
	gboolean phase = done == p->last_done;

	p->last_done = done;
	if (p->tty) {
		fprintf(p->out, "\r\033[K%s[%02d:%02d] %u steps  %.60s", p->prefix, mins, secs,
		        done, step);
		if (g_str_equal(step, "done"))
			fputc('\n', p->out);
		fflush(p->out);
		return;
	}
	if (phase || elapsed - p->last_print >= 30) {
		fprintf(p->out, "%s[%02d:%02d] %u steps  %s\n", p->prefix, mins, secs, done, step);
		fflush(p->out);
		p->last_print = elapsed;
	}
}

char *kdh_run_id(void)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");

	return g_strdup_printf("%s-%d", stamp, (int)getpid());
}
