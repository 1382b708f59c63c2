/* The one Check runner: every suite of tests/unit and tests/e2e.  The list
 * is generated from the file names (build/suites.h, see the Makefile).
 * CK_RUN_SUITE / CK_EXCLUDE_TAGS / CK_RUN_TAGS select as Check documents. */
#include <check.h>
#include <stdlib.h>

#define SUITE(name) Suite *name##_suite(void);
#include "suites.h"
#undef SUITE

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

#define SUITE(name) srunner_add_suite(sr, name##_suite());
#include "suites.h"
#undef SUITE

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
