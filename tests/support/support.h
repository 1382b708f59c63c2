/* Helpers shared by the test suites (not a suite themselves). */
#ifndef KDH_TEST_SUPPORT_H
#define KDH_TEST_SUPPORT_H

#include <glib.h>
#include <json-glib/json-glib.h>

/* Runs $KDH_BIN (default build/kdh; `make check-asan` points it at the
 * sanitized build) with ARGS (NULL-terminated, without argv[0]) and waits for
 * it; its output goes to ours, for the CI log.  Returns its exit status
 * (128 + signal when killed); *PID (may be NULL) receives its process id,
 * which names its libvirt domains ("kdh-<pid>-..."). */
int kdh_test_run(const char *const *args, GPid *pid);

/* As kdh_test_run, keeping standard output and error in *OUT and *ERR
 * (each may be NULL to let it through). */
int kdh_test_run_output(const char *const *args, char **out, char **err);

/* Starts $KDH_BIN with ARGS as kdh_test_run does, without waiting: *PID
 * gets its process id (reap it with waitpid), the channel (binary, closed
 * when unreferenced) reads its standard output. */
GIOChannel *kdh_test_spawn(const char *const *args, GPid *pid);

/* The entries of folder DIR, sorted, joined by spaces ("" when empty). */
char *kdh_test_list_dir(const char *dir);

/* The run folder (RESULTS/<run-id>) kdh made in PARENT: its only folder;
 * the test fails when there is none. */
char *kdh_test_run_folder(const char *parent);

/* DIR/verdict.json parsed by PARSER (which owns the object). */
JsonObject *kdh_test_read_verdict(const char *dir, JsonParser *parser);

/* Case CASE_NAME of the one run in RESULTS (kdh_test_run_folder) has
 * verdict WANT, and NEEDLES (NULL-terminated) each appear in its checks
 * (PASS) or reasons (other verdicts).  Returns its verdict.json, owned by
 * PARSER, for further checks. */
JsonObject *kdh_test_assert_case(const char *results, const char *case_name, const char *want,
                                 const char *const *needles, JsonParser *parser);

/* Every case of every scenario file shipped in scenarios/ (each must load:
 * the test fails otherwise), as a GPtrArray owning them. */
GPtrArray *kdh_test_shipped_cases(void);

/* Whether one of ARRAY's strings (a result's reasons, checks...) holds
 * NEEDLE; and all of them, each in brackets, for a failure message. */
gboolean has(GPtrArray *array, const char *needle);
char *joined(GPtrArray *array);

/* ---- the host seen from outside kdh (outside.c) ---- */

/* The process whose command line holds NEEDLE (its NULs read as spaces),
 * or 0. */
GPid kdh_test_process_with(const char *needle);

/* A QEMU of a domain of kdh KDH_PID, or 0: libvirt names the guest on its
 * command line (-name guest=kdh-<pid>-...). */
GPid kdh_test_qemu_of(GPid kdh_pid);

/* The names of the domains of qemu:///system, running or defined, one per
 * line (virsh list --all --name). */
char *kdh_test_domains(void);

/* How many of those belong to kdh KDH_PID (named kdh-<pid>-...). */
guint kdh_test_domains_of(GPid kdh_pid);

/* Fails the test when a domain or a QEMU of kdh KDH_PID is left. */
void kdh_test_assert_nothing_left(GPid kdh_pid);

#endif
