/* Many cases at once: what they share made once (prepare), up to N VMs
 * running (workers), and one libguestfs appliance at a time reading the
 * disks of every finished case waiting for it (the retriever).  A finished
 * case leaves its VM slot at once: the next VM boots while the appliance
 * reads, and the cases that finish meanwhile make the next batch, so a
 * batch never waits to fill. */
#include "run/internal.h"

#include <string.h>

/* How long a finished disk waits for others to share its appliance, and
 * how often the batch is looked at meanwhile (see retriever()). */
#define RETRIEVE_WAIT_MAX_US ((gint64)90 * G_USEC_PER_SEC)
#define RETRIEVE_POLL_US     ((gint64)G_USEC_PER_SEC / 2)

/* ---- the run ---- */

typedef struct {
	const KdhRunContext *ctx;
	KdhJob **jobs; /* one per case, in order */
	guint n;
	GMutex lock;
	GCond changed; /* a slot, memory or a queued disk became free/available */
	guint next;    /* the next case to start */
	/* The hosts (the context's, or its one URI): where each stands, and
	 * what the run put on each. */
	KdhRunHost *hosts;
	KdhPlaceHost *places;
	KdhHostFiles *files;
	guint n_hosts;
	char *label;   /* the one URI's, without the context's hosts */
	guint running; /* VMs running now, on every host */
	GQueue queue;  /* KdhJob* waiting for the retriever */
	guint workers; /* workers still taking cases */
} Run;

/* Why J fits on no host of RUN (the lock is held). */
static char *fits_nowhere(Run *run, const KdhJob *j)
{
	int big = kdh_place_largest(run->places, run->n_hosts);
	g_autoptr(GString) lost = g_string_new(NULL);

	if (big < 0) {
		for (guint i = 0; i < run->n_hosts; i++)
			g_string_append_printf(lost, "%s%s", i ? ", " : "", run->hosts[i].label);
		return g_strdup_printf("no host is left to run it: %s %s lost", lost->str,
		                       run->n_hosts == 1 ? "was" : "were all");
	}
	if (run->n_hosts == 1)
		return g_strdup_printf(
		    "the guest needs %" G_GUINT64_FORMAT
		    " MiB with QEMU, the host's free memory holds %" G_GUINT64_FORMAT " MiB",
		    j->footprint >> 20, run->places[big].budget >> 20);
	return g_strdup_printf("the guest needs %" G_GUINT64_FORMAT
	                       " MiB with QEMU, more than any host holds: the largest, %s, "
	                       "holds %" G_GUINT64_FORMAT " MiB",
	                       j->footprint >> 20, run->hosts[big].label,
	                       run->places[big].budget >> 20);
}

/* Waits until a host holds J's VM beside those running there, and takes
 * its room; FALSE when the run was cancelled meanwhile, or when J could
 * never fit (its verdict says why). */
static gboolean admit(Run *run, KdhJob *j)
{
	const KdhRunContext *ctx = run->ctx;
	g_autofree char *why = NULL;
	int at = KDH_PLACE_WAIT;

	g_mutex_lock(&run->lock);
	while (!kdh_run_cancelled(ctx) &&
	       (at = kdh_place(run->places, run->n_hosts, j->footprint)) == KDH_PLACE_WAIT) {
		gint64 until = g_get_monotonic_time() + G_USEC_PER_SEC / 5;
		g_cond_wait_until(&run->changed, &run->lock, until);
	}
	if (kdh_run_cancelled(ctx)) {
		at = KDH_PLACE_WAIT;
	} else if (at == KDH_PLACE_NEVER) {
		why = fits_nowhere(run, j);
	} else {
		run->places[at].used += j->footprint;
		run->places[at].running++;
		run->running++;
		j->host = &run->hosts[at];
		j->host_files = &run->files[at];
	}
	g_mutex_unlock(&run->lock);
	if (why) {
		/* verdict.json says why (the folder failing is said by
		 * kdh_job_finish's write). */
		kdh_job_start(j);
		kdh_result_fail(j->r, KDH_VERDICT_ERROR, "%s", why);
	}
	return at >= 0;
}

/* J's VM has ended: its room on its host is free (and the host marked
 * lost when its connection died), and its disk joins the retrieval queue
 * when TO_READ, in the same step, so the retriever never sees no VM
 * running while a disk is still on its way to the queue. */
static void release(Run *run, KdhJob *j, gboolean to_read)
{
	KdhPlaceHost *place = &run->places[j->host - run->hosts];

	if (to_read)
		kdh_run_enter_phase(run->ctx, j->r, "retrieve");
	g_mutex_lock(&run->lock);
	place->used -= j->footprint;
	place->running--;
	place->lost = place->lost || j->host_lost;
	run->running--;
	if (to_read) {
		j->queued_at = run->ctx->ops->now();
		g_queue_push_tail(&run->queue, j);
	}
	g_cond_broadcast(&run->changed);
	g_mutex_unlock(&run->lock);
}

static void finish(Run *run, KdhJob *j)
{
	kdh_job_finish(run->ctx, j);
	if (run->ctx->monitor && j->started)
		kdh_run_monitor_finished(run->ctx->monitor, j->r);
}

static gpointer worker(gpointer data)
{
	Run *run = data;

	for (;;) {
		KdhJob *j = NULL;

		g_mutex_lock(&run->lock);
		if (run->next < run->n && !kdh_run_cancelled(run->ctx))
			j = run->jobs[run->next++];
		g_mutex_unlock(&run->lock);
		if (!j)
			break;
		if (!admit(run, j)) {
			finish(run, j);
			continue;
		}
		gboolean to_read = kdh_job_run_guest(run->ctx, j);
		release(run, j, to_read);
		if (!to_read)
			finish(run, j);
	}
	g_mutex_lock(&run->lock);
	run->workers--;
	g_cond_broadcast(&run->changed);
	g_mutex_unlock(&run->lock);
	return NULL;
}

/* Reads the disks of BATCH (N jobs) with one appliance and finishes them. */
static void retrieve_batch(Run *run, KdhJob **batch, guint n)
{
	const KdhRunContext *ctx = run->ctx;
	g_autofree KdhRetrieval *items = g_new0(KdhRetrieval, n);
	g_autoptr(GError) error = NULL;
	gint64 start = ctx->ops->now();
	double launch = 0;

	for (guint i = 0; i < n; i++) {
		items[i].disk = batch[i]->disk;
		items[i].dest_dir = batch[i]->dir;
		items[i].reserved = kdh_job_reserved_names;
		items[i].file_prefix = kdh_collector_find(batch[i]->c->collector)->file_prefix;
		items[i].max_bytes = kdh_guest_dump_cap(batch[i]->c->memory);
	}
	/* Once interrupted, no appliance starts: the cases end as they are. */
	if (kdh_run_cancelled(ctx))
		g_set_error(&error, KDH_GUEST_ERROR, KDH_GUEST_ERROR_CANCELLED,
		            "retrieval cancelled: kdh was interrupted before it began");
	else
		ctx->ops->retrieve(ctx, items, n, &launch, &error);
	for (guint i = 0; i < n; i++) {
		if (!items[i].files && !items[i].error)
			items[i].error = g_error_copy(error);
		kdh_job_judge(ctx, batch[i], &items[i], launch / n,
		              (start - batch[i]->queued_at) / 1e6);
		finish(run, batch[i]);
		kdh_crash_files_free(items[i].files);
		g_clear_error(&items[i].error);
	}
}

/* Whether the disks waiting make a batch now (the lock is held): a full
 * one; or no VM runs and none is left to start, so no disk will join; or
 * the first has waited RETRIEVE_WAIT_MAX_US; or the run was cancelled. */
static gboolean batch_ready(Run *run)
{
	const KdhJob *first = g_queue_peek_head(&run->queue);

	return g_queue_get_length(&run->queue) >= KDH_GUEST_BATCH_MAX ||
	       (run->running == 0 && run->next >= run->n) ||
	       run->ctx->ops->now() - first->queued_at >= RETRIEVE_WAIT_MAX_US ||
	       kdh_run_cancelled(run->ctx);
}

/* Reads the finished cases' disks, a batch at a time, until the workers
 * have ended and the queue is empty.  An appliance boot costs a TCG host
 * about as much CPU as a guest's whole boot, while one more disk in a
 * batch costs ~3 s, and the appliance takes its core from the running VMs:
 * so a batch waits for the disks of the VMs still running, up to
 * RETRIEVE_WAIT_MAX_US, rather than start an appliance per disk.  Waiting
 * holds back only results, never a VM.  Once the run is cancelled, waiting
 * jobs end without their disks being read. */
static gpointer retriever(gpointer data)
{
	Run *run = data;
	KdhJob *batch[KDH_GUEST_BATCH_MAX];

	for (;;) {
		guint n = 0;

		g_mutex_lock(&run->lock);
		while (g_queue_is_empty(&run->queue) && run->workers)
			g_cond_wait(&run->changed, &run->lock);
		/* Woken when a VM ends or a disk joins; the timeout only
		 * lets the clock (ops->now) be looked at again. */
		while (!g_queue_is_empty(&run->queue) && !batch_ready(run))
			g_cond_wait_until(&run->changed, &run->lock,
			                  g_get_monotonic_time() + RETRIEVE_POLL_US);
		while (n < KDH_GUEST_BATCH_MAX && !g_queue_is_empty(&run->queue))
			batch[n++] = g_queue_pop_head(&run->queue);
		g_mutex_unlock(&run->lock);
		if (!n)
			break;
		retrieve_batch(run, batch, n);
	}
	return NULL;
}

/* RUN's hosts: the context's, or its one URI with its jobs and budget. */
static guint hosts_init(Run *run)
{
	const KdhRunContext *ctx = run->ctx;
	guint slots = 0;

	run->n_hosts = ctx->n_hosts ? ctx->n_hosts : 1;
	run->hosts = g_new0(KdhRunHost, run->n_hosts);
	run->places = g_new0(KdhPlaceHost, run->n_hosts);
	run->files = g_new0(KdhHostFiles, run->n_hosts);
	run->label = ctx->uri ? kdh_uri_label(ctx->uri) : NULL;
	for (guint i = 0; i < run->n_hosts; i++) {
		run->hosts[i] = ctx->n_hosts ? ctx->hosts[i]
		                             : (KdhRunHost){.uri = ctx->uri,
		                                            .label = run->label,
		                                            .jobs = ctx->jobs,
		                                            .memory_budget = ctx->memory_budget};
		run->places[i] = (KdhPlaceHost){.label = run->hosts[i].label,
		                                .slots = MAX(1, run->hosts[i].jobs),
		                                .budget = run->hosts[i].memory_budget};
		kdh_host_files_init(&run->files[i]);
		slots += run->places[i].slots;
	}
	return slots;
}

static void hosts_clear(Run *run)
{
	for (guint i = 0; i < run->n_hosts; i++)
		kdh_host_files_clear(&run->files[i]);
	g_free(run->hosts);
	g_free(run->places);
	g_free(run->files);
	g_free(run->label);
}

GPtrArray *kdh_run_cases(const KdhRunContext *ctx, const KdhPrepared *p, GPtrArray *cases)
{
	Run run = {.ctx = ctx, .n = cases->len};
	guint slots = hosts_init(&run);
	guint nworkers = MAX(1, MIN(slots, cases->len));
	g_autofree GThread **threads = g_new0(GThread *, nworkers);
	GThread *reader;
	GPtrArray *results = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_result_free);

	g_mutex_init(&run.lock);
	g_cond_init(&run.changed);
	g_queue_init(&run.queue);
	run.jobs = g_new0(KdhJob *, run.n);
	for (guint i = 0; i < run.n; i++) {
		run.jobs[i] = kdh_job_new(ctx, p, g_ptr_array_index(cases, i));
	}
	run.workers = nworkers;
	reader = g_thread_new("kdh-retrieve", retriever, &run);
	for (guint i = 0; i < nworkers; i++)
		threads[i] = g_thread_new("kdh-job", worker, &run);
	for (guint i = 0; i < nworkers; i++)
		g_thread_join(threads[i]);
	g_thread_join(reader);

	for (guint i = 0; i < run.n; i++) {
		KdhJob *j = run.jobs[i];
		if (!j->started)
			kdh_run_fail_interrupted(ctx, j->r, KDH_VERDICT_NOT_RUN);
		g_ptr_array_add(results, g_steal_pointer(&j->r));
		kdh_job_free(j);
	}
	g_free(run.jobs);
	hosts_clear(&run);
	g_queue_clear(&run.queue);
	g_cond_clear(&run.changed);
	g_mutex_clear(&run.lock);
	return results;
}

KdhResult *kdh_run_case(const KdhRunContext *ctx, const KdhCase *c)
{
	g_autoptr(KdhPrepared) p = kdh_prepared_new();
	g_autoptr(GPtrArray) cases = g_ptr_array_new();
	g_autoptr(GPtrArray) results = NULL;
	g_autoptr(GError) error = NULL;

	g_ptr_array_add(cases, (gpointer)c);
	if (!kdh_run_prepare_kernels(ctx, p, cases, &error) ||
	    !kdh_run_prepare_guests(ctx, p, cases, &error)) {
		g_autoptr(KdhJob) j = kdh_job_new(ctx, NULL, c);
		KdhResult *r;
		kdh_job_start(j);
		kdh_result_fail(j->r, KDH_VERDICT_ERROR, "%s", error->message);
		kdh_job_finish(ctx, j);
		r = g_steal_pointer(&j->r);
		return r;
	}
	results = kdh_run_cases(ctx, p, cases);
	return g_ptr_array_steal_index(results, 0);
}
