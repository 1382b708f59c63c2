/* kdh subcommands: one file each in harness/cli/, dispatched by main.c's
 * table.  Each takes argv with argv[0] the subcommand's name and returns
 * the exit status DESIGN.md gives every command. */
#ifndef KDH_CLI_COMMANDS_H
#define KDH_CLI_COMMANDS_H

#include <glib.h>

#include "run/run.h"

#define KDH_EXIT_OK   0 /* everything passed (or was skipped) */
#define KDH_EXIT_FAIL 1 /* a FAIL: the kernel's or the setup's fault */
#define KDH_EXIT_USAGE                                                                             \
	2 /* bad usage or input, or a request this host cannot honour: nothing started */
#define KDH_EXIT_ERROR 3 /* no FAIL, but an ERROR or TIMEOUT: the harness's or the host's */
/* Interrupted: 128 + the signal (130 SIGINT, 143 SIGTERM). */

int kdh_cmd_run(int argc, char **argv);
int kdh_cmd_list(int argc, char **argv);
int kdh_cmd_kernel(int argc, char **argv);
int kdh_cmd_report(int argc, char **argv);
int kdh_cmd_image(int argc, char **argv);
int kdh_cmd_sizing(int argc, char **argv);
int kdh_cmd_matrix(int argc, char **argv);
int kdh_cmd_reproduce(int argc, char **argv);

/* ---- shared by commands (select.c) ---- */

/* Parses ARGV with ENTRIES under the name "kdh COMMAND SUB" (ARGS and
 * SUMMARY for --help); FALSE on a usage error, already printed. */
gboolean kdh_cli_parse(const char *command, const char *sub, const char *args, const char *summary,
                       GOptionEntry *entries, int *argc, char ***argv);

/* images/ of the source tree this binary was built in (build/kdh ->
 * ../images), or ./images when there is one.  Caller frees. */
char *kdh_cli_images_dir(void);

/* ---- options shared by commands that take scenario files (select.c) ---- */

/* What --filter, --shard and --timeout-scale were given as (NULL: not
 * given); parsed and checked by kdh_cli_load_cases. */
typedef struct {
	char *filter;        /* --filter GLOB */
	char *shard;         /* --shard I/N */
	char *timeout_scale; /* --timeout-scale X */
} KdhSelectOptions;

/* The GOptionEntry rows of those options, writing into O (which must
 * outlive the parse), ending with the NULL row: for
 * g_option_context_add_main_entries, which copies them.  Free with g_free;
 * the strings parsed into O with kdh_select_options_clear. */
GOptionEntry *kdh_select_option_entries(KdhSelectOptions *o);

/* Frees the strings in O and sets them to NULL. */
void kdh_select_options_clear(KdhSelectOptions *o);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(KdhSelectOptions, kdh_select_options_clear)

/* Checks O's options, loads every scenario file of FILES (NULL-terminated;
 * kdh_scenario_load_all: each file checked, names unique across files),
 * keeps the cases --filter and --shard select (order kept) and scales
 * their timeouts by --timeout-scale.  Returns the cases (GPtrArray of
 * KdhCase, owning them), or NULL with an error that is a usage error (exit
 * KDH_EXIT_USAGE, nothing started): a bad option, no file, a bad file, or
 * a --filter that matches no case.  A shard that holds no case is no
 * error (another job of the matrix has them): an empty array, and a note
 * on standard error saying so. */
GPtrArray *kdh_cli_load_cases(const char *const *files, const KdhSelectOptions *o, GError **error);

/* ---- a session: what every command that runs cases shares (session.c) ---- */

/* The runner's options (kdh run, sizing, matrix, reproduce), NULL/0 when
 * not given; checked by kdh_session_new. */
typedef struct {
	char *results;      /* --results DIR */
	char *cache;        /* --cache DIR */
	char *images;       /* --images DIR */
	char *accel;        /* --accel auto|kvm|tcg */
	char **connect;     /* --connect URI, each time given */
	char *hosts;        /* --hosts FILE */
	char *keep_dumps;   /* --keep-dumps failed|always|never */
	gint jobs;          /* --jobs N */
	gint jobs_per_host; /* --jobs-per-host N */
	gboolean keep_disk;
} KdhRunnerOptions;

/* The GOptionEntry rows of those options writing into O, ending with the
 * NULL row (free with g_free; the strings with kdh_runner_options_clear). */
GOptionEntry *kdh_runner_option_entries(KdhRunnerOptions *o);
void kdh_runner_options_clear(KdhRunnerOptions *o);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(KdhRunnerOptions, kdh_runner_options_clear)

/* Parses ARGV for COMMAND ("kdh matrix"; SUMMARY follows the usage line
 * of --help): OWN (the command's own rows, NULL-terminated, may be NULL),
 * the runner's options into RUNNER, and with SELECT --filter, --shard and
 * --timeout-scale into it.  FALSE on a usage error, already said. */
gboolean kdh_cli_parse_run(const char *command, const char *summary, const GOptionEntry *own,
                           KdhRunnerOptions *runner, KdhSelectOptions *select, int *argc,
                           char ***argv);

/* ---- the hosts a session spreads its cases over (hosts.c) ---- */

/* The libvirt hosts O names: each --connect, else the lines of --hosts
 * FILE, else those of the default hosts file when it exists
 * (kdh_hosts_default_file), else the one default URI
 * (kdh_libvirt_default_uri).  KdhHostSpec*; NULL with the reason said
 * (exit KDH_EXIT_USAGE). */
GPtrArray *kdh_cli_hosts(const char *command, const KdhRunnerOptions *o);

/* Whether SPECS (kdh_cli_hosts) is one host whose files are this
 * machine's: the run needs none of what several hosts do. */
gboolean kdh_cli_hosts_single_local(GPtrArray *specs);

/* The hosts of a run over several (or remote) hosts, ready for
 * KdhRunContext.hosts. */
typedef struct {
	KdhRunHost *hosts;
	guint n;
} KdhCliHosts;

void kdh_cli_hosts_free(KdhCliHosts *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhCliHosts, kdh_cli_hosts_free)

/* Asks each host of SPECS what it holds (this machine: cores, load and
 * memory; another: through libvirt) and chooses its jobs for guests of
 * FOOTPRINT (a host's jobs= line, else JOBS_PER_HOST, else what it
 * allows); one line a host says it.  NULL with the reason said. */
KdhCliHosts *kdh_cli_hosts_measure(const char *command, GPtrArray *specs, guint64 footprint,
                                   guint jobs_per_host);

/* kdh_libvirt_prepare for URI, what it started said and a failure said
 * (COMMAND first); FALSE on failure. */
gboolean kdh_cli_libvirt_prepare(const char *command, const char *uri);

/* Makes each host of H usable: libvirt prepared (kdh_libvirt_prepare),
 * a remote host's pool opened (kdh_remote_open) and what killed runs or
 * lost hosts left there deleted (kdh_remote_sweep).  FALSE with the
 * reason said. */
gboolean kdh_cli_hosts_open(const char *command, KdhCliHosts *h, GPtrArray *specs);

typedef struct KdhSession KdhSession;

/* Checks O and chooses the jobs for guests as large as the largest of
 * CASES (every case the session may run, or ones as large: sizing's
 * largest RAM); installs the SIGINT/SIGTERM/SIGHUP handlers; names the run
 * folder (<results>/<run id>, made by the first kdh_session_prepare).
 * COMMAND ("kdh sizing") starts every message.  NULL with *STATUS the exit
 * status, the reason already printed. */
KdhSession *kdh_session_new(const char *command, const KdhRunnerOptions *o, GPtrArray *cases,
                            int *status);
void kdh_session_free(KdhSession *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhSession, kdh_session_free)

/* The run's context (run folder, cache, jobs, ...) and what is prepared. */
const KdhRunContext *kdh_session_context(const KdhSession *s);
const KdhPrepared *kdh_session_prepared(const KdhSession *s);

/* The signal that cancelled the session, or 0: a command stops starting
 * batches once it is set. */
int kdh_session_cancelled(const KdhSession *s);

/* Makes the run folder and proves it writable; FALSE (said) otherwise. */
gboolean kdh_session_ensure_dir(KdhSession *s);

/* Resolves the kernels and makes the images of CASES not prepared yet
 * (each kernel ref and image once per session); the first call also
 * chooses the accelerator, makes the run folder and starts libvirt's
 * daemons when they are not running.  An exit status, the reason printed:
 * KDH_EXIT_USAGE (a kernel ref that does not resolve, --accel kvm where
 * KVM is broken, a results folder that is not writable) or KDH_EXIT_ERROR. */
int kdh_session_prepare(KdhSession *s, GPtrArray *cases);

/* kdh_session_prepare, then runs CASES (kdh_run_cases: up to the jobs at
 * once, each case's folder in the run folder, so names must be unique over
 * the session).  *BATCH gets their results in the order of CASES (owned by
 * the session: it keeps every result for kdh_session_finish).  Callable
 * any number of times; after a cancellation the cases come back NOT-RUN. */
int kdh_session_run(KdhSession *s, GPtrArray *cases, GPtrArray **batch);

/* Adds the case object NODE (taken; kdh_report_read_verdict) of a case an
 * earlier run already ran to the session's reports and counts, with its
 * VERDICT (kdh matrix --resume). */
void kdh_session_add_carried(KdhSession *s, JsonNode *node, KdhVerdict verdict);

/* The reports list the cases in the order of CASES (KdhCase*), whether run
 * or carried; without it, carried cases come first, then the run's. */
void kdh_session_set_order(KdhSession *s, GPtrArray *cases);

/* Every result so far (owned by the session). */
GPtrArray *kdh_session_results(const KdhSession *s);

/* ---- killed runs (recover.c) ---- */

/* Locks the run folder RUN_DIR for as long as the returned descriptor is
 * open (close-on-exec): the mark of a live run.  -1 with ERROR when it
 * cannot be opened or another process holds it. */
int kdh_run_folder_claim(const char *run_dir, GError **error);

/* What a run plans, noted in its run folder so that a later run can finish
 * it if this one is killed. */
typedef struct {
	const char *started_at;
	const char *accel;  /* may be NULL */
	const char *vm_dir; /* the run's VM folder (kdh_vm_run_dir_new) */
	gboolean keep_disk; /* --keep-disk: a killed case's disk is kept too */
	GPtrArray *names;   /* char*: every case, in order */
} KdhRunPlan;

/* Notes PLAN in RUN_DIR (its .kdh-run), replacing an earlier note. */
gboolean kdh_run_folder_note(const char *run_dir, const KdhRunPlan *plan, GError **error);

/* Removes RUN_DIR's note once its reports are written. */
void kdh_run_folder_note_remove(const char *run_dir);

/* Finishes every run folder in RESULTS_ROOT other than OWN that has a note,
 * no results.json, and a free lock (its kdh is dead: a live run is never
 * touched): a case folder without verdict.json gets one, ERROR "kdh was
 * killed (no verdict was written; last phase seen: PHASE)" (PHASE from its
 * console's last marker), and with --keep-disk its disk moved there from
 * the killed run's VM folder (only a folder run-* of VM_ROOT, unlocked); a
 * planned case that had not started is NOT-RUN in the reports (no folder,
 * as for an interrupted run); the run gets every report, with
 * interrupted_by "killed".  Prints a line per run finished (errors as
 * COMMAND's) and returns how many. */
guint kdh_run_folders_finish_killed(const char *results_root, const char *own, const char *vm_root,
                                    const char *command);

/* The summary line, the run-level reports (SELECT: --shard and --filter
 * for results.json; may be NULL) in the run folder, and the exit status:
 * kdh_report_exit_status of every result, or 128 + the signal. */
int kdh_session_finish(KdhSession *s, const KdhSelectOptions *select);

/* kdh sizing's rounds (cmd_sizing.c; also kdh reproduce --size): until
 * every search of ROWS (KdhSizingRow*, sizing/sizing.h) is over or the
 * session is cancelled, one batch per round of a probe per RAM size still
 * searching, each a copy of TMPL with that RAM and crashkernel=, named
 * "<TMPL's name>-ram<RAM>-ck<SIZE>" ("-retry"); the first round also
 * probes every LOW beside its HIGH.  Each probe is logged in its row.  An
 * exit status other than KDH_EXIT_OK when the session could not run. */
int kdh_cli_sizing_rounds(KdhSession *session, const KdhCase *tmpl, GPtrArray *rows);

/* As kdh_cli_load_cases for FILES holding exactly one matrix file
 * (kdh_matrix_load: its cells' cases). */
GPtrArray *kdh_cli_load_matrix(const char *const *files, const KdhSelectOptions *o, GError **error);

/* `kdh dump` and the whole of build/kdh-dump (dump_cmd.c, which needs only
 * the dump library: no glib).  Unlike the others, ARGV[0] is the dump
 * command ("info", "dmesg", "verify", "read", "vmcoreinfo").  Returns 0
 * success (verify: pass), 1 corrupt or unreadable, 2 usage, 3 (verify)
 * incomplete dump. */
int dump_cli_main(int argc, char **argv);

#endif
