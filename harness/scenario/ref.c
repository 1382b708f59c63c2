/* [kernel] ref= checked at load time, by the rules the kernel resolver
 * (kernel/kernel.h) applies when it runs: a mistake is found before the
 * first case starts, not after earlier cases ran. */
#include "scenario/internal.h"

#include <string.h>

/* A Debian kernel ABI: upstream version, ABI number (or a "+debNN"/"+bpo"
 * tag), featureset and flavour, e.g. 6.1.0-56-amd64, 6.1.0-56-cloud-amd64,
 * 6.12.38+deb13-amd64, 6.1.0-0.deb11.21-amd64; at most 64 bytes (a release). */
#define DEBIAN_ABI "^[0-9]+\\.[0-9]+(\\.[0-9]+)?(-[0-9][0-9a-z.]*|\\+[0-9a-z.]+)(-[0-9a-z]+)+$"

/* Debian's kernel source package, by name or version: "linux-source-6.12", "6.12". */
#define SOURCE_PACKAGE "^(linux-source-)?[0-9]+(\\.[0-9]+)+$"

static gboolean matches(const char *pattern, const char *text)
{
	return g_regex_match_simple(pattern, text, G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT);
}

/* An id as `kdh kernel list` prints it, or its beginning: 1-64 of
 * [A-Za-z0-9._+~-] starting with a letter or digit (it names a folder). */
static gboolean id_valid(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > 64 || !g_ascii_isalnum(id[0]))
		return FALSE;
	for (const char *p = id; *p; p++) {
		if (!g_ascii_isalnum(*p) && !strchr("._+~-", *p))
			return FALSE;
	}
	return TRUE;
}

/* What a package or folder name of a user looks like, as opposed to an id:
 * a '/' or a package's suffix. */
static gboolean looks_like_path(const char *what)
{
	static const char *const suffixes[] = {".deb", ".rpm", ".zst", ".xz", ".tar"};

	if (strchr(what, '/'))
		return TRUE;
	for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		if (g_str_has_suffix(what, suffixes[i]))
			return TRUE;
	}
	return FALSE;
}

static gboolean check_debian(const char *abi, char **why)
{
	if (g_str_equal(abi, "default") || (strlen(abi) <= 64 && matches(DEBIAN_ABI, abi)))
		return TRUE;
	*why = g_strdup_printf("'%s' is not a Debian kernel ABI such as 6.1.0-56-amd64 or "
	                       "6.1.0-56-cloud-amd64 (or \"default\")",
	                       abi);
	return FALSE;
}

/* One kconfig fragment of build:<source>+<fragment>,...: a name looked up
 * in the kconfigs folders when the build runs, or a file that must exist. */
static gboolean check_fragment(const char *fragment, char **why)
{
	if (strchr(fragment, '/') || g_str_has_suffix(fragment, ".config")) {
		if (g_file_test(fragment, G_FILE_TEST_IS_REGULAR))
			return TRUE;
		*why = g_strdup_printf("kconfig fragment '%s': no such file", fragment);
		return FALSE;
	}
	if (id_valid(fragment))
		return TRUE;
	*why = g_strdup_printf("kconfig fragment '%s' is neither a name (kconfigs/<name>.config) "
	                       "nor a file",
	                       fragment);
	return FALSE;
}

static gboolean check_build(const char *spec, char **why)
{
	const char *plus = strchr(spec, '+');

	if (!plus) {
		const char *id = g_str_has_prefix(spec, "build-") ? spec + strlen("build-") : spec;
		if (id_valid(id))
			return TRUE;
		*why = g_strdup_printf("'%s' is not a build id (see `kdh kernel list`) nor "
		                       "<source>+<fragment>,...",
		                       spec);
		return FALSE;
	}
	g_autofree char *source = g_strndup(spec, plus - spec);
	g_auto(GStrv) fragments = g_strsplit(plus + 1, ",", -1);

	if (strchr(source, '/') && !g_file_test(source, G_FILE_TEST_IS_DIR)) {
		*why = g_strdup_printf("kernel source folder '%s': no such folder", source);
		return FALSE;
	}
	if (!g_file_test(source, G_FILE_TEST_IS_DIR) && !matches(SOURCE_PACKAGE, source)) {
		*why = g_strdup_printf("kernel source '%s': expected linux-source-<version> (or "
		                       "<version>, e.g. 6.12) or a folder",
		                       source);
		return FALSE;
	}
	if (!fragments[0]) {
		*why = g_strdup("no kconfig fragment after '+'");
		return FALSE;
	}
	for (char **f = fragments; *f; f++) {
		if (!**f) {
			*why = g_strdup(
			    "an empty kconfig fragment name (two commas, or one at an end)");
			return FALSE;
		}
		if (!check_fragment(*f, why))
			return FALSE;
	}
	return TRUE;
}

static gboolean check_import(const char *what, char **why)
{
	const char *id = g_str_has_prefix(what, "import-") ? what + strlen("import-") : what;

	if (*what && g_file_test(what, G_FILE_TEST_EXISTS))
		return TRUE;
	if (looks_like_path(what)) {
		*why = g_strdup_printf("'%s': no such file or folder", what);
		return FALSE;
	}
	if (id_valid(id))
		return TRUE;
	*why = g_strdup_printf("'%s' is neither an existing package or folder nor an import id "
	                       "(see `kdh kernel list`)",
	                       what);
	return FALSE;
}

gboolean scenario_kernel_ref_check(const char *ref, char **why)
{
	static const struct {
		const char *prefix;
		gboolean (*check)(const char *rest, char **why);
	} kinds[] = {
	    {"debian:", check_debian},
	    {"build:", check_build},
	    {"import:", check_import},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
		if (g_str_has_prefix(ref, kinds[i].prefix))
			return kinds[i].check(ref + strlen(kinds[i].prefix), why);
	}
	*why = g_strdup_printf("'%s' is not a kernel ref: expected debian:default, "
	                       "debian:<abi>, build:<id>, build:<source>+<fragment>,..., "
	                       "import:<path> or import:<id>",
	                       ref);
	return FALSE;
}
