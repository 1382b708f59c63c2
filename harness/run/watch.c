/* The console watch: the serial log read as it grows, guest bytes made text
 * once, markers acted on in the order of the case's plan, phases timed and
 * timed out from outside the guest. */
#include "run/internal.h"
#include "util/util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERIAL_TAIL_LINES   40
#define IGNORED_MARKERS_MAX 20
#define IGNORED_QUOTE_MAX   160
#define POLL_US             ((gulong)100 * 1000)
/* A console past this is a flood, said in the result's warnings. */
#define CONSOLE_FLOOD_BYTES ((guint64)64 << 20)

/* ---- markers ---- */

void kdh_marker_free(KdhMarker *m)
{
	if (!m)
		return;
	g_free(m->event);
	if (m->args)
		g_hash_table_unref(m->args);
	g_free(m);
}

const char *kdh_marker_get(const KdhMarker *m, const char *key)
{
	return g_hash_table_lookup(m->args, key);
}

static gboolean word_valid(const char *s, gsize len)
{
	if (len == 0)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_islower(s[i]) && !g_ascii_isdigit(s[i]) && s[i] != '-' && s[i] != '_')
			return FALSE;
	}
	return TRUE;
}

KdhMarker *kdh_marker_parse(const char *line)
{
	const char *start = strstr(line, "KDH: ");
	g_auto(GStrv) argv = NULL;
	g_autoptr(KdhMarker) m = NULL;
	int argc = 0;

	if (!start)
		return NULL;
	if (!g_shell_parse_argv(start + strlen("KDH: "), &argc, &argv, NULL) || argc < 1)
		return NULL;
	if (!word_valid(argv[0], strlen(argv[0])))
		return NULL;
	m = g_new0(KdhMarker, 1);
	m->event = g_strdup(argv[0]);
	m->args = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (!eq || !word_valid(argv[i], eq - argv[i]))
			return NULL;
		g_hash_table_replace(m->args, g_strndup(argv[i], eq - argv[i]), g_strdup(eq + 1));
	}
	return g_steal_pointer(&m);
}

/* ---- the plan: the markers a case expects, in order ---- */

typedef enum {
	ON_NOTHING,
	ON_BOOT,          /* note the booted release */
	ON_ARMED,         /* check the capture kernel is loaded */
	ON_TRIGGER,       /* fire a host-side trigger, when the case's is one */
	ON_CAPTURE_START, /* the capture kernel runs */
	ON_CAPTURE_DONE,  /* note the collector's exit status */
} MarkerAction;

typedef struct {
	const char *event;
	MarkerAction action;
	gboolean ends_phase; /* the current phase ends with it */
} PlanStep;

static const PlanStep plan[] = {
    {"boot", ON_BOOT, FALSE},
    {"armed", ON_ARMED, TRUE}, /* ends boot */
    {"trigger", ON_TRIGGER, FALSE},
    {"capture-start", ON_CAPTURE_START, TRUE}, /* ends crash */
    {"capture-done", ON_CAPTURE_DONE, TRUE},   /* ends capture */
    {"poweroff", ON_NOTHING, FALSE},
};

/* The guest's phases in order; the last one ends when the domain does. */
static const char *const phases[] = {"boot", "crash", "capture", "shutdown"};
#define LAST_PHASE (G_N_ELEMENTS(phases) - 1)

static gint plan_index(const char *event)
{
	for (gsize i = 0; i < G_N_ELEMENTS(plan); i++) {
		if (g_str_equal(plan[i].event, event))
			return (gint)i;
	}
	return -1;
}

/* The marker that ends PHASE, or NULL for the last. */
static const char *phase_marker(guint phase)
{
	guint seen = 0;

	for (gsize i = 0; i < G_N_ELEMENTS(plan); i++) {
		if (plan[i].ends_phase && seen++ == phase)
			return plan[i].event;
	}
	return NULL;
}

/* ---- the watch ---- */

typedef struct {
	const KdhRunContext *ctx;
	const KdhCase *c;
	KdhResult *r;
	KdhVm *vm;
	KdhConsoleEvidence *ev;
	guint next;  /* index into plan of the marker expected next */
	guint phase; /* index into phases */
	gint64 phase_start;
	gboolean error_seen; /* the first error marker explains the rest */
	guint ignored;       /* markers not acted on, noted or not */
	guint line_no;       /* console lines read */
	char *kernel_panic;  /* the last "Kernel panic - not syncing" line */
	GQueue tail;         /* the last lines, char* */
	gint64 last_line_at; /* when the console last said something */
	gboolean watchdog;   /* a hang trigger is under way: the host watches for silence */
} Watch;

static guint phase_timeout(const KdhCase *c, guint phase)
{
	const guint timeouts[] = {c->timeout_boot, c->timeout_crash, c->timeout_capture,
	                          c->timeout_shutdown};
	return timeouts[phase];
}

static void phase_done(Watch *w, gint64 now)
{
	double seconds = (now - w->phase_start) / 1e6;

	kdh_result_add_phase(w->r, phases[w->phase], seconds);
	w->phase++;
	w->phase_start = now;
	if (w->phase < G_N_ELEMENTS(phases))
		kdh_run_enter_phase(w->ctx, w->r, phases[w->phase]);
}

/* Records the phase the guest was in when the watch ended early. */
static void phase_cut(Watch *w, gint64 now)
{
	double seconds = (now - w->phase_start) / 1e6;

	kdh_result_add_phase(w->r, phases[w->phase], seconds);
}

static void guest_failed(Watch *w, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void guest_failed(Watch *w, const char *fmt, ...)
{
	va_list ap;

	if (w->ev->guest_failure)
		return; /* the first explains the rest */
	va_start(ap, fmt);
	w->ev->guest_failure = g_strdup_vprintf(fmt, ap);
	va_end(ap);
}

static void ignore(Watch *w, const char *line, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Notes a marker not acted on: a guest printing thousands of them gets a
 * bounded list and a count. */
static void ignore(Watch *w, const char *line, const char *fmt, ...)
{
	GPtrArray *notes = w->r->ignored_markers;
	g_autofree char *why = NULL, *quote = NULL;
	va_list ap;

	w->ignored++;
	if (w->ignored > IGNORED_MARKERS_MAX) {
		if (w->ignored == IGNORED_MARKERS_MAX + 1)
			g_ptr_array_add(notes, NULL);
		g_free(notes->pdata[IGNORED_MARKERS_MAX]);
		notes->pdata[IGNORED_MARKERS_MAX] =
		    g_strdup_printf("... and %u more", w->ignored - IGNORED_MARKERS_MAX);
		return;
	}
	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	quote = kdh_guest_text(strstr(line, "KDH: "), -1, IGNORED_QUOTE_MAX);
	g_ptr_array_add(notes, g_strdup_printf("line %u: '%s': %s", w->line_no, quote, why));
}

/* Steps the guest can fail at that are the harness's doing, not the kernel's. */
static KdhVerdict error_class(const char *step)
{
	return g_strcmp0(step, "modules") == 0 || g_strcmp0(step, "disk") == 0 ? KDH_VERDICT_ERROR
	                                                                       : KDH_VERDICT_FAIL;
}

static void on_error_marker(Watch *w, const KdhMarker *m, const char *line)
{
	const char *step = kdh_marker_get(m, "step");
	const char *msg = kdh_marker_get(m, "msg");

	if (w->error_seen) {
		ignore(w, line, "an error was reported before");
		return;
	}
	w->error_seen = TRUE;
	if (error_class(step) == KDH_VERDICT_ERROR)
		kdh_result_fail(w->r, KDH_VERDICT_ERROR, "the guest failed at step %s: %s", step,
		                msg ? msg : "");
	else
		guest_failed(w, "the guest failed at step %s: %s", step ? step : "?",
		             msg ? msg : "");
}

/* "armed" says whether the capture kernel is loaded: only a well-formed 1
 * means it is (the mini guest stops before "armed" otherwise; another
 * guest may not). */
static void on_armed(Watch *w, const KdhMarker *m)
{
	const char *loaded = kdh_marker_get(m, "kexec_crash_loaded");
	guint64 n;

	w->ev->loaded = g_strdup(loaded);
	w->ev->crash_size = g_strdup(kdh_marker_get(m, "crash_size"));
	w->ev->service_ready = g_strdup(kdh_marker_get(m, "service_ready"));
	w->ev->service = g_strdup(kdh_marker_get(m, "service"));

	if (!loaded || !g_ascii_string_to_unsigned(loaded, 10, 0, 1, &n, NULL) || n != 1)
		guest_failed(w,
		             "the guest armed with kexec_crash_loaded=%s: no capture kernel loaded",
		             loaded ? loaded : "(none)");
	else
		w->ev->armed = TRUE;
}

/* What the host does for each way of firing: the row decides, never the
 * guest.  KDH_FIRE_GUEST and KDH_FIRE_HOST_WATCHDOG inject nothing when
 * the trigger marker comes (the watchdog waits for silence). */
static const struct {
	KdhTriggerFire fire;
	KdhVmEvent event;
} host_fires[] = {
    {KDH_FIRE_HOST_NMI, KDH_VM_NMI},
    {KDH_FIRE_HOST_KEY, KDH_VM_SYSRQ_KEY},
    {KDH_FIRE_HOST_MCE, KDH_VM_MCE},
};

/* Does EVENT to the guest; a hypervisor that cannot makes the case a SKIP
 * saying so (the kernel is not at fault), any other failure an ERROR. */
static void inject(Watch *w, KdhVmEvent event)
{
	g_autoptr(GError) error = NULL;

	if (w->ctx->backend->inject(w->vm, event, &error))
		return;
	/* The next look at the VM finds the connection lost and says where
	 * the case was: one reason, not two. */
	if (g_error_matches(error, KDH_VM_ERROR, KDH_VM_ERROR_CONNECTION_LOST))
		return;
	if (g_error_matches(error, KDH_VM_ERROR, KDH_VM_ERROR_UNSUPPORTED))
		w->ev->skip_reason = g_strdup(error->message);
	else
		kdh_result_fail(w->r, KDH_VERDICT_ERROR, "%s", error->message);
}

/* The trigger marker, in its place and naming the case's own trigger: a
 * host-side trigger is fired now, once (the plan moves past it). */
static void on_trigger(Watch *w, gint64 now)
{
	if (w->c->trigger->fire == KDH_FIRE_HOST_WATCHDOG) {
		w->watchdog = TRUE;
		w->last_line_at = now;
		return;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(host_fires); i++) {
		if (host_fires[i].fire == w->c->trigger->fire)
			inject(w, host_fires[i].event);
	}
}

/* The hardware watchdog of a hang case: once the console has been silent
 * for hang_detect seconds after the trigger, one NMI, as a watchdog timer
 * wired to NMI would send. */
static void watchdog_poll(Watch *w, gint64 now)
{
	if (!w->watchdog || now - w->last_line_at < (gint64)w->c->hang_detect * G_USEC_PER_SEC)
		return;
	w->watchdog = FALSE;
	kdh_result_check(w->r,
	                 "the console was silent for %u s after the trigger: the host's "
	                 "watchdog injected an NMI",
	                 w->c->hang_detect);
	inject(w, KDH_VM_NMI);
}

/* "KDH: skip reason=..." — honoured only for a trigger whose row allows
 * it, and only in its place (after "armed", before "trigger"): a guest
 * cannot talk its way out of any other case. */
#define SKIP_REASON_MAX 200

static void on_skip(Watch *w, const KdhMarker *m, const char *line)
{
	const char *reason = kdh_marker_get(m, "reason");

	if (!w->c->trigger->may_skip) {
		ignore(w, line, "trigger %s cannot be skipped", w->c->trigger->name);
		return;
	}
	if (w->next != (guint)plan_index("trigger")) {
		ignore(w, line, "a skip comes after 'armed' and instead of 'trigger'");
		return;
	}
	g_autofree char *said = g_strdup_printf("the guest cannot fire %s: %s", w->c->trigger->name,
	                                        reason ? reason : "(no reason given)");
	/* Bounded as guest text is, never cut inside a character. */
	w->ev->skip_reason = kdh_guest_text(said, -1, SKIP_REASON_MAX);
}

static void on_marker(Watch *w, const KdhMarker *m, const char *line, gint64 now)
{
	gint i;

	if (g_str_equal(m->event, "error")) {
		on_error_marker(w, m, line);
		return;
	}
	if (g_str_equal(m->event, "skip")) {
		on_skip(w, m, line);
		return;
	}
	i = plan_index(m->event);
	if (i < 0) {
		ignore(w, line, "not a marker kdh knows");
		return;
	}
	if ((guint)i < w->next) {
		ignore(w, line, "'%s' was seen before", m->event);
		return;
	}
	if ((guint)i > w->next) {
		ignore(w, line, "out of order: '%s' was expected first", plan[w->next].event);
		return;
	}
	if (plan[i].action == ON_TRIGGER &&
	    g_strcmp0(kdh_marker_get(m, "type"), w->c->trigger->name) != 0) {
		ignore(w, line, "this case's trigger is %s", w->c->trigger->name);
		return;
	}
	w->next++;
	switch (plan[i].action) {
	case ON_BOOT:
		w->ev->booted_release = g_strdup(kdh_marker_get(m, "release"));
		w->ev->cmdline = g_strdup(kdh_marker_get(m, "cmdline"));
		break;
	case ON_ARMED:
		on_armed(w, m);
		break;
	case ON_TRIGGER:
		on_trigger(w, now);
		break;
	case ON_CAPTURE_START:
		w->ev->capture_started = TRUE;
		break;
	case ON_CAPTURE_DONE:
		w->ev->capture_done = TRUE;
		w->ev->capture_rc = g_strdup(kdh_marker_get(m, "rc"));
		break;
	case ON_NOTHING:
		break;
	}
	if (plan[i].ends_phase)
		phase_done(w, now);
}

/* One console line, already text. */
static void on_line(Watch *w, const char *line)
{
	const char *panic = strstr(line, "Kernel panic - not syncing");
	g_autoptr(KdhMarker) m = kdh_marker_parse(line);
	gint64 mb;

	w->line_no++;
	w->last_line_at = w->ctx->ops->now();
	if (!w->ev->reservation && w->next == 0 && kdh_verdict_reservation_line(line, &mb))
		w->ev->reservation = g_strstrip(g_strdup(line));
	g_queue_push_tail(&w->tail, g_strdup(line));
	while (g_queue_get_length(&w->tail) > SERIAL_TAIL_LINES)
		g_free(g_queue_pop_head(&w->tail));
	if (panic) {
		g_free(w->kernel_panic);
		w->kernel_panic = g_strdup(panic);
	}
	if (m)
		on_marker(w, m, line, w->ctx->ops->now());
}

/* ---- the serial log, read as it grows ---- */

typedef struct {
	int fd;
	GByteArray *partial; /* the line being read, raw bytes, at most LINE_MAX + 1 */
	guint64 bytes;       /* what the guest wrote, every file together */
	guint rotations;     /* files virtlogd rotated away while the VM ran */
} Serial;

/* Hands LEN raw bytes of a line to the watch as text: this is where guest
 * bytes become kdh text, once. */
static void serial_line(Watch *w, const guint8 *raw, gsize len)
{
	g_autofree char *line = kdh_guest_text((const char *)raw, len, KDH_SERIAL_LINE_MAX);

	on_line(w, line);
}

/* Whether PATH now names another file than the one S reads: virtlogd
 * rotated the log (serial.log became serial.log.0, a new serial.log began;
 * it does so at max_size, 2 MiB by default, keeping max_backups files). */
static gboolean serial_rotated(const Serial *s, const char *path)
{
	struct stat open_st, path_st;

	return fstat(s->fd, &open_st) == 0 && stat(path, &path_st) == 0 &&
	       (open_st.st_ino != path_st.st_ino || open_st.st_dev != path_st.st_dev);
}

/* Reads what the console added since the last call, line by line, into
 * the files virtlogd rotated to: the old file is read to its end first,
 * since virtlogd renames it only once it wrote its last byte there. */
static void serial_poll(Serial *s, const char *path, Watch *w)
{
	guint8 buf[65536];
	ssize_t n;

	if (s->fd < 0) {
		s->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return;
	}
	for (;;) {
		while ((n = read(s->fd, buf, sizeof(buf))) > 0) {
			s->bytes += (guint64)n;
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] == '\n') {
					serial_line(w, s->partial->data, s->partial->len);
					g_byte_array_set_size(s->partial, 0);
				} else if (buf[i] != '\r' &&
				           s->partial->len <= KDH_SERIAL_LINE_MAX) {
					/* One byte past the limit, so the cut is marked. */
					g_byte_array_append(s->partial, &buf[i], 1);
				}
			}
		}
		if (!serial_rotated(s, path))
			return;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return;
		close(s->fd);
		s->fd = fd;
		s->rotations++;
	}
}

/* What the result says of a console that outgrew its file: serial.log then
 * holds only its end, and a flood is named as one. */
static void serial_account(const Serial *s, KdhResult *r)
{
	if (s->bytes > CONSOLE_FLOOD_BYTES)
		kdh_result_warn(r,
		                "console flood: the guest wrote %" G_GUINT64_FORMAT
		                " MiB to its console (kdh read every line as it came; "
		                "the files keep only the last ones)",
		                s->bytes >> 20);
	if (s->rotations)
		kdh_result_warn(
		    r,
		    "the console log was rotated %u times by virtlogd (%" G_GUINT64_FORMAT
		    " MiB written): serial.log holds its end, serial.log.0 and on "
		    "what came before, as many as virtlogd keeps",
		    s->rotations, s->bytes >> 20);
}

/* Why the watch stops now, if it does: the VM ended, failed, timed out or
 * the run was cancelled. */
static gboolean watch_should_stop(Watch *w, gboolean running, const GError *error, gint64 now)
{
	const KdhRunContext *ctx = w->ctx;
	guint limit = phase_timeout(w->c, w->phase);

	if (error) {
		w->ev->connection_lost =
		    g_error_matches(error, KDH_VM_ERROR, KDH_VM_ERROR_CONNECTION_LOST);
		if (w->ev->connection_lost)
			/* What the host saw last, since libvirt can no longer say. */
			kdh_result_fail(
			    w->r, KDH_VERDICT_ERROR,
			    "%s; the case was in phase %s, the guest's last marker '%s'",
			    error->message, phases[w->phase],
			    w->next ? plan[w->next - 1].event : "(none)");
		else
			kdh_result_fail(w->r, KDH_VERDICT_ERROR, "%s", error->message);
		phase_cut(w, now);
		return TRUE;
	}
	if (!running) {
		if (w->phase == LAST_PHASE)
			phase_done(w, now);
		else
			phase_cut(w, now);
		return TRUE;
	}
	if (kdh_run_cancelled(ctx)) {
		kdh_run_fail_interrupted(ctx, w->r, KDH_VERDICT_ERROR);
		phase_cut(w, now);
		return TRUE;
	}
	if (w->ev->skip_reason) { /* the case cannot go on */
		phase_cut(w, now);
		return TRUE;
	}
	if (now - w->phase_start > (gint64)limit * G_USEC_PER_SEC) {
		/* The verdict decides what a timeout means: the end of a
		 * negative case may be one. */
		w->ev->timeout_phase = g_strdup(phases[w->phase]);
		if (phase_marker(w->phase))
			w->ev->timeout_message =
			    g_strdup_printf("phase %s: no '%s' marker within %u s",
			                    phases[w->phase], phase_marker(w->phase), limit);
		else
			w->ev->timeout_message =
			    g_strdup_printf("phase %s: the domain did not end within %u s",
			                    phases[w->phase], limit);
		phase_cut(w, now);
		return TRUE;
	}
	return FALSE;
}

void kdh_watch_vm(const KdhRunContext *ctx, const KdhCase *c, KdhResult *r, KdhVm *vm,
                  const char *serial_path, KdhConsoleEvidence *ev)
{
	Serial s = {.fd = -1, .partial = g_byte_array_new()};
	Watch w = {.ctx = ctx, .c = c, .r = r, .vm = vm, .ev = ev};

	w.phase_start = ctx->ops->now();
	kdh_run_enter_phase(ctx, r, phases[0]);
	for (;;) {
		g_autoptr(GError) error = NULL;
		gboolean running = ctx->backend->running(vm, &error);

		/* Read after asking the state, so the last lines are not missed. */
		serial_poll(&s, serial_path, &w);
		if (running && !error)
			watchdog_poll(&w, ctx->ops->now());
		if (watch_should_stop(&w, running, error, ctx->ops->now()))
			break;
		ctx->ops->sleep(POLL_US);
	}
	ctx->backend->destroy(vm);
	w.vm = NULL;
	/* Whatever reached the file after the end; a last line without its
	 * newline still counts. */
	serial_poll(&s, serial_path, &w);
	if (s.partial->len)
		serial_line(&w, s.partial->data, s.partial->len);
	serial_account(&s, r);
	for (GList *l = w.tail.head; l; l = l->next)
		g_ptr_array_add(r->serial_tail, g_strdup(l->data));
	if (w.phase < LAST_PHASE && r->verdict == KDH_VERDICT_PASS && !ev->timeout_phase &&
	    !ev->skip_reason) {
		/* The domain ended before the capture finished: say what the
		 * console last showed. */
		guest_failed(&w, "the domain ended in phase %s (no '%s' marker)%s%s",
		             phases[w.phase], phase_marker(w.phase),
		             w.kernel_panic ? "; last panic: " : "",
		             w.kernel_panic ? w.kernel_panic : "");
	}
	if (s.fd >= 0)
		close(s.fd);
	g_byte_array_unref(s.partial);
	g_queue_clear_full(&w.tail, g_free);
	g_free(w.kernel_panic);
}
