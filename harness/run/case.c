/* One case's stages: folders and overlay → VM (watch.c) → [retrieval, by
 * the run's retriever] → verdict (verdict/) → verdict.json.  Every step
 * outside kdh goes through the context's KdhRunOps. */
#include "image/image.h"
#include "run/internal.h"
#include "util/util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <unistd.h>

#define VERDICT_FILE "verdict.json"
#define SERIAL_FILE  "serial.log"
const char *const kdh_job_reserved_names[] = {
    VERDICT_FILE,           SERIAL_FILE, KDH_DISK_FILE, KDH_DOMAIN_FILE, KDH_VERDICT_CRASH_FILE,
    KDH_VERDICT_DMESG_FILE, NULL};

/* The guest's dump folder name is guest-written: shown as text, bounded. */
#define CRASH_DIR_TEXT_MAX 512

/* ---- the real steps ---- */

static KdhKernel *host_kernel(const KdhRunContext *ctx, const KdhCase *c, GError **error)
{
	KdhProgressPrinter progress = kdh_progress_printer(stdout, "  kernel   ");

	return kdh_kernel_resolve_progress(c->kernel_ref, ctx->cache_dir, kdh_run_kernel_progress,
	                                   &progress, error);
}

static char *host_crashmod(const KdhRunContext *ctx, const KdhKernel *k, GError **error)
{
	g_autofree char *source = g_build_filename(ctx->images_dir, "crashmod", NULL);

	return kdh_crashmod_build(k, source, ctx->cache_dir, error);
}

static char *host_vmlinux(const KdhRunContext *ctx, const KdhKernel *k, gboolean fetch,
                          GError **error)
{
	return kdh_kernel_debug_vmlinux(k, fetch, ctx->cache_dir, error);
}

static KdhBootImage *host_image(const KdhRunContext *ctx, const KdhCase *c, const KdhKernel *k,
                                const char *const *extras, GError **error)
{
	return kdh_image_kind_find(c->image)->make(ctx, c, k, extras, error);
}

static char *host_base(const KdhRunContext *ctx, GError **error)
{
	return kdh_guest_disk_base(ctx->cache_dir, ctx->accel == KDH_ACCEL_TCG, error);
}

static gboolean host_overlay(const KdhRunContext *ctx, const char *base, const char *disk,
                             GError **error)
{
	(void)ctx;
	return kdh_guest_disk_overlay(base, disk, error);
}

/* What fill_layer makes. */
typedef struct {
	const char *base;
	GPtrArray *files;
	gboolean force_tcg;
} Layer;

static gboolean fill_layer(const char *out, const char *scratch, gpointer data, GError **error)
{
	const Layer *l = data;

	(void)scratch;
	return kdh_guest_disk_overlay(l->base, out, error) &&
	       kdh_guest_disk_write(out, l->files, l->force_tcg, error);
}

static char *host_configure(const KdhRunContext *ctx, const KdhCase *c, const KdhBootImage *img,
                            GError **error)
{
	g_autoptr(GPtrArray) files = kdh_run_case_settings(c, img, error);
	g_autofree char *dir = g_build_filename(ctx->cache_dir, "layers", NULL);
	g_autofree char *name = NULL;
	Layer layer = {.base = img->disk, .files = files, .force_tcg = ctx->accel == KDH_ACCEL_TCG};

	if (!files)
		return NULL;
	name = kdh_run_settings_key(img, files);
	return kdh_cache_entry_ensure(dir, name, fill_layer, &layer, error);
}

static gboolean host_retrieve(const KdhRunContext *ctx, KdhRetrieval *items, guint n,
                              double *launch_seconds, GError **error)
{
	g_autofree KdhGuestFetch *fetch = g_new0(KdhGuestFetch, n);
	gboolean ok;

	for (guint i = 0; i < n; i++) {
		fetch[i].disk = items[i].disk;
		fetch[i].dest_dir = items[i].dest_dir;
		fetch[i].reserved = items[i].reserved;
		fetch[i].file_prefix = items[i].file_prefix;
		fetch[i].max_bytes = items[i].max_bytes;
	}
	ok = kdh_guest_fetch_crash_batch(fetch, n, ctx->accel == KDH_ACCEL_TCG, ctx->cancelled,
	                                 launch_seconds, error);
	for (guint i = 0; i < n; i++) {
		items[i].files = fetch[i].files;
		items[i].error = fetch[i].error;
		items[i].seconds = fetch[i].seconds;
	}
	return ok;
}

static gint64 host_now(void)
{
	return g_get_monotonic_time();
}

static gint64 host_wall(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

static void host_sleep(gulong usec)
{
	g_usleep(usec);
}

const KdhRunOps kdh_run_host_ops = {
    .kernel = host_kernel,
    .crashmod = host_crashmod,
    .vmlinux = host_vmlinux,
    .image = host_image,
    .base = host_base,
    .overlay = host_overlay,
    .configure = host_configure,
    .retrieve = host_retrieve,
    .now = host_now,
    .wall = host_wall,
    .sleep = host_sleep,
};

/* ---- the run's shared state ---- */

gboolean kdh_run_cancelled(const KdhRunContext *ctx)
{
	return ctx->cancelled && *ctx->cancelled;
}

void kdh_run_fail_interrupted(const KdhRunContext *ctx, KdhResult *r, KdhVerdict verdict)
{
	int sig = ctx->cancelled ? *ctx->cancelled : 0;

	kdh_result_fail(r, verdict, "interrupted by SIG%s", sig ? sigabbrev_np(sig) : "?");
}

void kdh_run_enter_phase(const KdhRunContext *ctx, KdhResult *r, const char *phase)
{
	kdh_result_enter_phase(r, phase);
	if (ctx->monitor)
		kdh_run_monitor_phase(ctx->monitor, r->case_name, phase);
}

/* A step failed with ERROR (may be NULL when the run was cancelled before
 * it): the interruption, when there was one, is the reason whatever the
 * step says (an interrupted libguestfs launch fails with its own story). */
static void step_failed(const KdhRunContext *ctx, KdhResult *r, const GError *error)
{
	if (kdh_run_cancelled(ctx) || !error)
		kdh_run_fail_interrupted(ctx, r, KDH_VERDICT_ERROR);
	else
		kdh_result_fail(r, KDH_VERDICT_ERROR, "%s", error->message);
}

/* ---- one case ---- */

/* The folder holding PATH, by name: a cache entry, named by its key. */
static char *cache_entry(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);

	return g_path_get_basename(dir);
}

void kdh_run_case_inputs(const KdhPrepared *p, const KdhCase *c, KdhInputs *out)
{
	const KdhKernel *k = kdh_prepared_kernel(p, c);
	const KdhBootImage *img = kdh_prepared_image(p, c);
	const char *mod = kdh_prepared_crashmod(p, c);

	out->scenario = g_strdup_printf("%s %s", c->source_hash, c->name);
	out->kernel = k ? g_strdup_printf("%s %s", k->id, k->version ? k->version : "-") : NULL;
	if (img) {
		g_autofree char *image = cache_entry(img->initrd);
		g_autofree char *module = mod ? cache_entry(mod) : g_strdup("-");
		out->image = g_strdup_printf("%s %s", image, module);
	}
}

KdhJob *kdh_job_new(const KdhRunContext *ctx, const KdhPrepared *p, const KdhCase *c)
{
	KdhJob *j = g_new0(KdhJob, 1);

	j->c = c;
	j->r = kdh_result_new(c->name);
	if (p) {
		j->k = kdh_prepared_kernel(p, c);
		j->img = kdh_prepared_image(p, c);
		j->base = kdh_prepared_base(p, c);
		j->blocked = kdh_prepared_blocked(p, c, &j->blocked_verdict);
		j->vmlinux = kdh_prepared_vmlinux(p, c);
		j->crash_module = kdh_prepared_crashmod(p, c);
	}
	j->dir = g_build_filename(ctx->run_dir, c->name, NULL);
	/* What QEMU opens lives in a folder it can reach (see vm.h), not in
	 * the results, which may lie below a folder only we may enter. */
	j->vm_dir = ctx->vm_dir ? g_build_filename(ctx->vm_dir, c->name, NULL) : g_strdup(j->dir);
	j->disk = g_build_filename(j->vm_dir, KDH_DISK_FILE, NULL);
	j->footprint = kdh_guest_footprint(c->memory);
	j->r->scenario_file = g_strdup(c->source);
	j->r->results_dir = g_strdup(j->dir);
	j->r->accel = g_strdup(kdh_accel_name(ctx->accel));
	j->r->kernel_ref = g_strdup(c->kernel_ref);
	j->r->kdh_version = g_strdup(kdh_version());
	kdh_run_result_ask(j->r, c);
	if (p)
		kdh_run_case_inputs(p, c, &j->r->inputs);
	j->r->matrix_kernel = g_strdup(c->matrix_kernel);
	j->r->matrix_scenario = g_strdup(c->matrix_scenario);
	if (j->k) {
		j->r->kernel_release = g_strdup(j->k->release);
		j->r->kernel_package = g_strdup(j->k->package);
		j->r->kernel_version = g_strdup(j->k->version);
	}
	return j;
}

void kdh_job_free(KdhJob *j)
{
	if (!j)
		return;
	kdh_result_free(j->r);
	g_free(j->dir);
	g_free(j->vm_dir);
	g_free(j->disk);
	g_free(j->layer);
	g_free(j->remote_disk);
	kdh_console_evidence_clear(&j->console);
	g_free(j);
}

static void add_phase(const KdhRunContext *ctx, KdhResult *r, const char *name, gint64 start)
{
	kdh_result_add_phase(r, name, (ctx->ops->now() - start) / 1e6);
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

/* A step failed on J's host with ERROR: a host out of reach takes no more
 * cases. */
static void host_step_failed(const KdhRunContext *ctx, KdhJob *j, const GError *error)
{
	if (g_error_matches(error, KDH_VM_ERROR, KDH_VM_ERROR_CONNECTION_LOST)) {
		j->host_lost = TRUE;
		if (ctx->n_hosts)
			kdh_result_fail(j->r, KDH_VERDICT_ERROR, "host lost (%s): %s",
			                j->host->label, error->message);
		else
			kdh_result_fail(j->r, KDH_VERDICT_ERROR, "%s", error->message);
		return;
	}
	step_failed(ctx, j->r, error);
}

/* J's overlay on its remote host, and what it boots there (REMOTE). */
static gboolean make_remote_disk(const KdhRunContext *ctx, KdhJob *j, const char *domain,
                                 KdhRemoteBoot *remote)
{
	g_autoptr(GError) error = NULL;
	gint64 start = ctx->ops->now();
	guint64 sent = 0;

	kdh_run_enter_phase(ctx, j->r, "upload");
	if (!kdh_job_remote_prepare(j, domain, remote, &sent, &error) || kdh_run_cancelled(ctx)) {
		host_step_failed(ctx, j, error);
		return FALSE;
	}
	add_phase(ctx, j->r, "upload", start);
	j->r->uploaded_bytes = (gint64)sent;
	return TRUE;
}

/* The case's folders and overlay disk (over its settings layer when its
 * image kind takes settings), on its remote host when it has one (what it
 * boots there in REMOTE); FALSE with the verdict set. */
static gboolean make_disk(const KdhRunContext *ctx, KdhJob *j, const char *domain,
                          KdhRemoteBoot *remote)
{
	g_autoptr(GError) error = NULL;
	gint64 start;

	if (kdh_image_kind_find(j->c->image)->configured) {
		kdh_run_enter_phase(ctx, j->r, "configure");
		start = ctx->ops->now();
		j->layer = ctx->ops->configure(ctx, j->c, j->img, &error);
		if (!j->layer || kdh_run_cancelled(ctx)) {
			if (error)
				g_prefix_error(&error,
				               "writing the case's settings into its disk: ");
			step_failed(ctx, j->r, error);
			return FALSE;
		}
		add_phase(ctx, j->r, "configure", start);
	}
	kdh_run_enter_phase(ctx, j->r, "disk");
	start = ctx->ops->now();
	if (ctx->vm_dir && !kdh_vm_dir_new(j->vm_dir, &error)) {
		kdh_result_fail(j->r, KDH_VERDICT_ERROR, "%s", error->message);
		return FALSE;
	}
	if (j->host->remote)
		return make_remote_disk(ctx, j, domain, remote);
	if (!ctx->ops->overlay(ctx, j->layer ? j->layer : j->base, j->disk, &error) ||
	    kdh_run_cancelled(ctx)) {
		step_failed(ctx, j->r, error);
		return FALSE;
	}
	add_phase(ctx, j->r, "disk", start);
	return TRUE;
}

/* The watch said the connection died: over several hosts (or a remote
 * one) that is the host lost, and its reason says so. */
static void host_lost_reason(const KdhRunContext *ctx, KdhJob *j)
{
	for (guint i = 0; ctx->n_hosts && i < j->r->reasons->len; i++) {
		char *said = g_ptr_array_index(j->r->reasons, i);
		if (!g_str_has_prefix(said, "libvirt connection lost"))
			continue;
		j->r->reasons->pdata[i] =
		    g_strdup_printf("host lost (%s): %s", j->host->label, said);
		g_free(said);
		return;
	}
}

/* A remote case's overlay brought home for the retrieval; FALSE with the
 * verdict set. */
static gboolean fetch_remote_disk(const KdhRunContext *ctx, KdhJob *j)
{
	g_autoptr(GError) error = NULL;
	gint64 start = ctx->ops->now();
	guint64 bytes = 0;

	kdh_run_enter_phase(ctx, j->r, "download");
	if (!kdh_job_remote_fetch(j, &bytes, &error)) {
		host_step_failed(ctx, j, error);
		return FALSE;
	}
	add_phase(ctx, j->r, "download", start);
	j->r->downloaded_bytes = (gint64)bytes;
	return TRUE;
}

gboolean kdh_job_start(KdhJob *j)
{
	j->started = TRUE;
	j->r->started_at = kdh_timestamp_now();
	return g_mkdir_with_parents(j->dir, 0755) == 0;
}

gboolean kdh_job_run_guest(const KdhRunContext *ctx, KdhJob *j)
{
	g_autofree char *serial = g_build_filename(j->dir, SERIAL_FILE, NULL);
	g_autofree char *cmdline = NULL;
	g_autofree char *dom_name = domain_name(j->c, j->dir);
	g_autofree char *xml = g_build_filename(j->dir, KDH_DOMAIN_FILE, NULL);
	g_autoptr(GError) error = NULL;
	g_auto(KdhRemoteBoot) remote = {0};
	KdhVm *vm;

	if (!kdh_job_start(j)) {
		kdh_result_fail(j->r, KDH_VERDICT_ERROR, "cannot create %s", j->dir);
		return FALSE;
	}
	j->started_unix = ctx->ops->wall();
	if (j->blocked) {
		kdh_result_fail(j->r, j->blocked_verdict, "%s", j->blocked);
		return FALSE;
	}
	if (!j->k || !j->img || !j->base) {
		kdh_result_fail(j->r, KDH_VERDICT_ERROR, "the run did not prepare this case");
		return FALSE;
	}
	cmdline = kdh_image_kind_find(j->c->image)->cmdline(j->c, j->img);
	if (!make_disk(ctx, j, dom_name, &remote))
		return FALSE;
	KdhVmConfig cfg = {
	    .uri = j->host->uri,
	    .name = dom_name,
	    .memory = j->c->memory,
	    .cpus = j->c->cpus,
	    .kernel = j->k->vmlinuz,
	    .initrd = j->img->initrd,
	    .cmdline = cmdline,
	    .disk = j->disk,
	    .disk_base = j->layer ? j->layer : j->base,
	    .disk_base_backing = j->layer ? j->base : NULL,
	    .serial_log = serial,
	    .dir = j->vm_dir,
	    .accel = ctx->accel,
	    .xml_copy = xml,
	};
	if (j->host->remote) {
		cfg.remote = j->host->remote;
		cfg.kernel = remote.kernel;
		cfg.initrd = remote.initrd;
		cfg.disk = j->remote_disk;
		cfg.disk_base = remote.base;
		cfg.disk_base_backing = remote.base_backing;
	}
	if (kdh_run_cancelled(ctx) || !(vm = ctx->backend->start(&cfg, &error))) {
		host_step_failed(ctx, j, error);
		return FALSE;
	}
	kdh_watch_vm(ctx, j->c, j->r, vm, serial, &j->console);
	if (j->console.connection_lost) {
		j->host_lost = TRUE;
		host_lost_reason(ctx, j);
	}
	if (j->console.skip_reason) {
		kdh_result_fail(j->r, KDH_VERDICT_SKIP, "%s", j->console.skip_reason);
		return FALSE;
	}
	if (j->console.booted_release && !g_str_equal(j->console.booted_release, j->k->release))
		kdh_result_fail(j->r, KDH_VERDICT_ERROR, "the guest booted %s, not %s",
		                j->console.booted_release, j->k->release);
	if (j->r->verdict == KDH_VERDICT_TIMEOUT || j->r->verdict == KDH_VERDICT_ERROR ||
	    kdh_run_cancelled(ctx))
		return FALSE;
	return !j->host->remote || fetch_remote_disk(ctx, j);
}

void kdh_job_judge(const KdhRunContext *ctx, KdhJob *j, KdhRetrieval *ret, double share,
                   double waited)
{
	KdhResult *r = j->r;
	g_autofree char *crash_dir = NULL;
	gint64 start;
	g_autofree char *serial = g_build_filename(j->dir, SERIAL_FILE, NULL);
	KdhEvidence ev = {
	    .release = j->k->release,
	    .console = &j->console,
	    .serial_log = serial,
	    .started_unix = j->started_unix,
	    .case_dir = j->dir,
	    .vmlinux = j->vmlinux,
	    .crash_module = j->crash_module,
	};

	kdh_result_add_phase(r, "retrieve-wait", waited);
	kdh_result_add_phase(r, "retrieve", share + ret->seconds);
	if (kdh_run_cancelled(ctx)) {
		step_failed(ctx, r, NULL);
		return;
	}
	if (ret->files) {
		crash_dir = kdh_guest_text(ret->files->crash_dir, -1, CRASH_DIR_TEXT_MAX);
		for (guint i = 0; i < ret->files->files->len; i++)
			g_ptr_array_add(r->files,
			                g_strdup(g_ptr_array_index(ret->files->files, i)));
		for (guint i = 0; i < ret->files->skipped->len; i++)
			g_ptr_array_add(r->reasons, g_strdup_printf("not retrieved: %s",
			                                            (char *)g_ptr_array_index(
			                                                ret->files->skipped, i)));
	} else if (!g_error_matches(ret->error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_NO_CRASH)) {
		/* The host's failure, not the kernel's: the dump may well be on
		 * the disk, which is kept for a later look. */
		kdh_result_fail(r, KDH_VERDICT_ERROR,
		                "retrieving the dump from the guest's disk: %s",
		                ret->error->message);
		j->keep_disk = TRUE;
		return;
	}
	kdh_run_enter_phase(ctx, r, "verify");
	ev.crash_dir = crash_dir;
	ev.no_crash = ret->files ? NULL : ret->error->message;
	ev.files = r->files;
	start = ctx->ops->now();
	kdh_verdict_judge(r, j->c, &ev);
	if (ret->files)
		add_phase(ctx, r, "verify", start);
}

/* The dump goes once it is verified, when the run says so: a suite must
 * not fill the disk with dumps nobody will read. */
static void drop_dump(const KdhRunContext *ctx, KdhResult *r)
{
	gboolean drop =
	    ctx->keep_dumps == KDH_KEEP_DUMPS_NEVER ||
	    (ctx->keep_dumps == KDH_KEEP_DUMPS_FAILED && r->verdict == KDH_VERDICT_PASS);

	for (guint i = 0; drop && r->dump_local && i < r->files->len;) {
		const char *path = g_ptr_array_index(r->files, i);
		if (g_str_equal(path, r->dump_local) && g_unlink(path) == 0) {
			g_ptr_array_add(r->reasons,
			                g_strdup_printf("dump deleted after verification "
			                                "(--keep-dumps=%s)",
			                                ctx->keep_dumps == KDH_KEEP_DUMPS_NEVER
			                                    ? "never"
			                                    : "failed"));
			g_ptr_array_remove_index(r->files, i);
		} else {
			i++;
		}
	}
}

/* The VM's folder goes with the case; its disk is kept in the case folder
 * when asked. */
static void keep_or_remove_vm_files(const KdhRunContext *ctx, KdhJob *j)
{
	g_autofree char *kept = g_build_filename(j->dir, KDH_DISK_FILE, NULL);
	gboolean keep = ctx->keep_disk || j->keep_disk;

	if (keep && !g_str_equal(j->disk, kept) && g_file_test(j->disk, G_FILE_TEST_EXISTS)) {
		g_autoptr(GFile) from = g_file_new_for_path(j->disk),
		                 to = g_file_new_for_path(kept);
		g_autoptr(GError) error = NULL;
		if (!g_file_move(from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, &error)) {
			/* A full results folder: no half a disk beside the verdict. */
			g_unlink(kept);
			kdh_result_fail(j->r, KDH_VERDICT_ERROR, "keeping the disk: %s",
			                error->message);
		} else if (j->keep_disk) {
			g_ptr_array_add(j->r->reasons,
			                g_strdup_printf("the guest's disk is kept as %s", kept));
		}
	}
	if (ctx->vm_dir)
		kdh_rm_rf(j->vm_dir);
	else if (!keep)
		g_unlink(j->disk);
}

void kdh_job_finish(const KdhRunContext *ctx, KdhJob *j)
{
	g_autofree char *verdict_path = g_build_filename(j->dir, VERDICT_FILE, NULL);
	g_autoptr(GError) error = NULL;

	if (!j->started)
		return;
	if (j->remote_disk && ctx->keep_disk && !kdh_job_remote_fetch(j, NULL, &error)) {
		g_ptr_array_add(j->r->reasons, g_strdup_printf("the guest's disk is not kept: %s",
		                                               error->message));
		g_clear_error(&error);
	}
	kdh_job_remote_drop(j);
	keep_or_remove_vm_files(ctx, j);
	if (j->host)
		j->r->host = g_strdup(j->host->label);
	drop_dump(ctx, j->r);
	if (!kdh_report_write_json(j->r, verdict_path, &error)) {
		kdh_result_fail(j->r, KDH_VERDICT_ERROR, "writing %s: %s", verdict_path,
		                error->message);
		/* Only results.json (if it fits) holds the verdict now: say so. */
		g_printerr("kdh: case %s: writing %s: %s\n", j->r->case_name, verdict_path,
		           error->message);
	}
}
