/* Inside scenario/ only: the scenario file as text. */
#ifndef KDH_SCENARIO_INTERNAL_H
#define KDH_SCENARIO_INTERNAL_H

#include <glib.h>

/* The most a scenario file may hold: a matrix of a few keys is a few
 * hundred bytes, so anything near this is not a scenario. */
#define SCENARIO_MAX_BYTES ((gsize)64 * 1024)

/* Reads PATH, a regular file of at most SCENARIO_MAX_BYTES bytes, as text
 * (scenario_check_text).  Errors name PATH and never quote its bytes raw. */
char *scenario_read_file(const char *path, GError **error);

/* FALSE with "NAME:LINE: not a text file (byte 0xNN at offset N)" unless the
 * LEN bytes of TEXT are UTF-8 without control characters other than tab, CR
 * and LF: every later message may quote the text on a terminal. */
gboolean scenario_check_text(const char *name, const char *text, gsize len, GError **error);

/* TEXT with the comment rule applied, line for line (line numbers stay):
 * a line whose first non-blank character is '#' or ';' becomes empty; on
 * other lines a '#' after a blank starts a comment to the end of the line;
 * each line loses its leading and trailing blanks.  ';' elsewhere is not a
 * comment: it separates [matrix] values. */
char *scenario_strip_comments(const char *text);

/* TRUE when REF is a kernel ref the resolver (kernel/kernel.h) accepts by
 * its syntax: debian:default, debian:<abi> (an ABI such as 6.1.0-56-amd64),
 * build:<id>, build:<source>+<fragment>,... (a source package version or an
 * existing folder; fragment names, or files that exist), import:<id>, or
 * import:<path> of an existing file or folder (relative to the current
 * folder, as the resolver takes it).  Whether an id is in the cache or the
 * ABI in the archive is for the resolver to find.  Otherwise FALSE with
 * *WHY (freed by the caller) saying what is wrong. */
gboolean scenario_kernel_ref_check(const char *ref, char **why);

#endif
