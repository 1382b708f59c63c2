/* Inside report/ only.  Every run-level report is written from one JSON
 * document, the content of results.json: a run builds it from its
 * KdhResults, a merge from the results.json files it read (checked by
 * merge.c), so both paths share the writers. */
#ifndef KDH_REPORT_INTERNAL_H
#define KDH_REPORT_INTERNAL_H

#include <json-glib/json-glib.h>

#include "report/report.h"

/* The results.json document: INFO's members, MERGED_FROM (char*: the run
 * ids a merge came from; NULL: none), the counts per verdict and CASES
 * (JsonNode* case objects; referenced, not taken over). */
JsonNode *kdh_report_doc_new(const KdhRunInfo *info, GPtrArray *merged_from, GPtrArray *cases);

/* The verdict counts of DOC's cases (unknown verdict names count as ERROR). */
void kdh_report_doc_counts(JsonObject *doc, KdhVerdictCounts *counts);

/* Writes every report of DOC into the existing folder DIR (the writer
 * table, kdh_report_files' order), each atomically. */
gboolean kdh_report_write_all(JsonObject *doc, const char *dir, GError **error);

/* Pretty-printed JSON text of NODE. */
char *kdh_report_json_text(JsonNode *node);

/* ---- reading the document: tolerant accessors ----
 * PATH is a member name or a dotted path ("kernel.release").  Missing
 * members, nulls and members of another type read as absent, so a writer
 * never trips on a document merge.c would have refused anyway. */
const char *kdh_doc_str(JsonObject *o, const char *path);
/* The number at PATH, or DFLT. */
double kdh_doc_num(JsonObject *o, const char *path, double dflt);
/* The array member NAME, or NULL. */
JsonArray *kdh_doc_array(JsonObject *o, const char *name);
/* The string elements of array member NAME, in order (others skipped). */
GPtrArray *kdh_doc_strings(JsonObject *o, const char *name);
/* The objects of DOC's "cases" (JsonObject*, DOC's), in order. */
GPtrArray *kdh_doc_cases(JsonObject *doc);
/* The case's verdict; ERROR when unreadable. */
KdhVerdict kdh_doc_verdict(JsonObject *c);

/* ---- the kernel x scenario grid (grid.c) ---- */

/* The cases of a document that name a matrix cell (matrix.kernel and
 * matrix.scenario), by row and column. */
typedef struct {
	GPtrArray *rows;    /* char*: kernel labels, in first-seen order */
	GPtrArray *columns; /* char*: scenario case names, likewise */
	GHashTable *cells;  /* "row/column" -> JsonObject* case (DOC's) */
} KdhGrid;

/* The grid of DOC's cases (empty: no case names a cell). */
KdhGrid *kdh_grid_new(JsonObject *doc);
void kdh_grid_free(KdhGrid *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhGrid, kdh_grid_free)

/* The case of a cell, or NULL (the cell did not run). */
JsonObject *kdh_grid_cell(const KdhGrid *g, guint row, guint column);

/* Any case of ROW (its kernel's release and package), or NULL. */
JsonObject *kdh_grid_row_case(const KdhGrid *g, guint row);

/* ---- the writers: each renders DOC as its file's text, or NULL with an
 * error ---- */
typedef char *(*KdhReportRender)(JsonObject *doc, GError **error);
char *kdh_report_render_json(JsonObject *doc, GError **error);
char *kdh_report_render_junit(JsonObject *doc, GError **error);
char *kdh_report_render_tap(JsonObject *doc, GError **error);
char *kdh_report_render_markdown(JsonObject *doc, GError **error);
char *kdh_report_render_html(JsonObject *doc, GError **error);

/* ---- text for a report format ----
 * S made valid UTF-8 (invalid bytes become U+FFFD), each character for
 * which ESCAPE returns TRUE written as \xNN (below 0x100) or \uNNNN, each
 * ASCII character of BACKSLASHED preceded by a backslash, cut after
 * MAX_CHARS characters of S (0: no limit) with "…".  NULL S gives "". */
char *kdh_report_escape(const char *s, gboolean (*escape)(gunichar c), const char *backslashed,
                        gsize max_chars);

/* TRUE for characters no report format shows as they are: C0 and C1
 * controls, DEL, line and paragraph separators, the byte-order mark and
 * the non-characters U+FFFE/U+FFFF. */
gboolean kdh_report_unprintable(gunichar c);

/* kdh_report_unprintable, but tab, LF and CR pass (XML text keeps them). */
gboolean kdh_report_unprintable_in_xml(gunichar c);

/* T as kdh_timestamp_now writes times: UTC, ISO 8601, milliseconds. */
char *kdh_report_timestamp(GDateTime *t);

/* "1m 23s", "27.1 s". */
char *kdh_report_duration(double seconds);

#endif
