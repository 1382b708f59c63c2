/* Playing whole cases without VMs for the runner's tests: kdh_run_case
 * with the fake VM backend and fake host steps (fake.h), its verdict.json
 * read back, and assertions on reasons, checks, phases. */
#ifndef KDH_TEST_CYCLE_H
#define KDH_TEST_CYCLE_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <signal.h>

#include "fake.h"
#include "run/run.h"
#include "support.h"

#define FIXTURE_RELEASE KDH_FAKE_RELEASE

/* A fresh temporary folder per test (kdh_cycle_setup/teardown, as a Check
 * fixture) and the flag a test's cancellation sets. */
extern char *kdh_cycle_tmp;
extern volatile sig_atomic_t kdh_cycle_cancel;
void kdh_cycle_setup(void);
void kdh_cycle_teardown(void);

/* The scenario every test starts from: the fixture's kernel, collector
 * settings, panic and call trace, short phase timeouts (virtual seconds). */
#define SCENARIO_BASE                                                                              \
	"[scenario]\nname=t\n[capture]\ncompression=zlib\ndump_level=31\n"                         \
	"[timeouts]\nboot=20\ncrash=20\ncapture=20\nshutdown=20\n"
#define SCENARIO                                                                                   \
	SCENARIO_BASE "[expect]\npanic=sysrq triggered crash\nfunction=sysrq_handle_crash\n"
/* A case expecting no dump has no panic line to look for. */
#define NO_DUMP "\n" SCENARIO_BASE "[expect]\noutcome=no-dump\nreason=kexec-load-failed\n"

typedef struct {
	KdhResult *r;
	JsonParser *parser;
	JsonObject *json; /* verdict.json as json-glib read it */
	char *serial;     /* serial.log */
} Played;

void played_clear(Played *p);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Played, played_clear)

/* Runs the first case of scenario TEXT (SCENARIO plus EXTRA groups; EXTRA
 * starting with a blank line is a whole scenario of its own) with the
 * console SCRIPT and host steps OPS; verdict.json must parse. */
Played play(const char *extra, const KdhFakeLine *script, gsize n, const KdhRunOps *ops);

#define assert_reason(p, needle)                                                                   \
	do {                                                                                       \
		g_autofree char *all_ = joined((p)->r->reasons);                                   \
		ck_assert_msg(has((p)->r->reasons, needle), "no '%s' in reasons: %s", needle,      \
		              all_);                                                               \
	} while (0)

#define assert_verdict(p, want)                                                                    \
	do {                                                                                       \
		g_autofree char *all_ = joined((p)->r->reasons);                                   \
		ck_assert_msg(g_str_equal(kdh_verdict_name((p)->r->verdict), want),                \
		              "%s, not %s: %s", kdh_verdict_name((p)->r->verdict), want, all_);    \
	} while (0)

#define assert_check(p, needle)                                                                    \
	do {                                                                                       \
		g_autofree char *all_ = joined((p)->r->checks);                                    \
		ck_assert_msg(has((p)->r->checks, needle), "no '%s' in checks: %s", needle, all_); \
	} while (0)

#define assert_ignored(p, needle)                                                                  \
	do {                                                                                       \
		g_autofree char *all_ = joined((p)->r->ignored_markers);                           \
		ck_assert_msg(has((p)->r->ignored_markers, needle), "no '%s' in ignored: %s",      \
		              needle, all_);                                                       \
	} while (0)

/* The phases P recorded, space-separated, are WANT. */
void assert_phases(const Played *p, const char *want);

/* The first kernel's reservation line, then kdh's boot marker. */
#define RESERVED                                                                                   \
	"[    0.060333] Reserving 256MB of memory at 736MB for crashkernel (System RAM: 1023MB)\n"
#define BOOT                                                                                       \
	RESERVED "KDH: boot release=" FIXTURE_RELEASE                                              \
	         " cmdline=\"console=ttyS0 crashkernel=256M\"\n"
#define ARMED    "KDH: armed kexec_crash_loaded=1 crash_size=268435456\n"
#define PANIC    "[    4.302909] Kernel panic - not syncing: sysrq triggered crash\n"
#define CSTART   "KDH: capture-start vmcore_size=1073741824\n"
#define CDONE    "KDH: capture-done rc=0 files=vmcore,\n"
#define POWEROFF "KDH: poweroff\n"

#endif
