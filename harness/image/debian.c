/* The Debian disk image: the host's apt sources → the package versions apt
 * would install (the cache key) → mmdebstrap's root tarball with the recipe's
 * hooks → an ext4 qcow2 through libguestfs → the cache. */
#include "image/image.h"
#include "util/util.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

/* Bumped whenever the way the image is made changes outside the recipe. */
#define DEBIAN_LAYOUT 1
#define DEBIAN_SUITE  "bookworm"
/* Bounds on what is read from the host's apt configuration. */
#define SOURCES_MAX_BYTES (1 << 20)
#define SOURCES_MAX_FILES 256

void kdh_disk_image_free(KdhDiskImage *img)
{
	if (!img)
		return;
	g_free(img->id);
	g_free(img->dir);
	g_free(img->disk);
	g_free(img->initrd);
	g_free(img->release);
	g_free(img);
}

/* ---- the host's apt sources ---- */

/* Debian 12's suites: "bookworm", "bookworm-updates", "bookworm-security"... */
static gboolean wanted_suite(const char *suite)
{
	return g_str_equal(suite, DEBIAN_SUITE) || g_str_has_prefix(suite, DEBIAN_SUITE "-");
}

static gboolean has_word(char **words, const char *word)
{
	for (char **w = words; w && *w; w++) {
		if (g_str_equal(*w, word))
			return TRUE;
	}
	return FALSE;
}

/* A value without blanks, quotes or brackets: a URI or a keyring path is
 * copied into a sources line as it is. */
static gboolean plain_value(const char *v)
{
	return *v && !strpbrk(v, " \t\n[]\"'");
}

static void add_mirror(GPtrArray *out, const char *uri, const char *suite, const char *signed_by)
{
	char *line = signed_by && plain_value(signed_by)
	                 ? g_strdup_printf("deb [signed-by=%s] %s %s main", signed_by, uri, suite)
	                 : g_strdup_printf("deb %s %s main", uri, suite);

	for (guint i = 0; i < out->len; i++) {
		if (g_str_equal(g_ptr_array_index(out, i), line)) {
			g_free(line);
			return;
		}
	}
	g_ptr_array_add(out, line);
}

static char **split_words(const char *s)
{
	g_autofree char *copy = g_strstrip(g_strdup(s));
	char **words = g_strsplit_set(copy, " \t\n", -1);
	guint n = 0;

	for (guint i = 0; words[i]; i++) {
		if (*words[i])
			words[n++] = words[i];
		else
			g_free(words[i]);
	}
	words[n] = NULL;
	return words;
}

/* One-line format: "deb [opt=v ...] URI SUITE COMPONENT...". */
static gboolean parse_one_line(const char *text, const char *where, GPtrArray *out, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (guint n = 0; lines[n]; n++) {
		char *hash = strchr(lines[n], '#');
		g_autofree char *signed_by = NULL;
		g_auto(GStrv) words = NULL;
		guint i = 1;

		if (hash)
			*hash = '\0';
		words = split_words(lines[n]);
		if (!words[0])
			continue;
		if (!g_str_equal(words[0], "deb") && !g_str_equal(words[0], "deb-src")) {
			g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
			            "%s:%u: not a sources line (deb or deb-src expected)", where,
			            n + 1);
			return FALSE;
		}
		if (words[1] && words[1][0] == '[') {
			/* Options up to the word ending in ']'. */
			for (; words[i]; i++) {
				const char *w = words[i] + (i == 1);
				gsize len = strlen(w);
				gboolean last = len && w[len - 1] == ']';
				g_autofree char *opt = g_strndup(w, last ? len - 1 : len);
				if (g_str_has_prefix(opt, "signed-by="))
					signed_by = g_strdup(opt + strlen("signed-by="));
				if (last)
					break;
			}
			if (!words[i]) {
				g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
				            "%s:%u: options not closed with ']'", where, n + 1);
				return FALSE;
			}
			i++;
		}
		if (g_strv_length(words + i) < 3) {
			g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
			            "%s:%u: a sources line needs a URI, a suite and a component",
			            where, n + 1);
			return FALSE;
		}
		if (g_str_equal(words[0], "deb") && wanted_suite(words[i + 1]) &&
		    has_word(words + i + 2, "main") && plain_value(words[i]))
			add_mirror(out, words[i], words[i + 1], signed_by);
	}
	return TRUE;
}

/* One deb822 paragraph's fields (already lower-cased names). */
static gboolean deb822_paragraph(GHashTable *fields, const char *where, guint line, GPtrArray *out,
                                 GError **error)
{
	const char *types = g_hash_table_lookup(fields, "types");
	const char *uris = g_hash_table_lookup(fields, "uris");
	const char *suites = g_hash_table_lookup(fields, "suites");
	const char *components = g_hash_table_lookup(fields, "components");
	const char *enabled = g_hash_table_lookup(fields, "enabled");
	const char *signed_by = g_hash_table_lookup(fields, "signed-by");
	g_auto(GStrv) t = NULL, u = NULL, s = NULL, c = NULL;

	if (g_hash_table_size(fields) == 0)
		return TRUE;
	if (!types || !uris || !suites) {
		g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
		            "%s: the entry ending at line %u lacks Types, URIs or Suites", where,
		            line);
		return FALSE;
	}
	if (enabled && g_ascii_strcasecmp(enabled, "no") == 0)
		return TRUE;
	t = split_words(types);
	u = split_words(uris);
	s = split_words(suites);
	c = split_words(components ? components : "");
	if (!has_word(t, "deb") || !has_word(c, "main"))
		return TRUE;
	/* An inline key (several lines) is no path: the default keyrings then. */
	if (signed_by && strchr(signed_by, '\n'))
		signed_by = NULL;
	for (char **uri = u; *uri; uri++) {
		for (char **suite = s; *suite; suite++) {
			if (wanted_suite(*suite) && plain_value(*uri))
				add_mirror(out, *uri, *suite, signed_by);
		}
	}
	return TRUE;
}

/* deb822: "Field: value" lines, continuation lines start with a blank,
 * entries are separated by empty lines. */
static gboolean parse_deb822(const char *text, const char *where, GPtrArray *out, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autoptr(GHashTable) fields =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autofree char *last = NULL;

	for (guint n = 0;; n++) {
		const char *l = lines[n];
		const char *colon;
		gboolean continued = l && (l[0] == ' ' || l[0] == '\t');

		if (!l || !*g_strstrip(lines[n])) {
			if (!deb822_paragraph(fields, where, n, out, error))
				return FALSE;
			g_hash_table_remove_all(fields);
			g_clear_pointer(&last, g_free);
			if (!l)
				break;
			continue;
		}
		if (l[0] == '#')
			continue;
		if (continued && last) {
			const char *old = g_hash_table_lookup(fields, last);
			g_hash_table_insert(fields, g_strdup(last),
			                    g_strdup_printf("%s\n%s", old, l));
			continue;
		}
		colon = strchr(l, ':');
		if (continued || !colon || colon == l || strcspn(l, " \t") < (gsize)(colon - l)) {
			g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
			            "%s:%u: neither \"Field: value\" nor a continuation line",
			            where, n + 1);
			return FALSE;
		}
		g_free(last);
		last = g_ascii_strdown(l, colon - l);
		g_hash_table_insert(fields, g_strdup(last), g_strstrip(g_strdup(colon + 1)));
	}
	return TRUE;
}

gboolean kdh_debian_sources_parse(const char *text, gboolean deb822, const char *where,
                                  GPtrArray *out, GError **error)
{
	return deb822 ? parse_deb822(text, where, out, error)
	              : parse_one_line(text, where, out, error);
}

/* Reads one sources file into OUT; a file that does not exist is no error. */
static gboolean read_sources(const char *path, gboolean deb822, GPtrArray *out, GError **error)
{
	g_autofree char *text = NULL;
	gsize len;
	g_autoptr(GError) local = NULL;

	if (!g_file_get_contents(path, &text, &len, &local)) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (len > SOURCES_MAX_BYTES || strlen(text) != len) {
		g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
		            "%s: larger than %d bytes, or holds NUL bytes", path,
		            SOURCES_MAX_BYTES);
		return FALSE;
	}
	return kdh_debian_sources_parse(text, deb822, path, out, error);
}

GPtrArray *kdh_debian_mirrors(const char *apt_dir, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *main_list = g_build_filename(apt_dir, "sources.list", NULL);
	g_autofree char *parts_dir = g_build_filename(apt_dir, "sources.list.d", NULL);
	g_autoptr(GDir) d = g_dir_open(parts_dir, 0, NULL);
	const char *name;

	if (!read_sources(main_list, FALSE, out, error))
		return NULL;
	while (d && (name = g_dir_read_name(d))) {
		/* apt's own rule: only these endings count. */
		if (g_str_has_suffix(name, ".list") || g_str_has_suffix(name, ".sources"))
			g_ptr_array_add(parts, g_strdup(name));
		if (parts->len > SOURCES_MAX_FILES) {
			g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
			            "%s: more than %d sources files", parts_dir, SOURCES_MAX_FILES);
			return NULL;
		}
	}
	g_ptr_array_sort(parts, kdh_strcmp_sort);
	for (guint i = 0; i < parts->len; i++) {
		const char *part = g_ptr_array_index(parts, i);
		g_autofree char *path = g_build_filename(parts_dir, part, NULL);
		if (!read_sources(path, g_str_has_suffix(part, ".sources"), out, error))
			return NULL;
	}
	if (out->len == 0) {
		g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
		            "no Debian " DEBIAN_SUITE " source with component main in %s or "
		            "%s/*.list|*.sources: the guest's packages come from the host's "
		            "Debian mirror",
		            main_list, parts_dir);
		return NULL;
	}
	return g_steal_pointer(&out);
}

/* ---- what goes in ---- */

GPtrArray *kdh_debian_packages(const char *recipe_dir, GError **error)
{
	g_autofree char *path = g_build_filename(recipe_dir, "packages", NULL);
	g_autofree char *text = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(path, &text, NULL, error))
		return NULL;
	lines = g_strsplit(text, "\n", -1);
	for (guint n = 0; lines[n]; n++) {
		char *hash = strchr(lines[n], '#');
		if (hash)
			*hash = '\0';
		g_strstrip(lines[n]);
		if (!*lines[n])
			continue;
		for (const char *c = lines[n]; *c; c++) {
			/* Debian policy: lower case, digits, + - . and an
			 * alphanumeric first (no option for apt). */
			if (!(g_ascii_islower(*c) || g_ascii_isdigit(*c) ||
			      (c > lines[n] && strchr("+-.", *c)))) {
				g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
				            "%s:%u: \"%s\" is not a package name", path, n + 1,
				            lines[n]);
				return NULL;
			}
		}
		g_ptr_array_add(names, g_strdup(lines[n]));
	}
	return g_steal_pointer(&names);
}

/* Adds every file below DIR (names relative to TOP, sorted) to SUM. */
static gboolean hash_tree(GChecksum *sum, const char *top, const char *rel, GError **error)
{
	g_autofree char *dir = g_build_filename(top, rel, NULL);
	g_autoptr(GPtrArray) names = kdh_dir_names_sorted(dir, error);

	if (!names)
		return FALSE;
	for (guint i = 0; i < names->len; i++) {
		g_autofree char *sub = g_build_filename(rel, g_ptr_array_index(names, i), NULL);
		g_autofree char *path = g_build_filename(top, sub, NULL);
		g_autofree char *data = NULL;
		gsize len;
		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			if (!hash_tree(sum, top, sub, error))
				return FALSE;
			continue;
		}
		if (!g_file_get_contents(path, &data, &len, error))
			return FALSE;
		g_autofree char *head =
		    g_strdup_printf("\nfile %s %" G_GSIZE_FORMAT "\n", sub, len);
		g_checksum_update(sum, (const guchar *)head, -1);
		g_checksum_update(sum, (const guchar *)data, len);
	}
	return TRUE;
}

char *kdh_image_debian_key(const char *recipe_dir, const char *versions, const KdhKernel *k,
                           GError **error)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree char *head = g_strdup_printf("layout=%d\nkernel=%s %s\nversions\n",
	                                        DEBIAN_LAYOUT, k->id, k->release);

	g_checksum_update(sum, (const guchar *)head, -1);
	g_checksum_update(sum, (const guchar *)versions, -1);
	if (!hash_tree(sum, recipe_dir, "", error)) {
		g_prefix_error(error, "reading the recipe %s: ", recipe_dir);
		return NULL;
	}
	return g_strndup(g_checksum_get_string(sum), 16);
}

/* The apt options that make apt-get use the scratch folder D alone: its
 * own sources, lists, cache and an empty dpkg status (a system with nothing
 * installed, as mmdebstrap starts from). */
static void apt_options(GPtrArray *argv, const char *d)
{
	static const char *const dirs[][2] = {
	    {"Dir::State", ""},
	    {"Dir::State::Lists", "lists"},
	    {"Dir::State::status", "status"},
	    {"Dir::Cache", "cache"},
	    {"Dir::Etc::SourceList", "sources.list"},
	    {"Dir::Etc::SourceParts", "parts"},
	    {"Dir::Etc::Preferences", "parts/none"},
	    {"Dir::Etc::PreferencesParts", "parts"},
	    {"Dir::Etc::Parts", "parts"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
		g_ptr_array_add(argv, g_strdup("-o"));
		g_ptr_array_add(argv, g_strdup_printf("%s=%s/%s", dirs[i][0], d, dirs[i][1]));
	}
	g_ptr_array_add(argv, g_strdup("-o"));
	g_ptr_array_add(argv, g_strdup("Debug::NoLocking=1"));
	g_ptr_array_add(argv, g_strdup("-o"));
	g_ptr_array_add(argv, g_strdup("Acquire::Languages=none"));
	g_ptr_array_add(argv, g_strdup("-o"));
	g_ptr_array_add(argv, g_strdup("APT::Install-Recommends=false"));
	g_ptr_array_add(argv, g_strdup("-q"));
}

/* "Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64]) []" lines
 * of apt-get -s into sorted "libc6 2.36-9+deb12u14" lines. */
static char *inst_lines(const char *out, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);

	for (char **l = lines; *l; l++) {
		g_auto(GStrv) w = NULL;
		if (!g_str_has_prefix(*l, "Inst "))
			continue;
		w = g_strsplit(*l, " ", 4);
		if (g_strv_length(w) < 3 || w[2][0] != '(') {
			g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
			            "apt-get -s: unexpected line \"%s\"", *l);
			return NULL;
		}
		g_ptr_array_add(got, g_strdup_printf("%s %s", w[1], w[2] + 1));
	}
	if (got->len == 0) {
		g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
		            "apt-get -s would install nothing");
		return NULL;
	}
	g_ptr_array_sort(got, kdh_strcmp_sort);
	g_ptr_array_add(got, g_strdup(""));
	g_ptr_array_add(got, NULL);
	return g_strjoinv("\n", (char **)got->pdata);
}

char *kdh_debian_resolve_versions(const char *cache_dir, GPtrArray *mirrors, GPtrArray *include,
                                  GError **error)
{
	g_autofree char *d = g_build_filename(cache_dir, "images", ".apt-" DEBIAN_SUITE, NULL);
	g_autofree char *lock_path = g_build_filename(cache_dir, "images", ".lock-apt", NULL);
	g_autofree char *sources = g_build_filename(d, "sources.list", NULL);
	g_autofree char *status = g_build_filename(d, "status", NULL);
	g_autofree char *out = NULL;
	g_autoptr(GPtrArray) update = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) install = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) text = g_string_new(NULL);
	gboolean ok;
	int lock;

	for (guint i = 0; i < mirrors->len; i++)
		g_string_append_printf(text, "%s\n", (const char *)g_ptr_array_index(mirrors, i));
	for (const char *sub = "lists/partial\0cache/archives/partial\0parts\0"; *sub;
	     sub += strlen(sub) + 1) {
		g_autofree char *path = g_build_filename(d, sub, NULL);
		if (g_mkdir_with_parents(path, 0755) != 0) {
			int saved = errno;
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
			            "creating %s: %s", path, g_strerror(saved));
			return NULL;
		}
	}
	lock = kdh_lock(lock_path, error);
	if (lock < 0)
		return NULL;
	ok = g_file_set_contents(sources, text->str, -1, error) &&
	     g_file_set_contents(status, "", 0, error);
	g_ptr_array_add(update, g_strdup("apt-get"));
	apt_options(update, d);
	g_ptr_array_add(update, g_strdup("update"));
	/* Else a mirror that cannot be reached is a warning, and the lists
	 * of an earlier update would silently decide the versions. */
	g_ptr_array_add(update, g_strdup("--error-on=any"));
	g_ptr_array_add(update, NULL);
	ok = ok && kdh_run((const char *const *)update->pdata, NULL, NULL, error);
	if (!ok)
		g_prefix_error(error, "reading the Debian archive's package lists: ");
	g_ptr_array_add(install, g_strdup("apt-get"));
	apt_options(install, d);
	g_ptr_array_add(install, g_strdup("-s"));
	g_ptr_array_add(install, g_strdup("install"));
	/* mmdebstrap --variant=minbase: the Essential set and apt. */
	g_ptr_array_add(install, g_strdup("?essential"));
	g_ptr_array_add(install, g_strdup("apt"));
	for (guint i = 0; i < include->len; i++)
		g_ptr_array_add(install, g_strdup(g_ptr_array_index(include, i)));
	g_ptr_array_add(install, NULL);
	if (ok && !kdh_run((const char *const *)install->pdata, NULL, &out, error)) {
		g_prefix_error(error, "resolving the guest's packages: ");
		ok = FALSE;
	}
	kdh_unlock(lock);
	return ok ? inst_lines(out, error) : NULL;
}
