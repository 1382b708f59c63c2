/* One case: kernel → image → disk → VM (watch.c) → retrieval → verdict
 * (verdict/) → verdict.json.  Every step outside kdh goes through the
 * context's KdhRunOps. */
#include "image/image.h"
#include "run/internal.h"
#include "util/util.h"

#include <glib/gstdio.h>
#include <unistd.h>

/* What kdh itself writes into a case folder: a guest file must not take
 * these names. */
#define VERDICT_FILE "verdict.json"
#define SERIAL_FILE  "serial.log"
#define DISK_FILE    "disk.qcow2"
static const char *const reserved_names[] = {VERDICT_FILE, SERIAL_FILE, DISK_FILE, NULL};

/* The guest's dump folder name is guest-written: shown as text, bounded. */
#define CRASH_DIR_TEXT_MAX 512

/* ---- the real steps ---- */

static KdhKernel *host_kernel(const KdhRunContext *ctx, const KdhCase *c, GError **error)
{
	KdhProgressPrinter progress = kdh_progress_printer(stdout, "  kernel   ");

	return kdh_kernel_resolve_progress(c->kernel_ref, ctx->cache_dir, kdh_run_kernel_progress,
	                                   &progress, error);
}

static char *host_image(const KdhRunContext *ctx, const KdhCase *c, const KdhKernel *k,
                        GError **error)
{
	g_autofree char *recipe = g_build_filename(ctx->images_dir, c->image, NULL);

	return kdh_image_mini(k, recipe, ctx->cache_dir, error);
}

static gboolean host_disk(const KdhRunContext *ctx, const char *disk, GError **error)
{
	g_autofree char *base =
	    kdh_guest_disk_base(ctx->cache_dir, ctx->accel == KDH_ACCEL_TCG, error);

	return base && kdh_guest_disk_overlay(base, disk, error);
}

static KdhCrashFiles *host_retrieve(const KdhRunContext *ctx, const char *disk,
                                    const char *dest_dir, const char *const *reserved,
                                    GError **error)
{
	return kdh_guest_fetch_crash(disk, dest_dir, reserved, ctx->accel == KDH_ACCEL_TCG, error);
}

static gint64 host_now(void)
{
	return g_get_monotonic_time();
}

static void host_sleep(gulong usec)
{
	g_usleep(usec);
}

const KdhRunOps kdh_run_host_ops = {
    .kernel = host_kernel,
    .image = host_image,
    .disk = host_disk,
    .retrieve = host_retrieve,
    .now = host_now,
    .sleep = host_sleep,
};

/* ---- the case ---- */

static gboolean cancelled(const KdhRunContext *ctx)
{
	return ctx->cancelled && *ctx->cancelled;
}

/* A step failed with ERROR (may be NULL when the run was cancelled before
 * it): the cancellation, when there was one, is the reason whatever the step
 * says (an interrupted libguestfs launch fails with its own story). */
static void step_failed(const KdhRunContext *ctx, KdhResult *r, const GError *error)
{
	if (cancelled(ctx) || !error)
		kdh_result_fail(r, KDH_VERDICT_ERROR, "cancelled by a signal");
	else
		kdh_result_fail(r, KDH_VERDICT_ERROR, "%s", error->message);
}

static void host_phase(const KdhRunContext *ctx, KdhResult *r, const char *name, gint64 start,
                       const char *detail)
{
	double s = (ctx->ops->now() - start) / 1e6;

	kdh_result_add_phase(r, name, s);
	if (isatty(STDOUT_FILENO))
		g_print("\r\033[K"); /* over a progress line, if any */
	g_print("  %-9s %6.1f s%s%s\n", name, s, detail ? "  " : "", detail ? detail : "");
}

static char *kernel_cmdline(const KdhCase *c)
{
	return g_strdup_printf("console=ttyS0 crashkernel=%s panic=1 kdh.trigger=%s "
	                       "kdh.collector=%s kdh.dump_level=%u kdh.compression=%s",
	                       c->crashkernel, c->trigger->name, c->collector, c->dump_level,
	                       c->compression);
}

/* A libvirt domain name for the case in folder DIR: unique among runs (the
 * pid) and among this run's cases (a hash of the folder, which no two cases
 * share), whatever the names; the name part only helps a human reading
 * `virsh list`. */
static char *domain_name(const KdhCase *c, const char *dir)
{
	g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, dir, -1);

	return g_strdup_printf("kdh-%d-%.12s-%.60s", (int)getpid(), hash, c->name);
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

/* After the VM: the disk is the evidence, whatever the console said. */
static void retrieve_and_judge(const KdhRunContext *ctx, const KdhCase *c, KdhResult *r,
                               const KdhKernel *k, const char *disk, const char *dir,
                               const KdhConsoleEvidence *console)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(KdhCrashFiles) files = NULL;
	g_autofree char *crash_dir = NULL;
	gint64 start = ctx->ops->now();
	KdhEvidence ev = {.release = k->release, .console = console};

	files = ctx->ops->retrieve(ctx, disk, dir, reserved_names, &error);
	if (cancelled(ctx)) {
		host_phase(ctx, r, "retrieve", start, "cancelled");
		step_failed(ctx, r, error);
		return;
	}
	if (files) {
		crash_dir = kdh_guest_text(files->crash_dir, -1, CRASH_DIR_TEXT_MAX);
		for (guint i = 0; i < files->files->len; i++)
			g_ptr_array_add(r->files, g_strdup(g_ptr_array_index(files->files, i)));
		for (guint i = 0; i < files->skipped->len; i++)
			g_ptr_array_add(r->reasons, g_strdup_printf("not retrieved: %s",
			                                            (char *)g_ptr_array_index(
			                                                files->skipped, i)));
	}
	host_phase(ctx, r, "retrieve", start, crash_dir);
	if (!files && !g_error_matches(error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_NO_CRASH)) {
		step_failed(ctx, r, error);
		return;
	}
	ev.crash_dir = crash_dir;
	ev.no_crash = files ? NULL : error->message;
	ev.vmcore = find_file(r->files, "vmcore");
	start = ctx->ops->now();
	kdh_verdict_judge(r, c, &ev);
	if (files)
		host_phase(ctx, r, "verify", start, NULL);
}

/* Everything from the VM on; the case folder and disk are ready. */
static void run_guest(const KdhRunContext *ctx, const KdhCase *c, KdhResult *r, const KdhKernel *k,
                      const char *initrd, const char *disk, const char *dir)
{
	g_autofree char *serial = g_build_filename(dir, SERIAL_FILE, NULL);
	g_autofree char *cmdline = kernel_cmdline(c);
	g_autofree char *dom_name = domain_name(c, dir);
	g_autoptr(GError) error = NULL;
	KdhConsoleEvidence console = {0};
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
	KdhVm *vm = ctx->backend->start(&cfg, &error);

	if (!vm) {
		step_failed(ctx, r, error);
		return;
	}
	kdh_watch_vm(ctx, c, r, vm, serial, &console);
	if (console.booted_release && !g_str_equal(console.booted_release, k->release))
		kdh_result_fail(r, KDH_VERDICT_ERROR, "the guest booted %s, not %s",
		                console.booted_release, k->release);
	if (r->verdict != KDH_VERDICT_TIMEOUT && r->verdict != KDH_VERDICT_ERROR && !cancelled(ctx))
		retrieve_and_judge(ctx, c, r, k, disk, dir, &console);
	kdh_console_evidence_clear(&console);
}

/* The host steps before the VM: kernel, image, disk.  FALSE (with R's
 * verdict set) when one failed or the run was cancelled. */
static gboolean prepare(const KdhRunContext *ctx, const KdhCase *c, KdhResult *r, const char *disk,
                        KdhKernel **k, char **initrd)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *detail = NULL;
	gint64 start = ctx->ops->now();

	*k = ctx->ops->kernel(ctx, c, &error);
	if (*k) {
		r->kernel_release = g_strdup((*k)->release);
		r->kernel_package = g_strdup((*k)->package);
		r->kernel_version = g_strdup((*k)->version);
		detail = g_strdup_printf("%s (%s %s)", (*k)->release, (*k)->package, (*k)->version);
	}
	host_phase(ctx, r, "kernel", start, detail);
	if (!*k || cancelled(ctx))
		goto failed;

	start = ctx->ops->now();
	*initrd = ctx->ops->image(ctx, c, *k, &error);
	host_phase(ctx, r, "image", start, *initrd);
	if (!*initrd || cancelled(ctx))
		goto failed;

	start = ctx->ops->now();
	if (!ctx->ops->disk(ctx, disk, &error) || cancelled(ctx))
		goto failed;
	host_phase(ctx, r, "disk", start, NULL);
	return TRUE;

failed:
	step_failed(ctx, r, error);
	return FALSE;
}

KdhResult *kdh_run_case(const KdhRunContext *ctx, const KdhCase *c)
{
	KdhResult *r = kdh_result_new(c->name);
	g_autofree char *dir = g_build_filename(ctx->run_dir, c->name, NULL);
	g_autofree char *verdict_path = g_build_filename(dir, VERDICT_FILE, NULL);
	g_autofree char *disk = g_build_filename(dir, DISK_FILE, NULL);
	g_autofree char *initrd = NULL;
	g_autoptr(KdhKernel) k = NULL;
	g_autoptr(GError) error = NULL;

	r->scenario_file = g_strdup(c->source);
	r->results_dir = g_strdup(dir);
	r->accel = g_strdup(kdh_accel_name(ctx->accel));
	r->kernel_ref = g_strdup(c->kernel_ref);
	g_print("%s\n", c->name);
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		kdh_result_fail(r, KDH_VERDICT_ERROR, "cannot create %s", dir);
		return r;
	}
	if (prepare(ctx, c, r, disk, &k, &initrd))
		run_guest(ctx, c, r, k, initrd, disk, dir);
	if (!ctx->keep_disk)
		g_unlink(disk);
	if (!kdh_report_write_json(r, verdict_path, &error))
		kdh_result_fail(r, KDH_VERDICT_ERROR, "writing %s: %s", verdict_path,
		                error->message);
	return r;
}
