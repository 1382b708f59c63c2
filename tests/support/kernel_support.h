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

#endif
