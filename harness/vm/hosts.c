/* The libvirt connections a run spreads its cases over: the hosts file
 * (text from outside: parsed strictly, bounded, UTF-8 checked), what a
 * URI says about where it leads, each host's cores and memory asked
 * through libvirt, and where the next VM goes. */
#include "vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>
#include <unistd.h>

#define HOSTS_LINE_MAX   4096
#define HOSTS_FILE_MAX   ((gsize)1 << 20)
#define HOSTS_JOBS_MAX   256
#define HOSTS_WHITESPACE " \t\r"

void kdh_host_spec_free(KdhHostSpec *h)
{
	if (!h)
		return;
	g_free(h->uri);
	g_free(h->pool);
	g_free(h->pool_path);
	g_free(h->where);
	g_free(h);
}

/* Sets ERROR to "PATH:LINE: " and the message. */
static void line_error(GError **error, const char *path, guint line, const char *format, ...)
    G_GNUC_PRINTF(4, 5);
static void line_error(GError **error, const char *path, guint line, const char *format, ...)
{
	g_autofree char *what = NULL;
	va_list args;

	va_start(args, format);
	what = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED, "%s:%u: %s", path, line, what);
}

/* Why the LEN bytes of LINE cannot be read as text, or NULL: checked before
 * any of it goes into a message, so a message never carries a terminal
 * escape or bytes that are not UTF-8. */
static const char *line_unreadable(const char *line, gsize len)
{
	if (len > HOSTS_LINE_MAX)
		return "longer than 4096 bytes";
	if (memchr(line, '\0', len))
		return "a NUL byte";
	if (!g_utf8_validate_len(line, len, NULL))
		return "not UTF-8";
	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar)line[i];
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			return "a control character";
	}
	return NULL;
}

/* Reads "KEY=VALUE" WORD into SPEC; FALSE with ERROR set when it is not
 * one of the keys, is given twice, or its value is wrong. */
static gboolean parse_option(KdhHostSpec *spec, const char *word, const char *path, guint line,
                             GError **error)
{
	const char *eq = strchr(word, '=');
	g_autofree char *key = NULL;
	const char *value;
	guint64 jobs;

	if (!eq) {
		line_error(error, path, line, "'%s' is not KEY=VALUE (jobs=, pool=, pool-path=)",
		           word);
		return FALSE;
	}
	key = g_strndup(word, eq - word);
	value = eq + 1;
	if (g_str_equal(key, "jobs")) {
		if (spec->jobs) {
			line_error(error, path, line, "jobs= given twice");
			return FALSE;
		}
		if (!g_ascii_string_to_unsigned(value, 10, 1, HOSTS_JOBS_MAX, &jobs, NULL)) {
			line_error(error, path, line, "jobs=%s: not a number from 1 to %d", value,
			           HOSTS_JOBS_MAX);
			return FALSE;
		}
		spec->jobs = (guint)jobs;
	} else if (g_str_equal(key, "pool")) {
		if (spec->pool) {
			line_error(error, path, line, "pool= given twice");
			return FALSE;
		}
		/* libvirt's pool names: anything but '/' (virXMLCheckIllegalChars). */
		if (!*value || strchr(value, '/')) {
			line_error(error, path, line, "pool=%s: not a pool name", value);
			return FALSE;
		}
		spec->pool = g_strdup(value);
	} else if (g_str_equal(key, "pool-path")) {
		if (spec->pool_path) {
			line_error(error, path, line, "pool-path= given twice");
			return FALSE;
		}
		if (!g_path_is_absolute(value)) {
			line_error(error, path, line, "pool-path=%s: not an absolute path", value);
			return FALSE;
		}
		spec->pool_path = g_strdup(value);
	} else {
		line_error(error, path, line, "unknown key '%s' (jobs=, pool=, pool-path=)", key);
		return FALSE;
	}
	if (spec->pool && spec->pool_path) {
		line_error(error, path, line,
		           "pool= and pool-path= together (a named pool has its own folder)");
		return FALSE;
	}
	return TRUE;
}

/* One hosts file line (LEN bytes, known readable) as a KdhHostSpec, or
 * NULL: with ERROR set when it is wrong, unset when it holds no host. */
static KdhHostSpec *parse_line(const char *text, gsize len, const char *path, guint line,
                               GError **error)
{
	g_autofree char *copy = g_strndup(text, len);
	g_autoptr(KdhHostSpec) spec = NULL;
	g_autoptr(GUri) uri = NULL;
	g_autoptr(GError) uri_error = NULL;
	char *save = NULL;
	char *word;

	/* '#' starts a comment at the start of a word: a URI keeps its own. */
	for (char *at = copy; (at = strchr(at, '#')); at++) {
		if (at == copy || strchr(HOSTS_WHITESPACE, at[-1])) {
			*at = '\0';
			break;
		}
	}
	word = strtok_r(copy, HOSTS_WHITESPACE, &save);
	if (!word)
		return NULL;
	uri = g_uri_parse(word, G_URI_FLAGS_NONE, &uri_error);
	if (!uri || !g_uri_get_scheme(uri)) {
		line_error(error, path, line, "'%s' is not a libvirt URI: %s", word,
		           uri_error ? uri_error->message : "no scheme");
		return NULL;
	}
	spec = g_new0(KdhHostSpec, 1);
	spec->uri = g_strdup(word);
	while ((word = strtok_r(NULL, HOSTS_WHITESPACE, &save))) {
		if (!parse_option(spec, word, path, line, error))
			return NULL;
	}
	spec->where = g_strdup_printf("%s:%u", path, line);
	return g_steal_pointer(&spec);
}

/* kdh_hosts_parse over LEN bytes (a file read whole may hold NULs). */
static GPtrArray *hosts_parse_len(const char *text, gsize len, const char *path, GError **error)
{
	g_autoptr(GPtrArray) hosts =
	    g_ptr_array_new_with_free_func((GDestroyNotify)kdh_host_spec_free);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	const char *end = text + len;
	const char *at = text;
	guint line = 0;

	while (at < end) {
		const char *nl = memchr(at, '\n', end - at);
		gsize line_len = (nl ? nl : end) - at;
		const char *why = line_unreadable(at, line_len);
		KdhHostSpec *spec;
		GError *line_err = NULL;
		gpointer first;

		line++;
		if (why) {
			line_error(error, path, line, "%s", why);
			return NULL;
		}
		spec = parse_line(at, line_len, path, line, &line_err);
		if (line_err) {
			g_propagate_error(error, line_err);
			return NULL;
		}
		at = nl ? nl + 1 : end;
		if (!spec)
			continue;
		first = g_hash_table_lookup(seen, spec->uri);
		if (first) {
			line_error(error, path, line, "%s is already on line %u", spec->uri,
			           GPOINTER_TO_UINT(first));
			kdh_host_spec_free(spec);
			return NULL;
		}
		g_hash_table_insert(seen, spec->uri, GUINT_TO_POINTER(line));
		g_ptr_array_add(hosts, spec);
	}
	if (hosts->len == 0) {
		line_error(error, path, MAX(line, 1),
		           "no host (a line \"URI [jobs=N] [pool=NAME] [pool-path=/FOLDER]\")");
		return NULL;
	}
	return g_steal_pointer(&hosts);
}

GPtrArray *kdh_hosts_parse(const char *text, const char *path, GError **error)
{
	return hosts_parse_len(text, strlen(text), path, error);
}

GPtrArray *kdh_hosts_load(const char *path, GError **error)
{
	g_autofree char *text = g_malloc(HOSTS_FILE_MAX + 1);
	gsize len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;
	int saved;

	if (fd < 0) {
		saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s", path,
		            g_strerror(saved));
		return NULL;
	}
	/* Read at most one byte past the limit: a FIFO or /dev/zero named as
	 * the hosts file costs no more than a real one. */
	while (len <= HOSTS_FILE_MAX && (n = read(fd, text + len, HOSTS_FILE_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			close(fd);
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s",
			            path, g_strerror(saved));
			return NULL;
		}
		len += n;
	}
	close(fd);
	if (len > HOSTS_FILE_MAX) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
		            "%s: larger than 1 MiB, not a hosts file", path);
		return NULL;
	}
	return hosts_parse_len(text, len, path, error);
}

char *kdh_hosts_default_file(void)
{
	/* Read here, not through g_get_user_config_dir, which keeps the
	 * first answer for the life of the process.  A relative
	 * XDG_CONFIG_HOME is ignored, as the XDG specification says. */
	const char *config = g_getenv("XDG_CONFIG_HOME");

	if (config && g_path_is_absolute(config))
		return g_build_filename(config, "kdh", "hosts", NULL);
	return g_build_filename(g_get_home_dir(), ".config", "kdh", "hosts", NULL);
}

gboolean kdh_uri_is_remote(const char *uri)
{
	g_autoptr(GUri) u = g_uri_parse(uri, G_URI_FLAGS_NONE, NULL);
	const char *plus;
	const char *host;

	/* Not a URI: a libvirt alias (libvirt.conf's uri_aliases) may name
	 * any host, and files sent through libvirt reach a local one too. */
	if (!u)
		return TRUE;
	plus = strchr(g_uri_get_scheme(u), '+');
	if (plus && g_ascii_strcasecmp(plus, "+unix") != 0)
		return TRUE;
	host = g_uri_get_host(u);
	return host && *host;
}

char *kdh_uri_label(const char *uri)
{
	g_autoptr(GUri) u = g_uri_parse(uri, G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED, NULL);
	g_autofree char *cut = NULL;
	char *scheme_end, *authority_end, *at, *colon;

	if (u)
		return g_uri_to_string_partial(u, G_URI_HIDE_PASSWORD | G_URI_HIDE_QUERY |
		                                      G_URI_HIDE_FRAGMENT);
	/* Not a URI (an alias): the same cuts by hand. */
	cut = g_strndup(uri, strcspn(uri, "?#"));
	scheme_end = strstr(cut, "://");
	if (!scheme_end)
		return g_steal_pointer(&cut);
	scheme_end += 3;
	authority_end = scheme_end + strcspn(scheme_end, "/");
	at = g_strrstr_len(scheme_end, authority_end - scheme_end, "@");
	colon = at ? memchr(scheme_end, ':', at - scheme_end) : NULL;
	if (colon)
		memmove(colon, at, strlen(at) + 1);
	return g_steal_pointer(&cut);
}

static void libvirt_quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

/* *TOTAL and *AVAILABLE (bytes) from virNodeGetMemoryStats over all
 * cells; FALSE with libvirt's error left for the caller otherwise. */
static gboolean node_memory_stats(virConnectPtr conn, guint64 *total, guint64 *available)
{
	g_autofree virNodeMemoryStatsPtr stats = NULL;
	int nparams = 0;
	gboolean have_total = FALSE, have_free = FALSE;
	guint64 free_kib = 0, buffers = 0, cached = 0, total_kib = 0;

	if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &nparams, 0) < 0 ||
	    nparams <= 0 || nparams > 64)
		return FALSE;
	stats = g_new0(virNodeMemoryStats, nparams);
	if (virNodeGetMemoryStats(conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, stats, &nparams, 0) < 0)
		return FALSE;
	for (int i = 0; i < nparams; i++) {
		const char *field = stats[i].field;
		guint64 kib = stats[i].value;

		if (g_str_equal(field, VIR_NODE_MEMORY_STATS_TOTAL)) {
			total_kib = kib;
			have_total = TRUE;
		} else if (g_str_equal(field, VIR_NODE_MEMORY_STATS_FREE)) {
			free_kib = kib;
			have_free = TRUE;
		} else if (g_str_equal(field, VIR_NODE_MEMORY_STATS_BUFFERS)) {
			buffers = kib;
		} else if (g_str_equal(field, VIR_NODE_MEMORY_STATS_CACHED)) {
			cached = kib;
		}
	}
	if (!have_total || !have_free || total_kib > G_MAXUINT64 / 1024)
		return FALSE;
	*total = total_kib * 1024;
	*available = MIN((free_kib + buffers + cached) * 1024, *total);
	return TRUE;
}

gboolean kdh_node_capacity(const char *uri, KdhHostCapacity *out, GError **error)
{
	g_autofree char *label = kdh_uri_label(uri);
	virConnectPtr conn;
	virNodeInfo info;
	guint64 total = 0, available = 0;
	gboolean ok = FALSE;

	virSetErrorFunc(NULL, libvirt_quiet);
	conn = virConnectOpen(uri);
	if (!conn) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED, "%s: cannot connect: %s",
		            label, virGetLastErrorMessage());
		return FALSE;
	}
	if (virNodeGetInfo(conn, &info) < 0) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED, "%s: node info: %s", label,
		            virGetLastErrorMessage());
		goto out;
	}
	if (!node_memory_stats(conn, &total, &available)) {
		virErrorPtr err = virGetLastError();
		unsigned long long free_bytes;

		/* A driver without memory stats (libvirt's test driver): the
		 * node info's memory and virNodeGetFreeMemory's figure.  Only
		 * then: on a real host virNodeGetInfo's memory can be far from
		 * MemTotal (vm.h). */
		if (!err || err->code != VIR_ERR_NO_SUPPORT) {
			g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
			            "%s: memory stats: %s", label,
			            err ? err->message : "no total or free memory");
			goto out;
		}
		free_bytes = virNodeGetFreeMemory(conn);
		if (free_bytes == 0) {
			g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
			            "%s: neither memory stats nor free memory: %s", label,
			            virGetLastErrorMessage());
			goto out;
		}
		total = (guint64)info.memory * 1024;
		available = MIN((guint64)free_bytes, total);
	}
	if (info.cpus == 0 || total == 0) {
		g_set_error(error, KDH_VM_ERROR, KDH_VM_ERROR_FAILED,
		            "%s: libvirt reports %u CPUs and %" G_GUINT64_FORMAT " bytes of memory",
		            label, info.cpus, total);
		goto out;
	}
	out->cores = info.cpus;
	out->load = 0;
	out->mem_total = total;
	out->mem_available = available;
	ok = TRUE;
out:
	virConnectClose(conn);
	return ok;
}

/* Whether HOST, empty, could hold a VM of FOOTPRINT. */
static gboolean place_could_hold(const KdhPlaceHost *host, guint64 footprint)
{
	return !host->lost && host->slots > 0 && (host->budget == 0 || footprint <= host->budget);
}

int kdh_place(const KdhPlaceHost *hosts, guint n, guint64 footprint)
{
	int best = -1;
	gboolean ever = FALSE;

	for (guint i = 0; i < n; i++) {
		const KdhPlaceHost *h = &hosts[i];

		if (!place_could_hold(h, footprint))
			continue;
		ever = TRUE;
		if (h->running >= h->slots ||
		    (h->budget && (h->used > h->budget || footprint > h->budget - h->used)))
			continue;
		/* running/slots < best's, without division: both sides fit in
		 * 64 bits since each factor fits in 32. */
		if (best < 0 || (guint64)h->running * hosts[best].slots <
		                    (guint64)hosts[best].running * h->slots)
			best = (int)i;
	}
	if (best >= 0)
		return best;
	return ever ? KDH_PLACE_WAIT : KDH_PLACE_NEVER;
}

int kdh_place_largest(const KdhPlaceHost *hosts, guint n)
{
	int best = -1;

	for (guint i = 0; i < n; i++) {
		const KdhPlaceHost *h = &hosts[i];

		if (h->lost)
			continue;
		/* A budget of 0 is no limit: larger than any other. */
		if (best < 0 ||
		    (hosts[best].budget != 0 && (h->budget == 0 || h->budget > hosts[best].budget)))
			best = (int)i;
	}
	return best;
}
