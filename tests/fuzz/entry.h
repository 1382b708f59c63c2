/* The fuzz targets' bodies, one function per target, shared by the
 * libFuzzer programs (fuzz_<target>.c) and the unit test that replays every
 * committed crash input (tests/unit/test_fuzz_regressions.c), so the two
 * cannot drift.  Each takes any bytes at all and returns 0; a bug shows as
 * a sanitizer report or an abort(). */
#ifndef KDH_FUZZ_ENTRY_H
#define KDH_FUZZ_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/* A dump file (any format) through every reader entry point (dump_entry.c). */
int kdh_fuzz_dump(const uint8_t *data, size_t size);
/* Scenario text, [matrix] included, through kdh_scenario_load_data. */
int kdh_fuzz_scenario(const uint8_t *data, size_t size);
/* A matrix file through kdh_matrix_load_data, its scenario files in a
 * folder of three real ones (a plain, a [matrix] one, a bad one). */
int kdh_fuzz_matrix(const uint8_t *data, size_t size);
/* Each line through kdh_marker_parse, raw and made text. */
int kdh_fuzz_marker(const uint8_t *data, size_t size);
/* A console log through the serial log reader, the marker parser, the
 * no-dump diagnosis, the reservation and readiness checks, the warnings. */
int kdh_fuzz_console(const uint8_t *data, size_t size);
/* A field log through kdh_field_parse (kdh reproduce) and, when it parses,
 * the scenario it gives and the comparison with itself. */
int kdh_fuzz_field(const uint8_t *data, size_t size);
/* crash(8) output through kdh_crash_parse and kdh_crash_judge. */
int kdh_fuzz_crash(const uint8_t *data, size_t size);

/* Whether MESSAGE starts "NAME:LINE: " with a line number of 1 or more:
 * every refusal of a scenario or matrix file names both (scenario_entry.c). */
int kdh_fuzz_names_file_line(const char *message, const char *name);

/* One row per target: its name (fuzz_<name>, corpus/<name>,
 * regressions/<name>) and its body. */
typedef struct {
	const char *name;
	int (*run)(const uint8_t *data, size_t size);
} KdhFuzzTarget;

#endif
