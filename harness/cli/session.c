/* A session: what every command that runs cases shares (kdh run, sizing,
 * matrix, reproduce).  Its options (--results, --cache, --jobs, --accel,
 * --connect, ...), the run folder, the signals, the preparation of kernels
 * and images (each once, however many batches of cases follow), the
 * accelerator, and at the end the summary line, the run-level reports and
 * the exit status.  Everything that can be refused is refused before the
 * first VM starts. */
#include "cli/commands.h"
#include "guest/guest.h"
#include "kernel/kernel.h"
#include "util/util.h"
#include "vm/vm.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

/* The signal that cancelled the run, or 0 (one per process: a handler
 * cannot reach a session). */
static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
	cancelled = sig;
	/* An appliance booting for a retrieval would otherwise finish its
	 * launch (tens of seconds under TCG) before anyone looks at the flag. */
	kdh_guest_cancel();
	/* A second signal ends kdh at once; libvirt still destroys the domain
	 * when our connection drops (AUTODESTROY). */
	signal(sig, SIG_DFL);
}

struct KdhSession {
	char *command; /* "kdh run", for messages */
	KdhRunContext ctx;
	char *accel_opt;
	char *cache, *images, *uri, *run_id, *run_dir;
	GPtrArray *specs;   /* KdhHostSpec*: the hosts named */
	KdhCliHosts *hosts; /* several (or remote) hosts, else NULL: the one URI */
	KdhVmRunDir *vm_dir;
	KdhPrepared *prepared;
	gboolean kernels_seen; /* the accelerator chosen, the folder proven writable */
	gboolean libvirt_ready;
	int run_lock;       /* the run folder's lock (kdh_run_folder_claim), or -1 */
	GPtrArray *planned; /* char*: every case name run so far, for the run's note */
	GPtrArray *results; /* KdhResult*, every batch's, in order */
	GPtrArray *carried; /* JsonNode*: cases carried over from an earlier run */
	KdhVerdictCounts carried_counts;
	GHashTable *order; /* case name -> its place + 1 in the reports; NULL: run order */
	char *started_at;
	gint64 start;
};

GOptionEntry *kdh_runner_option_entries(KdhRunnerOptions *o)
{
	const GOptionEntry rows[] = {
	    {"results", 'r', 0, G_OPTION_ARG_FILENAME, &o->results,
	     "results folder (default: results)", "DIR"},
	    {"cache", 0, 0, G_OPTION_ARG_FILENAME, &o->cache,
	     "cache folder (default: /var/cache/kdh for root, else $XDG_CACHE_HOME/kdh)", "DIR"},
	    {"images", 0, 0, G_OPTION_ARG_FILENAME, &o->images,
	     "guest recipes (default: the source tree's images/)", "DIR"},
	    {"accel", 0, 0, G_OPTION_ARG_STRING, &o->accel,
	     "auto (default), kvm (refused where the probe finds KVM broken) or tcg", "ACCEL"},
	    {"connect", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &o->connect,
	     "libvirt URI; give it again for each host the cases are spread over "
	     "(default: the hosts file, else $LIBVIRT_DEFAULT_URI, else qemu:///system for "
	     "root, qemu:///session for other users)",
	     "URI"},
	    {"hosts", 0, 0, G_OPTION_ARG_FILENAME, &o->hosts,
	     "the hosts, one a line: URI [jobs=N] [pool=NAME] [pool-path=DIR] (default: "
	     "~/.config/kdh/hosts when it exists)",
	     "FILE"},
	    {"jobs", 'j', 0, G_OPTION_ARG_INT, &o->jobs,
	     "VMs at once (default: one per free core, as free memory allows)", "N"},
	    {"jobs-per-host", 0, 0, G_OPTION_ARG_INT, &o->jobs_per_host,
	     "VMs at once on each host (default: what each host allows)", "N"},
	    {"keep-disk", 0, 0, G_OPTION_ARG_NONE, &o->keep_disk,
	     "keep each case's guest disk in its results folder", NULL},
	    {"keep-dumps", 0, 0, G_OPTION_ARG_STRING, &o->keep_dumps,
	     "keep each case's vmcore: failed (default: only when the case did not pass), "
	     "always or never",
	     "WHEN"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	return g_memdup2(rows, sizeof(rows));
}

gboolean kdh_cli_parse_run(const char *command, const char *summary, const GOptionEntry *own,
                           KdhRunnerOptions *runner, KdhSelectOptions *select, int *argc,
                           char ***argv)
{
	g_autofree GOptionEntry *runner_entries = kdh_runner_option_entries(runner);
	g_autofree GOptionEntry *select_entries = select ? kdh_select_option_entries(select) : NULL;
	g_autoptr(GOptionContext) octx = g_option_context_new(summary);
	g_autoptr(GError) error = NULL;

	if (own)
		g_option_context_add_main_entries(octx, own, NULL);
	g_option_context_add_main_entries(octx, runner_entries, NULL);
	if (select_entries)
		g_option_context_add_main_entries(octx, select_entries, NULL);
	if (!g_option_context_parse(octx, argc, argv, &error)) {
		g_printerr("%s: %s\n", command, error->message);
		return FALSE;
	}
	return TRUE;
}

void kdh_runner_options_clear(KdhRunnerOptions *o)
{
	g_clear_pointer(&o->results, g_free);
	g_clear_pointer(&o->cache, g_free);
	g_clear_pointer(&o->images, g_free);
	g_clear_pointer(&o->accel, g_free);
	g_clear_pointer(&o->connect, g_strfreev);
	g_clear_pointer(&o->hosts, g_free);
	g_clear_pointer(&o->keep_dumps, g_free);
}

static gboolean parse_keep_dumps(const char *text, KdhKeepDumps *out)
{
	static const struct {
		const char *name;
		KdhKeepDumps value;
	} table[] = {
	    {"failed", KDH_KEEP_DUMPS_FAILED},
	    {"always", KDH_KEEP_DUMPS_ALWAYS},
	    {"never", KDH_KEEP_DUMPS_NEVER},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(table); i++) {
		if (!text || g_str_equal(text, table[i].name)) {
			*out = table[i].value;
			return TRUE;
		}
	}
	return FALSE;
}

/* What the largest guest of CASES takes from a host. */
static guint64 largest_footprint(GPtrArray *cases)
{
	guint64 largest = 0;

	for (guint i = 0; i < cases->len; i++)
		largest = MAX(largest, kdh_guest_footprint(
		                           ((const KdhCase *)g_ptr_array_index(cases, i))->memory));
	return largest;
}

/* The number of VMs at once (ASKED, or what the host allows) and the
 * memory they may take together; the first line of the run says both.
 * KDH_EXIT_USAGE when a case's guest is larger than this host could ever
 * hold. */
static int choose_jobs(const char *command, GPtrArray *cases, guint asked, guint *jobs,
                       guint64 *budget)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *why = NULL;
	KdhHostCapacity host;
	guint64 largest = 0;
	const KdhCase *big = NULL;

	if (!kdh_host_capacity(&host, &error)) {
		g_printerr("%s: %s\n", command, error->message);
		return KDH_EXIT_ERROR;
	}
	for (guint i = 0; i < cases->len; i++) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		if (kdh_guest_footprint(c->memory) > largest) {
			largest = kdh_guest_footprint(c->memory);
			big = c;
		}
	}
	if (big && largest + KDH_APPLIANCE_MEMORY > host.mem_total) {
		g_autofree char *total =
		    g_format_size_full(host.mem_total, G_FORMAT_SIZE_IEC_UNITS);
		g_printerr("%s: %s:%u: case %s: a guest of %" G_GUINT64_FORMAT
		           " MiB (with QEMU and the libguestfs appliance) does not fit in this "
		           "host's %s of memory\n",
		           command, big->source, big->name_line, big->name, big->memory >> 20,
		           total);
		return KDH_EXIT_USAGE;
	}
	*jobs = kdh_jobs_choose(&host, largest, &why);
	*budget = kdh_memory_budget(&host);
	if (asked) {
		g_print("kdh: %u case%s, %u job%s (as asked; the host: %s)\n", cases->len,
		        cases->len == 1 ? "" : "s", asked, asked == 1 ? "" : "s", why);
		*jobs = asked;
	} else {
		g_print("kdh: %u case%s, %u job%s (%s)\n", cases->len, cases->len == 1 ? "" : "s",
		        *jobs, *jobs == 1 ? "" : "s", why);
	}
	return KDH_EXIT_OK;
}

KdhSession *kdh_session_new(const char *command, const KdhRunnerOptions *o, GPtrArray *cases,
                            int *status)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *abs = NULL;
	KdhKeepDumps keep_dumps;
	guint jobs = 0;
	guint64 budget = 0;
	KdhSession *s;

	/* A line is out as soon as it is printed, also into a pipe: whoever
	 * watches the run's progress (a CI log, a test) sees each phase as
	 * it starts. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	*status = KDH_EXIT_USAGE;
	if (o->accel && !g_strv_contains((const char *[]){"auto", "kvm", "tcg", NULL}, o->accel)) {
		g_printerr("%s: --accel must be auto, kvm or tcg\n", command);
		return NULL;
	}
	if (o->jobs < 0 || o->jobs > 256 || o->jobs_per_host < 0 || o->jobs_per_host > 256) {
		g_printerr("%s: --jobs and --jobs-per-host must be 1 to 256\n", command);
		return NULL;
	}
	g_autoptr(GPtrArray) specs = kdh_cli_hosts(command, o);
	g_autoptr(KdhCliHosts) hosts = NULL;
	if (!specs)
		return NULL;
	if (!kdh_cli_hosts_single_local(specs) && o->jobs) {
		g_printerr("%s: --jobs counts the VMs of one host: with several, or a remote "
		           "one, give --jobs-per-host or jobs= in the hosts file\n",
		           command);
		return NULL;
	}
	if (kdh_cli_hosts_single_local(specs) && o->jobs_per_host) {
		g_printerr("%s: --jobs-per-host is for several hosts: give --jobs\n", command);
		return NULL;
	}
	if (!parse_keep_dumps(o->keep_dumps, &keep_dumps)) {
		g_printerr("%s: --keep-dumps must be failed, always or never\n", command);
		return NULL;
	}
	/* An empty shard starts nothing: no jobs to choose. */
	if (cases->len && kdh_cli_hosts_single_local(specs) &&
	    (*status = choose_jobs(command, cases, (guint)o->jobs, &jobs, &budget)) != KDH_EXIT_OK)
		return NULL;
	if (cases->len && !kdh_cli_hosts_single_local(specs)) {
		g_print("kdh: %u case%s over %u host%s\n", cases->len, cases->len == 1 ? "" : "s",
		        specs->len, specs->len == 1 ? "" : "s");
		hosts = kdh_cli_hosts_measure(command, specs, largest_footprint(cases),
		                              (guint)o->jobs_per_host);
		if (!hosts) {
			*status = KDH_EXIT_ERROR;
			return NULL;
		}
	}

	s = g_new0(KdhSession, 1);
	s->command = g_strdup(command);
	s->accel_opt = g_strdup(o->accel);
	s->cache = g_strdup(o->cache);
	if (!s->cache && !(s->cache = kdh_cache_dir(&error))) {
		g_printerr("%s: %s\n", command, error->message);
		*status = KDH_EXIT_ERROR;
		kdh_session_free(s);
		return NULL;
	}
	s->images = o->images ? g_strdup(o->images) : kdh_cli_images_dir();
	s->uri = g_strdup(((const KdhHostSpec *)g_ptr_array_index(specs, 0))->uri);
	s->specs = g_steal_pointer(&specs);
	s->hosts = g_steal_pointer(&hosts);
	s->run_id = kdh_run_id();
	/* libvirt needs absolute paths for the disk and the serial log. */
	abs = g_canonicalize_filename(o->results ? o->results : "results", NULL);
	s->run_dir = g_build_filename(abs, s->run_id, NULL);
	s->prepared = kdh_prepared_new();
	s->run_lock = -1;
	s->planned = g_ptr_array_new_with_free_func(g_free);
	s->results = g_ptr_array_new_with_free_func((GDestroyNotify)kdh_result_free);
	s->carried = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	s->started_at = kdh_timestamp_now();
	s->start = g_get_monotonic_time();

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	s->ctx = (KdhRunContext){
	    .cache_dir = s->cache,
	    .images_dir = s->images,
	    .run_dir = s->run_dir,
	    .uri = s->uri,
	    .backend = &kdh_vm_libvirt,
	    .ops = &kdh_run_host_ops,
	    .keep_disk = o->keep_disk,
	    .keep_dumps = keep_dumps,
	    .jobs = jobs,
	    .memory_budget = budget,
	    .cancelled = &cancelled,
	};
	if (s->hosts) {
		s->ctx.hosts = s->hosts->hosts;
		s->ctx.n_hosts = s->hosts->n;
	}
	*status = KDH_EXIT_OK;
	return s;
}

void kdh_session_free(KdhSession *s)
{
	if (!s)
		return;
	kdh_prepared_free(s->prepared);
	kdh_guest_set_tmpdir(NULL);
	kdh_vm_run_dir_free(s->vm_dir);
	if (s->run_lock >= 0)
		close(s->run_lock);
	if (s->planned)
		g_ptr_array_unref(s->planned);
	if (s->results)
		g_ptr_array_unref(s->results);
	if (s->carried)
		g_ptr_array_unref(s->carried);
	if (s->order)
		g_hash_table_unref(s->order);
	g_free(s->command);
	g_free(s->accel_opt);
	g_free(s->cache);
	g_free(s->images);
	g_free(s->uri);
	kdh_cli_hosts_free(s->hosts);
	if (s->specs)
		g_ptr_array_unref(s->specs);
	g_free(s->run_id);
	g_free(s->run_dir);
	g_free(s->started_at);
	g_free(s);
}

const KdhRunContext *kdh_session_context(const KdhSession *s)
{
	return &s->ctx;
}

const KdhPrepared *kdh_session_prepared(const KdhSession *s)
{
	return s->prepared;
}

int kdh_session_cancelled(const KdhSession *s)
{
	(void)s;
	return cancelled;
}

/* Makes RUN_DIR and proves a file can be written in it: a results folder
 * that cannot take the reports is found before any VM runs. */
static gboolean results_writable(const char *run_dir, GError **error)
{
	g_autofree char *probe = g_build_filename(run_dir, ".kdh-write-test", NULL);

	if (g_mkdir_with_parents(run_dir, 0755) != 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
		            "the results folder %s cannot be created: %s", run_dir,
		            g_strerror(saved));
		return FALSE;
	}
	if (!g_file_set_contents(probe, "", 0, error)) {
		g_prefix_error(error, "the results folder %s is not writable: ", run_dir);
		return FALSE;
	}
	g_unlink(probe);
	return TRUE;
}

gboolean kdh_session_ensure_dir(KdhSession *s)
{
	g_autoptr(GError) error = NULL;

	if (results_writable(s->run_dir, &error))
		return TRUE;
	g_printerr("%s: %s\n", s->command, error->message);
	return FALSE;
}

/* Takes what is the run's own (its results folder's lock, its VM folder,
 * where its libguestfs handles keep their temporary files) and first
 * finishes or removes what killed runs left: their run folders in the same
 * results folder, their libguestfs socket folders (under the VM folders'
 * lock).  A live run's are never touched: each holds its locks. */
static int claim_folders(KdhSession *s)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *root = g_path_get_dirname(s->run_dir);
	g_autofree char *vm_root = g_build_filename(s->cache, "vm", NULL);
	g_autofree char *vm_lock = g_build_filename(vm_root, ".lock", NULL);
	int lock;

	if ((s->run_lock = kdh_run_folder_claim(s->run_dir, &error)) < 0) {
		g_printerr("%s: %s\n", s->command, error->message);
		return KDH_EXIT_ERROR;
	}
	kdh_run_folders_finish_killed(root, s->run_dir, vm_root, s->command);
	if (g_mkdir_with_parents(vm_root, 0755) == 0 && (lock = kdh_lock(vm_lock, NULL)) >= 0) {
		guint swept = kdh_sweep_libguestfs_sockdirs("/tmp");
		kdh_unlock(lock);
		if (swept)
			g_print("kdh: removed %u libguestfs socket folder%s of killed runs\n",
			        swept, swept == 1 ? "" : "s");
	}
	if (!(s->vm_dir = kdh_vm_run_dir_new(s->cache, &error))) {
		g_printerr("%s: %s\n", s->command, error->message);
		return KDH_EXIT_ERROR;
	}
	s->ctx.vm_dir = s->vm_dir->path;
	kdh_guest_set_tmpdir(s->vm_dir->path);
	return KDH_EXIT_OK;
}

/* The accelerator for the run: OPT "tcg" as asked; "auto" (or NULL) and
 * "kvm" ask the probe, which boots kernel K (its answer is cached until the
 * host reboots).  "kvm" on a host whose probe found KVM broken is refused
 * at once, with the probe's reason: waiting out a boot timeout would only
 * say less.  Returns an exit status, KDH_EXIT_OK when *ACCEL was set. */
static int choose_accel(const char *command, const char *opt, const KdhKernel *k, const char *cache,
                        KdhAccel *accel)
{
	g_autofree char *why = NULL;

	if (opt && g_str_equal(opt, "tcg")) {
		*accel = KDH_ACCEL_TCG;
		g_print("kdh: acceleration tcg (as asked)\n");
		return KDH_EXIT_OK;
	}
	*accel = kdh_accel_probe(k->vmlinuz, cache, &why);
	if (opt && g_str_equal(opt, "kvm") && *accel != KDH_ACCEL_KVM) {
		g_printerr("%s: --accel kvm: KVM does not work on this host: %s\n", command,
		           why ? why : "the probe says so");
		return KDH_EXIT_USAGE;
	}
	g_print("kdh: acceleration %s%s%s\n", kdh_accel_name(*accel),
	        why ? ": KVM does not work here: " : "", why ? why : "");
	return KDH_EXIT_OK;
}

int kdh_session_prepare(KdhSession *s, GPtrArray *cases)
{
	g_autoptr(GError) error = NULL;
	int status;

	if (!cases->len)
		return KDH_EXIT_OK;
	/* First: a libvirt that cannot be reached is said before any build. */
	if (!s->libvirt_ready) {
		if (s->hosts) {
			if (!kdh_cli_hosts_open(s->command, s->hosts, s->specs))
				return KDH_EXIT_ERROR;
		} else if (!kdh_cli_libvirt_prepare(s->command, s->uri)) {
			return KDH_EXIT_ERROR;
		}
		s->libvirt_ready = TRUE;
	}
	if (!kdh_run_prepare_kernels(&s->ctx, s->prepared, cases, &error)) {
		g_printerr("%s: %s\n", s->command, error->message);
		return KDH_EXIT_USAGE;
	}
	if (!s->kernels_seen) {
		status = choose_accel(s->command, s->accel_opt,
		                      kdh_prepared_kernel(s->prepared, g_ptr_array_index(cases, 0)),
		                      s->cache, &s->ctx.accel);
		if (status != KDH_EXIT_OK)
			return status;
		if (!kdh_session_ensure_dir(s))
			return KDH_EXIT_USAGE;
		if ((status = claim_folders(s)) != KDH_EXIT_OK)
			return status;
		s->kernels_seen = TRUE;
	}
	if (!kdh_run_prepare_guests(&s->ctx, s->prepared, cases, &error)) {
		g_printerr("%s: %s\n", s->command, error->message);
		return KDH_EXIT_ERROR;
	}
	return KDH_EXIT_OK;
}

int kdh_session_run(KdhSession *s, GPtrArray *cases, GPtrArray **batch)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) results = NULL;
	int status = kdh_session_prepare(s, cases);

	*batch = NULL;
	if (status != KDH_EXIT_OK)
		return status;
	for (guint i = 0; i < cases->len; i++)
		g_ptr_array_add(s->planned,
		                g_strdup(((const KdhCase *)g_ptr_array_index(cases, i))->name));
	KdhRunPlan plan = {
	    .started_at = s->started_at,
	    .accel = kdh_accel_name(s->ctx.accel),
	    .vm_dir = s->vm_dir->path,
	    .keep_disk = s->ctx.keep_disk,
	    .names = s->planned,
	};
	if (!kdh_run_folder_note(s->run_dir, &plan, &error)) {
		g_printerr("%s: %s\n", s->command, error->message);
		return KDH_EXIT_ERROR;
	}
	/* After the preparation, whose kernel build progress redraws a line
	 * of its own. */
	s->ctx.monitor = kdh_run_monitor_new(stdout, isatty(STDOUT_FILENO), cases->len);
	results = kdh_run_cases(&s->ctx, s->prepared, cases);
	kdh_run_monitor_free(s->ctx.monitor);
	s->ctx.monitor = NULL;
	*batch = g_ptr_array_new();
	for (guint i = 0; i < results->len; i++) {
		g_ptr_array_add(*batch, g_ptr_array_index(results, i));
		g_ptr_array_add(s->results, g_ptr_array_index(results, i));
	}
	g_ptr_array_set_free_func(results, NULL);
	return KDH_EXIT_OK;
}

void kdh_session_add_carried(KdhSession *s, JsonNode *node, KdhVerdict verdict)
{
	g_ptr_array_add(s->carried, node);
	s->carried_counts.n[verdict]++;
}

void kdh_session_set_order(KdhSession *s, GPtrArray *cases)
{
	if (s->order)
		g_hash_table_unref(s->order);
	s->order = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < cases->len; i++) {
		const KdhCase *c = g_ptr_array_index(cases, i);
		g_hash_table_insert(s->order, g_strdup(c->name), GUINT_TO_POINTER(i + 1));
	}
}

/* The place of case object A's name in the session's order (unknown last). */
static guint place(GHashTable *order, JsonNode *node)
{
	JsonObject *o = json_node_get_object(node);
	const char *name = json_object_get_string_member_with_default(o, "case", "");
	guint at = GPOINTER_TO_UINT(g_hash_table_lookup(order, name));

	return at ? at : G_MAXUINT;
}

static gint by_place(gconstpointer a, gconstpointer b, gpointer order)
{
	guint pa = place(order, *(JsonNode *const *)a), pb = place(order, *(JsonNode *const *)b);

	return pa < pb ? -1 : pa > pb;
}

/* Every case of the session as report objects: carried and run ones, in
 * the order set (kdh_session_set_order), else carried first. */
static GPtrArray *case_nodes(const KdhSession *s)
{
	GPtrArray *nodes = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);

	for (guint i = 0; i < s->carried->len; i++)
		g_ptr_array_add(nodes, json_node_ref(g_ptr_array_index(s->carried, i)));
	for (guint i = 0; i < s->results->len; i++)
		g_ptr_array_add(nodes, kdh_result_to_json(g_ptr_array_index(s->results, i)));
	if (s->order)
		g_ptr_array_sort_with_data(nodes, by_place, s->order);
	return nodes;
}

GPtrArray *kdh_session_results(const KdhSession *s)
{
	return s->results;
}

/* The run's last line: counts per verdict (CARRIED of the CASES carried
 * over from an earlier run), wall time, cases run per hour. */
static void summarise(const KdhVerdictCounts *counts, guint cases, guint carried, double wall)
{
	g_print("kdh: %u case%s in %.0f s (%.0f cases/h", cases, cases == 1 ? "" : "s", wall,
	        wall > 0 ? (cases - carried) * 3600.0 / wall : 0);
	if (carried)
		g_print("; %u carried over", carried);
	g_print("):");
	for (guint v = 0; v < KDH_VERDICT_COUNT; v++) {
		if (counts->n[v] || v <= KDH_VERDICT_TIMEOUT)
			g_print("%s %u %s", v ? "," : "", counts->n[v], kdh_verdict_name(v));
	}
	g_print("\n");
}

/* The signal of the set SIGNALS pending on this thread, or 0. */
static int pending_in(const sigset_t *signals)
{
	sigset_t pending;

	if (sigpending(&pending) != 0)
		return 0;
	for (int sig = 1; sig < NSIG; sig++) {
		if (sigismember(signals, sig) == 1 && sigismember(&pending, sig) == 1)
			return sig;
	}
	return 0;
}

int kdh_session_finish(KdhSession *s, const KdhSelectOptions *select)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *ended_at = kdh_timestamp_now();
	g_autofree char *signal_name = NULL;
	double wall = (g_get_monotonic_time() - s->start) / 1e6;
	KdhVerdictCounts counts = s->carried_counts;
	g_autoptr(GPtrArray) nodes = case_nodes(s);
	sigset_t signals, old;
	int seen, late, status;

	/* A signal while the reports are written would leave them saying the
	 * run was not interrupted while kdh exits 130: held until they are
	 * written, then they are written again saying it. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, &old);
	seen = cancelled;
	KdhRunInfo info = {
	    .run_id = s->run_id,
	    .kdh_version = kdh_version(),
	    .host = g_get_host_name(),
	    .accel = s->kernels_seen ? kdh_accel_name(s->ctx.accel) : NULL,
	    .started_at = s->started_at,
	    .ended_at = ended_at,
	    .wall_seconds = wall,
	    .jobs = s->ctx.jobs,
	    .shard = select ? select->shard : NULL,
	    .filter = select ? select->filter : NULL,
	};

	for (guint i = 0; i < s->results->len; i++)
		counts.n[((const KdhResult *)g_ptr_array_index(s->results, i))->verdict]++;
	summarise(&counts, nodes->len, s->carried->len, wall);
	/* Reports even for an empty shard: the merge wants every shard's. */
	if (!results_writable(s->run_dir, &error)) {
		g_printerr("%s: %s\n", s->command, error->message);
		status = seen ? 128 + seen : KDH_EXIT_USAGE;
		goto out;
	}
	g_print("kdh: results in %s\n", s->run_dir);
	for (;;) {
		g_free(signal_name);
		signal_name = seen ? g_strdup_printf("SIG%s", sigabbrev_np(seen)) : NULL;
		info.interrupted_by = signal_name;
		if (!kdh_report_write_cases(&info, nodes, s->run_dir, &error)) {
			g_printerr("%s: %s\n", s->command, error->message);
			status = seen ? 128 + seen : KDH_EXIT_ERROR;
			goto out;
		}
		/* Pending here, or taken by another thread's handler. */
		late = seen ? 0 : pending_in(&signals);
		if (!late && !seen && cancelled)
			late = cancelled;
		if (!late)
			break;
		seen = late;
	}
	kdh_run_folder_note_remove(s->run_dir);
	status = seen ? 128 + seen : kdh_report_exit_status(&counts);
out:
	/* A held signal is handled now: the handler records it and makes the
	 * next one end kdh, as at any other time. */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return status;
}
