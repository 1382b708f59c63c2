/* The runner: kernel → image → disk → VM (watched through its serial
 * markers) → retrieval → verification → verdict.json. */
#include "run/run.h"
#include "dump/dump.h"
#include "guest/guest.h"
#include "image/image.h"
#include "kernel/kernel.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SERIAL_TAIL_LINES 40
#define SERIAL_LINE_MAX   4096
#define POLL_US           (100 * 1000)

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

/* ---- the serial console, read as it grows ---- */

typedef struct {
	int fd;
	GString *partial;
	GQueue tail;        /* the last lines, char* */
	char *kernel_panic; /* the last "Kernel panic - not syncing" line */
	char *last_error;   /* the last "KDH: error" line */
} Serial;

static void serial_clear(Serial *s)
{
	if (s->fd >= 0)
		close(s->fd);
	g_string_free(s->partial, TRUE);
	g_queue_clear_full(&s->tail, g_free);
	g_free(s->kernel_panic);
	g_free(s->last_error);
}

static void serial_keep(Serial *s, const char *line)
{
	const char *panic = strstr(line, "Kernel panic - not syncing");

	g_queue_push_tail(&s->tail, g_strdup(line));
	while (g_queue_get_length(&s->tail) > SERIAL_TAIL_LINES)
		g_free(g_queue_pop_head(&s->tail));
	if (panic) {
		g_free(s->kernel_panic);
		s->kernel_panic = g_strdup(panic);
	}
}

/* Reads what the console added since the last call and hands each complete
 * line that is a marker to ON_MARKER. */
typedef void (*MarkerFn)(const KdhMarker *m, const char *line, gpointer data);

static void serial_poll(Serial *s, const char *path, MarkerFn on_marker, gpointer data)
{
	char buf[65536];
	ssize_t n;

	if (s->fd < 0) {
		s->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return;
	}
	while ((n = read(s->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			if (c == '\n') {
				g_autoptr(KdhMarker) m = kdh_marker_parse(s->partial->str);
				serial_keep(s, s->partial->str);
				if (m)
					on_marker(m, s->partial->str, data);
				g_string_truncate(s->partial, 0);
			} else if (c != '\r' && s->partial->len < SERIAL_LINE_MAX) {
				g_string_append_c(s->partial, c);
			}
		}
	}
}

/* ---- phases ---- */

typedef struct {
	const char *name;   /* the phase this marker ends */
	const char *marker; /* the marker that ends it */
} PhaseEnd;

/* The guest's phases in order; the last one ends when the domain does. */
static const PhaseEnd guest_phases[] = {
    {"boot", "armed"},
    {"crash", "capture-start"},
    {"capture", "capture-done"},
    {"shutdown", NULL},
};

typedef struct {
	const KdhRunContext *ctx;
	const KdhCase *c;
	KdhResult *r;
	KdhVm *vm;
	guint phase; /* index into guest_phases */
	gint64 phase_start;
	gboolean boot_seen;
	char *booted_release;
	int capture_rc; /* -1 until capture-done */
	/* Why the guest did not complete its cycle: the kernel's or the
	 * setup's doing, which the expected outcome judges (a too small
	 * crashkernel= is a failure for one scenario, the point of another). */
	char *guest_failure;
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

	kdh_result_add_phase(w->r, guest_phases[w->phase].name, seconds);
	g_print("  %-9s %6.1f s\n", guest_phases[w->phase].name, seconds);
	w->phase++;
	w->phase_start = now;
}

/* Records the phase the guest was in when the watch ended early. */
static void phase_cut(Watch *w, gint64 now)
{
	double seconds = (now - w->phase_start) / 1e6;

	kdh_result_add_phase(w->r, guest_phases[w->phase].name, seconds);
	g_print("  %-9s %6.1f s  (did not complete)\n", guest_phases[w->phase].name, seconds);
}

static void guest_failed(Watch *w, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void guest_failed(Watch *w, const char *fmt, ...)
{
	va_list ap;

	if (w->guest_failure)
		return; /* the first explains the rest */
	va_start(ap, fmt);
	w->guest_failure = g_strdup_vprintf(fmt, ap);
	va_end(ap);
}

/* Steps the guest can fail at that are the harness's doing, not the kernel's. */
static KdhVerdict error_class(const char *step)
{
	return g_strcmp0(step, "modules") == 0 || g_strcmp0(step, "disk") == 0 ? KDH_VERDICT_ERROR
	                                                                       : KDH_VERDICT_FAIL;
}

static void on_marker(const KdhMarker *m, const char *line, gpointer data)
{
	Watch *w = data;
	gint64 now = g_get_monotonic_time();

	(void)line;
	if (g_str_equal(m->event, "boot")) {
		w->boot_seen = TRUE;
		g_free(w->booted_release);
		w->booted_release = g_strdup(kdh_marker_get(m, "release"));
	} else if (g_str_equal(m->event, "error")) {
		const char *step = kdh_marker_get(m, "step");
		const char *msg = kdh_marker_get(m, "msg");
		if (error_class(step) == KDH_VERDICT_ERROR)
			kdh_result_fail(w->r, KDH_VERDICT_ERROR, "the guest failed at step %s: %s",
			                step, msg ? msg : "");
		else
			guest_failed(w, "the guest failed at step %s: %s", step ? step : "?",
			             msg ? msg : "");
	} else if (g_str_equal(m->event, "trigger") &&
	           g_strcmp0(kdh_marker_get(m, "type"), "nmi") == 0) {
		g_autoptr(GError) error = NULL;
		if (!w->ctx->backend->inject_nmi(w->vm, &error))
			kdh_result_fail(w->r, KDH_VERDICT_ERROR, "%s", error->message);
	} else if (g_str_equal(m->event, "capture-done")) {
		const char *rc = kdh_marker_get(m, "rc");
		w->capture_rc = rc ? atoi(rc) : -1;
	}
	if (w->phase < G_N_ELEMENTS(guest_phases) && guest_phases[w->phase].marker &&
	    g_str_equal(m->event, guest_phases[w->phase].marker))
		phase_done(w, now);
}

static char *kernel_cmdline(const KdhCase *c)
{
	return g_strdup_printf("console=ttyS0 crashkernel=%s panic=1 kdh.trigger=%s "
	                       "kdh.collector=%s kdh.dump_level=%u kdh.compression=%s",
	                       c->crashkernel, c->trigger, c->collector, c->dump_level,
	                       c->compression);
}

/* Runs the VM until it ends, a phase times out, or the user cancels. */
static void watch_vm(Watch *w, const char *serial_path)
{
	Serial s = {.fd = -1, .partial = g_string_new(NULL)};
	const KdhRunContext *ctx = w->ctx;

	w->phase_start = g_get_monotonic_time();
	for (;;) {
		g_autoptr(GError) error = NULL;
		gboolean running = ctx->backend->running(w->vm, &error);
		gint64 now;

		/* Read after asking the state, so the last lines are not missed. */
		serial_poll(&s, serial_path, on_marker, w);
		now = g_get_monotonic_time();
		if (error) {
			kdh_result_fail(w->r, KDH_VERDICT_ERROR, "%s", error->message);
			phase_cut(w, now);
			break;
		}
		if (!running) {
			if (w->phase == G_N_ELEMENTS(guest_phases) - 1)
				phase_done(w, now);
			else
				phase_cut(w, now);
			break;
		}
		if (ctx->cancelled && *ctx->cancelled) {
			kdh_result_fail(w->r, KDH_VERDICT_ERROR, "cancelled by a signal");
			phase_cut(w, now);
			break;
		}
		if (now - w->phase_start > (gint64)phase_timeout(w->c, w->phase) * G_USEC_PER_SEC) {
			const PhaseEnd *p = &guest_phases[w->phase];
			if (p->marker)
				kdh_result_fail(w->r, KDH_VERDICT_TIMEOUT,
				                "phase %s: no '%s' marker within %u s", p->name,
				                p->marker, phase_timeout(w->c, w->phase));
			else
				kdh_result_fail(w->r, KDH_VERDICT_TIMEOUT,
				                "phase %s: the domain did not end within %u s",
				                p->name, phase_timeout(w->c, w->phase));
			phase_cut(w, now);
			break;
		}
		g_usleep(POLL_US);
	}
	ctx->backend->destroy(w->vm);
	w->vm = NULL;
	/* Whatever reached the file after the end. */
	serial_poll(&s, serial_path, on_marker, w);
	if (s.partial->len)
		serial_keep(&s, s.partial->str);
	for (GList *l = s.tail.head; l; l = l->next)
		g_ptr_array_add(w->r->serial_tail, g_strdup(l->data));
	if (w->phase < G_N_ELEMENTS(guest_phases) - 1 && w->r->verdict == KDH_VERDICT_PASS) {
		/* The domain ended before the capture finished: say what the
		 * console last showed. */
		guest_failed(w, "the domain ended in phase %s (no '%s' marker)%s%s",
		             guest_phases[w->phase].name, guest_phases[w->phase].marker,
		             s.kernel_panic ? "; last panic: " : "",
		             s.kernel_panic ? s.kernel_panic : "");
	}
	serial_clear(&s);
}

static double seconds_since(gint64 start)
{
	return (g_get_monotonic_time() - start) / 1e6;
}

static void host_phase(KdhResult *r, const char *name, gint64 start, const char *detail)
{
	double s = seconds_since(start);

	kdh_result_add_phase(r, name, s);
	if (isatty(STDOUT_FILENO))
		g_print("\r\033[K"); /* over a progress line, if any */
	g_print("  %-9s %6.1f s%s%s\n", name, s, detail ? "  " : "", detail ? detail : "");
}

/* The line of TEXT that holds NEEDLE, or NULL. */
static char *line_with(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle), *start, *end;

	if (!hit)
		return NULL;
	for (start = hit; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(hit, '\n');
	return end ? g_strndup(start, end - start) : g_strdup(start);
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
	r->dump_release_memory = g_strdup(sum.release);
	if (sum.panic_pid >= 0)
		r->dump_panic_task = g_strdup_printf("cpu %d pid %d comm %s", sum.panic_cpu,
		                                     sum.panic_pid, sum.panic_comm);
	if (!sum.release[0])
		kdh_result_fail(r, KDH_VERDICT_FAIL, "init_uts_ns is unreadable in the dump");
	else if (!g_str_equal(sum.release, release))
		kdh_result_fail(r, KDH_VERDICT_FAIL, "init_uts_ns in the dump says %s, not %s",
		                sum.release, release);
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
		g_ptr_array_add(r->reasons,
		                g_strdup_printf("dump verified: %" G_GUINT64_FORMAT " pages",
		                                (guint64)chk.pages_checked));
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
	r->dump_osrelease = g_strdup(osrelease);
	if (!osrelease)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "the dump's VMCOREINFO has no OSRELEASE");
	else if (!g_str_equal(osrelease, release))
		kdh_result_fail(r, KDH_VERDICT_FAIL, "the dump is of kernel %s, but %s was booted",
		                osrelease, release);
	else
		g_ptr_array_add(r->reasons,
		                g_strdup_printf("dump VMCOREINFO OSRELEASE=%s", osrelease));
	check_summary(r, c, release, d);
	check_pages(r, d);

	if (dump_dmesg(d, &dmesg, &len) != DUMP_OK) {
		kdh_result_fail(r, KDH_VERDICT_FAIL, "reading dmesg from the dump: %s",
		                dump_error(d));
	} else if (c->expect_panic) {
		r->dump_panic = line_with(dmesg, c->expect_panic);
		if (!r->dump_panic)
			kdh_result_fail(r, KDH_VERDICT_FAIL,
			                "the dump's dmesg (%zu bytes) has no line with '%s'", len,
			                c->expect_panic);
		else
			g_ptr_array_add(r->reasons, g_strdup_printf("dump dmesg: %s",
			                                            g_strstrip(r->dump_panic)));
	}
	free(dmesg);
	dump_free(d);
}

static const char *find_file(GPtrArray *files, const char *name)
{
	for (guint i = 0; i < files->len; i++) {
		const char *path = g_ptr_array_index(files, i);
		g_autofree char *base = g_path_get_basename(path);
		if (g_str_equal(base, name))
			return path;
	}
	return NULL;
}

/* What kdh itself writes into a case folder: a guest file must not take
 * these names. */
#define VERDICT_FILE "verdict.json"
#define SERIAL_FILE  "serial.log"
#define DISK_FILE    "disk.qcow2"
static const char *const reserved_names[] = {VERDICT_FILE, SERIAL_FILE, DISK_FILE, NULL};

/* Everything from the VM on; the case folder and disk are ready. */
static void run_guest(const KdhRunContext *ctx, const KdhCase *c, KdhResult *r, const KdhKernel *k,
                      const char *initrd, const char *disk, const char *dir)
{
	g_autofree char *serial = g_build_filename(dir, SERIAL_FILE, NULL);
	g_autofree char *cmdline = kernel_cmdline(c);
	/* Unique among runs (pid) and among this run's cases (serial), whatever
	 * the names; the name part only helps a human reading `virsh list`. */
	static guint serial_no;
	g_autofree char *dom_name =
	    g_strdup_printf("kdh-%d-%u-%.60s", (int)getpid(), ++serial_no, c->name);
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhCrashFiles) files = NULL;
	KdhVmConfig cfg = {
	    .name = dom_name,
	    .memory = c->memory,
	    .cpus = c->cpus,
	    .kernel = k->vmlinuz,
	    .initrd = initrd,
	    .cmdline = cmdline,
	    .disk = disk,
	    .serial_log = serial,
	    .accel = ctx->accel,
	};
	Watch w = {.ctx = ctx, .c = c, .r = r, .capture_rc = -1};
	gint64 start;

	w.vm = ctx->backend->start(&cfg, &error);
	if (!w.vm) {
		kdh_result_fail(r, KDH_VERDICT_ERROR, "%s", error->message);
		return;
	}
	watch_vm(&w, serial);
	if (w.booted_release && !g_str_equal(w.booted_release, k->release))
		kdh_result_fail(r, KDH_VERDICT_ERROR, "the guest booted %s, not %s",
		                w.booted_release, k->release);
	g_free(w.booted_release);
	g_autofree char *guest_failure = w.guest_failure;
	if (r->verdict == KDH_VERDICT_TIMEOUT || r->verdict == KDH_VERDICT_ERROR ||
	    (ctx->cancelled && *ctx->cancelled))
		return;

	/* Whatever the console said, the disk is the evidence: look at it. */
	start = g_get_monotonic_time();
	files =
	    kdh_guest_fetch_crash(disk, dir, reserved_names, ctx->accel == KDH_ACCEL_TCG, &error);
	if (files) {
		for (guint i = 0; i < files->files->len; i++)
			g_ptr_array_add(r->files, g_strdup(g_ptr_array_index(files->files, i)));
		for (guint i = 0; i < files->skipped->len; i++)
			g_ptr_array_add(r->reasons, g_strdup_printf("not retrieved: %s",
			                                            (char *)g_ptr_array_index(
			                                                files->skipped, i)));
	}
	host_phase(r, "retrieve", start, files ? files->crash_dir : NULL);
	if (!files) {
		if (!g_error_matches(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_NO_CRASH))
			kdh_result_fail(r, KDH_VERDICT_ERROR, "%s", error->message);
		else if (c->outcome == KDH_OUTCOME_DUMP)
			kdh_result_fail(r, KDH_VERDICT_FAIL, "no dump on the guest disk (%s): %s",
			                error->message,
			                guest_failure ? guest_failure : "the console says nothing");
		else
			g_ptr_array_add(
			    r->reasons,
			    g_strdup_printf("no dump on the guest disk, as expected: %s",
			                    guest_failure ? guest_failure
			                                  : "the console says nothing"));
		return;
	}
	if (guest_failure && c->outcome == KDH_OUTCOME_DUMP)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "%s", guest_failure);
	if (c->outcome == KDH_OUTCOME_NO_DUMP) {
		kdh_result_fail(r, KDH_VERDICT_FAIL, "a dump was written to %s, none was expected",
		                files->crash_dir);
		return;
	}
	if (w.capture_rc != 0)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "the collector exited with status %d",
		                w.capture_rc);

	start = g_get_monotonic_time();
	const char *vmcore = find_file(r->files, "vmcore");
	if (!vmcore)
		kdh_result_fail(r, KDH_VERDICT_FAIL, "%s holds no vmcore", files->crash_dir);
	else
		verify_dump(r, c, k->release, vmcore);
	host_phase(r, "verify", start, NULL);
}

KdhResult *kdh_run_case(const KdhRunContext *ctx, const KdhCase *c)
{
	KdhResult *r = kdh_result_new(c->name);
	g_autofree char *dir = g_build_filename(ctx->run_dir, c->name, NULL);
	g_autofree char *verdict_path = g_build_filename(dir, VERDICT_FILE, NULL);
	g_autofree char *disk = g_build_filename(dir, DISK_FILE, NULL);
	g_autofree char *recipe = g_build_filename(ctx->images_dir, c->image, NULL);
	g_autofree char *initrd = NULL, *base = NULL, *detail = NULL;
	g_autoptr(KdhKernel) k = NULL;
	g_autoptr(GError) error = NULL;
	gint64 start;

	r->scenario_file = g_strdup(c->source);
	r->results_dir = g_strdup(dir);
	r->accel = g_strdup(kdh_accel_name(ctx->accel));
	r->kernel_ref = g_strdup(c->kernel_ref);
	g_print("%s\n", c->name);
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		kdh_result_fail(r, KDH_VERDICT_ERROR, "cannot create %s", dir);
		return r;
	}

	start = g_get_monotonic_time();
	KdhProgressPrinter progress = kdh_progress_printer(stdout, "  kernel   ");
	k = kdh_kernel_resolve_progress(c->kernel_ref, ctx->cache_dir, kdh_run_kernel_progress,
	                                &progress, &error);
	if (k) {
		r->kernel_release = g_strdup(k->release);
		r->kernel_package = g_strdup(k->package);
		r->kernel_version = g_strdup(k->version);
		detail = g_strdup_printf("%s (%s %s)", k->release, k->package, k->version);
	}
	host_phase(r, "kernel", start, detail);
	if (k) {
		start = g_get_monotonic_time();
		initrd = kdh_image_mini(k, recipe, ctx->cache_dir, &error);
		host_phase(r, "image", start, initrd);
	}
	if (initrd) {
		start = g_get_monotonic_time();
		base = kdh_guest_disk_base(ctx->cache_dir, ctx->accel == KDH_ACCEL_TCG, &error);
		if (base && kdh_guest_disk_overlay(base, disk, &error))
			host_phase(r, "disk", start, NULL);
		else
			g_clear_pointer(&base, g_free);
	}
	if (!base)
		kdh_result_fail(r, KDH_VERDICT_ERROR, "%s", error->message);
	else
		run_guest(ctx, c, r, k, initrd, disk, dir);

	if (!ctx->keep_disk)
		g_unlink(disk);
	if (!kdh_report_write_json(r, verdict_path, &error))
		kdh_result_fail(r, KDH_VERDICT_ERROR, "writing %s: %s", verdict_path,
		                error->message);
	return r;
}
