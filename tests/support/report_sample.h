/* A sample of results and readers of reports, for the report suites
 * (test_report.c, test_report_merge.c): not a suite itself. */
#ifndef KDH_TEST_REPORT_SAMPLE_H
#define KDH_TEST_REPORT_SAMPLE_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libxml/parser.h>

#include "report/report.h"

/* Everything a guest (or a forged results.json) can put in a string that
 * survives into a KdhResult (see report_sample.c). */
extern const char kdh_test_hostile[];

/* A result of case NAME from SCENARIO, started at STARTED (may be NULL),
 * with a kernel, acceleration, crashkernel and two phases (12.75 s). */
KdhResult *kdh_test_result(const char *name, const char *scenario, const char *started);

/* One case of every verdict, in KdhVerdict order, named as
 * kdh_test_sample_names, over two scenario files (alpha.ini: PASS, FAIL;
 * dir/beta.ini: the rest); the FAIL holds kdh_test_hostile. */
#define KDH_TEST_SAMPLE_CASES 6
GPtrArray *kdh_test_sample(void);
extern const char *const kdh_test_sample_names[KDH_TEST_SAMPLE_CASES];
extern const KdhRunInfo kdh_test_sample_info;

/* Writes the run-level reports of RS (INFO: NULL for kdh_test_sample_info)
 * into the new folder PARENT/NAME and returns its path. */
char *kdh_test_write_set(const char *parent, const char *name, const KdhRunInfo *info,
                         GPtrArray *rs);

/* DIR/FILE's content (the test fails when it cannot be read). */
char *kdh_test_read_file(const char *dir, const char *file);

/* DIR/FILE parsed by PARSER: a JSON object. */
JsonObject *kdh_test_load_json(JsonParser *parser, const char *dir, const char *file);

/* The case object I of a results.json document. */
JsonObject *kdh_test_case_at(JsonObject *doc, guint i);

/* DIR/junit.xml parsed by libxml2 without recovery (not well-formed: the
 * test fails); the caller frees it with xmlFreeDoc. */
xmlDocPtr kdh_test_load_junit(const char *dir);

/* The XPath expression EXPR over DOC as a number, as a string. */
double kdh_test_xpath_number(xmlDocPtr doc, const char *expr);
char *kdh_test_xpath_string(xmlDocPtr doc, const char *expr);

#define assert_xpath_num(doc, expr, want)                                                          \
	ck_assert_msg(kdh_test_xpath_number(doc, expr) == (want), "%s = %g, not %g", expr,         \
	              kdh_test_xpath_number(doc, expr), (double)(want))

#define assert_xpath_str(doc, expr, want)                                                          \
	do {                                                                                       \
		g_autofree char *got_ = kdh_test_xpath_string(doc, expr);                          \
		ck_assert_msg(g_str_equal(got_, want), "%s = '%s', not '%s'", expr, got_, want);   \
	} while (0)

#endif
