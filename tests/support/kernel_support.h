/* Helpers for the kernel and package suites: files, fake kernel images,
 * counting cache entries.  Each takes the folder it works in. */
#ifndef KDH_TEST_KERNEL_SUPPORT_H
#define KDH_TEST_KERNEL_SUPPORT_H

#include <glib.h>

/* Writes TEXT to DIR/REL (folders made); returns the path. */
char *kdh_test_write_file(const char *dir, const char *rel, const char *text);

/* Writes DIR/REL: 4 KiB with an x86 boot header whose kernel_version
 * string says "RELEASE (kdh@test) #1 SMP"; returns the path. */
char *kdh_test_write_bzimage(const char *dir, const char *rel, const char *release);

/* Runs a tool a test needs; its absence fails the test naming it (the
 * runner's error says which command and why), never a silent pass. */
void kdh_test_run_tool(const char *const *argv);

/* Folders under CACHE/kernels that are entries (not ".xxx" or logs). */
guint kdh_test_count_entries(const char *cache);

/* Temporary folders (".tmp-*") under CACHE/kernels. */
guint kdh_test_count_tmp(const char *cache);

/* The kernel and package suites' scratch: a temporary folder SCRATCH_DIR
 * with an empty cache folder SCRATCH_CACHE in it, made by scratch_setup and
 * removed by scratch_teardown (a Check checked fixture: per test). */
extern char *scratch_dir;
extern char *scratch_cache;
void scratch_setup(void);
void scratch_teardown(void);

/* The helpers above, on the scratch folder and its cache. */
char *scratch_write_file(const char *rel, const char *text);
char *scratch_write_bzimage(const char *rel, const char *release);
guint scratch_count_entries(void);
guint scratch_count_tmp(void);

#endif
