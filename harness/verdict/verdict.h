/* kdh verdicts: judging one case's evidence (what the console showed, what
 * was found on the guest disk, what the dump itself holds) against what the
 * case expects.  This layer reads evidence only; it never drives a VM. */
#ifndef KDH_VERDICT_H
#define KDH_VERDICT_H

#include <glib.h>

#include "report/report.h"
#include "scenario/scenario.h"

/* What the console showed of a case; run/ fills it while it watches, every
 * string already made text by kdh_guest_text. */
typedef struct {
	char *booted_release; /* from "KDH: boot release=...", or NULL */
	char *cmdline;        /* its cmdline= (/proc/cmdline), or NULL */
	/* What "armed" told, as written (NULL: not told): kexec_crash_loaded=,
	 * crash_size=, and from a distro guest service_ready= ("1" when its
	 * kdump service says it is ready) and service= (the service's words). */
	char *loaded;
	char *crash_size;
	char *service_ready;
	char *service;
	gboolean capture_done; /* a "capture-done" marker came, in its place */
	char *capture_rc;      /* its rc= as written (NULL when absent) */
	/* Why the guest did not complete its cycle, when it did not: the first
	 * error marker, or the domain ending early with the last panic line.
	 * The expected outcome decides whether that is a failure. */
	char *guest_failure;
	/* The first kernel's crashkernel reservation line as the watch saw
	 * it go by, before the "boot" marker (kdh_verdict_reservation_line),
	 * stripped; NULL when none came.  A console flood can rotate the
	 * log's head, and this line with it, out of the files virtlogd keeps. */
	char *reservation;
	gboolean armed;           /* "armed" came with kexec_crash_loaded=1 */
	gboolean capture_started; /* "capture-start" came: the capture kernel ran */
	/* The phase that ran out of time ("boot", "crash", "capture",
	 * "shutdown"), or NULL; the watch stops there. */
	char *timeout_phase;
	char *timeout_message; /* "phase crash: no 'capture-start' marker within 120 s" */
	/* The guest said it cannot fire this trigger here (a row with
	 * may_skip): why, as text; NULL otherwise. */
	char *skip_reason;
	/* The libvirt connection died under the VM (KDH_VM_ERROR_CONNECTION_LOST):
	 * the host is out of reach. */
	gboolean connection_lost;
} KdhConsoleEvidence;

/* Frees what E holds (not E). */
void kdh_console_evidence_clear(KdhConsoleEvidence *e);

/* Everything a case left to judge once its VM has ended. */
typedef struct {
	const char *release;               /* the kernel the case booted */
	const KdhConsoleEvidence *console; /* never NULL */
	const char *crash_dir;             /* the guest's dump folder, as text; NULL: none */
	const char *no_crash;              /* when CRASH_DIR is NULL: why none was found */
	GPtrArray *files;                  /* char*: the files copied out of it (local
	                                    * paths); the dump among them is found
	                                    * by its content (kdh_verdict_find_dump) */
	const char *serial_log;            /* the whole console log (guest bytes), or NULL */
	gint64 started_unix;               /* when the case started, seconds since 1970 */
	const char *vmlinux;               /* the kernel's vmlinux with debug info, or NULL */
	const char *case_dir;              /* the case's results folder (crash.txt goes there) */
	const char *crash_module;          /* kdh_crash.ko when the trigger loaded it, or NULL */
} KdhEvidence;

/* ---- the console log (verdict/serial.c) ---- */

/* The most of a serial log read: its first and last halves when larger. */
/* The files the verdict writes into a case's folder: crash(8)'s output, and
 * the dump's dmesg as kdh's reader reads it (valid UTF-8). */
#define KDH_VERDICT_CRASH_FILE "crash.txt"
#define KDH_VERDICT_DMESG_FILE "dump-dmesg.txt"

#define KDH_SERIAL_LOG_READ_MAX ((gsize)16 << 20)
/* The longest line kept, in bytes (longer ones end in "…"). */
#define KDH_SERIAL_LOG_LINE_MAX 1024

/* A case's whole console log as lines of text. */
typedef struct {
	GPtrArray *lines;   /* char*: each made text by kdh_guest_text, no newline */
	GArray *numbers;    /* guint: each line's number in the file, 0 when unknown */
	guint capture_from; /* the capture kernel's first line (its boot banner, else
	                     * the "capture-start" marker); lines->len: it never ran */
	gboolean cut;       /* the log was larger than KDH_SERIAL_LOG_READ_MAX: its middle
	                     * is left out, and the lines after the gap are unnumbered */
} KdhSerialLog;

/* Reads the serial log at PATH (a regular file) together with the files
 * virtlogd rotated it to (PATH.K ... PATH.0, oldest first, read as one
 * console; line numbers count from the oldest kept line): at most
 * KDH_SERIAL_LOG_READ_MAX bytes, its head and tail when larger.  NULL with
 * an error naming the file when one cannot be read. */
KdhSerialLog *kdh_serial_log_read(const char *path, GError **error);

/* The log from bytes: HEAD (HEAD_LEN bytes), and, for a log that was cut,
 * TAIL (TAIL_LEN bytes, from anywhere in a line; NULL when not cut). */
KdhSerialLog *kdh_serial_log_parse(const char *head, gsize head_len, const char *tail,
                                   gsize tail_len);

void kdh_serial_log_free(KdhSerialLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhSerialLog, kdh_serial_log_free)

/* Line I (< lines->len) of LOG, and its number in the file (0: unknown). */
const char *kdh_serial_log_line(const KdhSerialLog *log, guint i);
guint kdh_serial_log_number(const KdhSerialLog *log, guint i);

/* ---- why there is no dump (verdict/diagnose.c) ---- */

/* Why the case has no dump, from LOG (may be NULL: then only CON's
 * guest_failure is read) and CON: reservation-failed (the first kernel's
 * "crashkernel reservation failed"/"cannot allocate crashkernel", kexec's
 * "Memory for crashkernel is not reserved"), kexec-load-failed (the guest's
 * arm error with memory reserved), capture-kernel-oom (the capture kernel's
 * "Out of memory", "System is deadlocked on memory", oom-killer, page
 * allocation failures, initramfs allocation panics), capture-kernel-panic
 * (any other panic of the capture kernel), capture-timeout (the capture
 * phase timed out, or the crash phase did after the capture kernel's
 * banner), in that order of priority; the first kernel's lines count only
 * when it did not arm.  *EVIDENCE receives the line that decided (text,
 * stripped; caller frees), NULL with KDH_REASON_NONE. */
KdhNoDumpReason kdh_verdict_diagnose(const KdhSerialLog *log, const KdhConsoleEvidence *con,
                                     char **evidence);

/* ---- readiness (verdict/readiness.c) ---- */

/* The first kernel's crashkernel reservation line in LOG (before the
 * capture kernel's part): "Reserving 256MB of memory at 736MB for
 * crashkernel (System RAM: 1023MB)" (x86 up to 6.x), "crashkernel
 * reserved: 0x... - 0x... (256 MB)" (the generic code of 6.9 and later).
 * *MB receives the size.  The line, stripped (caller frees), or NULL. */
char *kdh_verdict_reservation(const KdhSerialLog *log, gint64 *mb);

/* Whether LINE (text) is such a reservation line; *MB receives its size. */
gboolean kdh_verdict_reservation_line(const char *line, gint64 *mb);

/* Records into R's readiness what LOG (may be NULL) and CON show of the
 * guest's kdump readiness before the crash, and, for a case expecting a
 * dump, fails R with one reason per item the guest showed missing:
 * crashkernel= not on /proc/cmdline, no reservation line, the capture
 * kernel not loaded (kexec_crash_loaded), no memory reserved
 * (kexec_crash_size 0), the distro's kdump service not ready.  Items the
 * guest never got to tell (it stopped before) are left unset, not failed:
 * the phase that stopped it says why. */
void kdh_verdict_readiness(KdhResult *r, const KdhCase *c, const KdhSerialLog *log,
                           const KdhConsoleEvidence *con);

/* ---- warnings (verdict/warnings.c) ---- */

/* Adds to R's warnings (kdh_result_warn) every line of LOG's capture part
 * that a table of collector and kernel warnings matches (makedumpfile's
 * "The kernel version is not supported. The makedumpfile operation may be
 * incomplete.", "WARNING: ", "BUG: ", OOM kills, I/O errors, ...), each
 * with its line number.  The verdict is left alone. */
void kdh_verdict_warnings(KdhResult *r, const KdhSerialLog *log);

/* The dump among FILES (local paths), by what each file holds, never by
 * its name: each is probed by kdh's reader, and of those that open as a
 * dump the largest is taken.  NULL when none does; *WHY (may be NULL) then
 * says what each file was, bounded (caller frees). */
const char *kdh_verdict_find_dump(GPtrArray *files, char **why);

/* Judges E against C into R (kdh_result_fail for each expectation not met;
 * what a PASS rests on is added to R's checks, the console log's warnings
 * to R's warnings).  A guest's skip is the runner's to decide before
 * this (nothing is retrieved for it).  The console log
 * (E->serial_log, may be NULL) gives the warnings (kdh_verdict_warnings)
 * and the diagnosis (kdh_verdict_diagnose).  A no-dump case passes only
 * when the diagnosis is C->expect_reason ("no dump, as expected: <reason>:
 * <line>"), else FAILs "expected <reason>, diagnosed <other>: <line>" (or
 * "no diagnosis"; a TIMEOUT when a phase timed out and nothing was
 * diagnosed).  A dump case whose phase timed out is a TIMEOUT with the
 * watch's message; without a dump its first reason is the diagnosis
 * ("capture-kernel-oom at crashkernel=96M: <line>"), and a dump case that
 * fails otherwise gets it as its last reason.  A dump is checked: the
 * collector's exit status (only "0" is success), VMCOREINFO and
 * init_uts_ns name the booted kernel, every kept page decompresses, no
 * incomplete marker, the dump level and compression asked for, C's panic
 * line in the dump's own dmesg and C's function as a call trace entry
 * around it, the crashing CPU when C pins one, a note with registers for
 * every CPU after a hang, and the dump's crash time (CRASHTIME, else the
 * header's) within E->started_unix - 120 s .. now + 120 s (a dump without
 * one FAILs: it could be an older dump).  Strings taken from the dump or
 * the log pass through kdh_guest_text. */
void kdh_verdict_judge(KdhResult *r, const KdhCase *c, const KdhEvidence *e);

/* ---- crash(8) cross-check (verdict/crash.c) ---- */

/* What crash(8) printed for `sys` and `bt`, parsed strictly.  Every string
 * is text (kdh_guest_text, bounded); crash's output is treated as hostile. */
typedef struct {
	gboolean opened;   /* sys printed its KERNEL: and DUMPFILE: lines */
	char *release;     /* sys RELEASE:, or NULL */
	char *panic;       /* sys PANIC: as printed (quotes and all), or NULL */
	gboolean has_task; /* bt's "PID: N TASK: ... CPU: N COMMAND: ..." line */
	guint64 pid;
	guint cpu;
	char *command;       /* bt's COMMAND:, without its quotes */
	GPtrArray *frames;   /* char*: bt's "#N [sp] FUNCTION at addr" functions, in order */
	GPtrArray *errors;   /* char*: crash's complaints ("crash: ...", "bt: ...", "sys: ...") */
	GPtrArray *warnings; /* char*: its "WARNING: ..." lines */
} KdhCrashOutput;

/* Parses LEN bytes of crash's output TEXT into O (cleared first; free with
 * kdh_crash_output_clear).  Lines past 4 KiB are cut, at most 256 frames,
 * errors and warnings are kept (the first ones), numbers are parsed
 * strictly: a malformed header or frame is not taken. */
void kdh_crash_parse(const char *text, gsize len, KdhCrashOutput *o);
void kdh_crash_output_clear(KdhCrashOutput *o);

/* Judges O, crash's parsed output for C's dump, into R: FAIL (quoting
 * crash's own words, bounded) when the dump did not open, when sys's PANIC
 * line does not hold C->expect_panic (when set), when no backtrace came or
 * it holds no frame C->expect_function (when set; "f.cold", "f.isra.0"
 * count as "f"), or when crash exited with STATUS other than 0; CUT says
 * its output was cut, which the reasons mention.  What held goes to the
 * checks. */
void kdh_crash_judge(KdhResult *r, const KdhCase *c, const KdhCrashOutput *o, int status,
                     gboolean cut);

/* How kdh_verdict_crash_full runs crash; zero fields take the defaults. */
typedef struct {
	const char *program;   /* "crash" (looked up in PATH) */
	guint timeout_seconds; /* 300: then crash is killed (SIGKILL to its PID) */
	gsize max_output;      /* 1 MiB: kept of its output; the rest is read and dropped */
	/* A module of the dump whose symbols crash loads (`mod -s NAME OBJECT`)
	 * before the backtrace: the crash module.  Both kdh's own: a name and a
	 * path without blanks or newlines.  NULL: none. */
	const char *module_name;
	const char *module_object;
} KdhCrashOptions;

/* The crash(8) cross-check of the dump VMCORE with VMLINUX (a vmlinux with
 * DWARF: kdh_kernel_debug_vmlinux) for case C, into R.  Meant to run after
 * the reader's checks passed.  First the vmlinux's build-id against the
 * dump's VMCOREINFO BUILD-ID when both have one (a mismatch is a FAIL).
 * Then crash runs, without a shell, as `crash -s --no_crashrc --no_scroll
 * -i CMDS VMLINUX VMCORE` with `sys`, (`mod -s`,) `bt`, `quit` (LC_ALL=C, standard
 * input /dev/null), bounded in time and output; when it opens nothing and
 * says nothing (crash 8.0.2 exits 1 silently on many unusable dumps), once
 * more with -d 1 for its words.  Its output, made text, goes to OUT_PATH
 * (crash.txt) with the command lines and exit statuses.  Then
 * kdh_crash_judge.  crash missing, killed, timed out or not startable, or
 * OUT_PATH not writable: ERROR. */
void kdh_verdict_crash_full(KdhResult *r, const KdhCase *c, const char *vmlinux, const char *vmcore,
                            const char *out_path, const KdhCrashOptions *opts);

/* Whether the crash(8) in PATH can read dumps of kernel RELEASE ("6.12.117",
 * "6.1.0-56-amd64"): FALSE, with *WHY (caller frees) saying which crash and
 * which newest kernel, for a kernel newer than the newest that crash
 * release is known to read; TRUE otherwise (also when crash is missing or
 * RELEASE does not parse: running it then says what is wrong). */
gboolean kdh_crash_reads_kernel(const char *release, char **why);

/* kdh_verdict_crash_full with the default options. */
void kdh_verdict_crash(KdhResult *r, const KdhCase *c, const char *vmlinux, const char *vmcore,
                       const char *out_path);

#endif
