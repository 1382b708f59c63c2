/* A scenario file as text: read with bounds, checked to be text, comments
 * removed by one rule before GKeyFile sees it. */
#include "scenario/internal.h"
#include "scenario/scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

gboolean scenario_check_text(const char *name, const char *text, gsize len, GError **error)
{
	const char *end = text + len, *bad = NULL, *p;
	guint line = 1;

	/* g_utf8_validate also stops at a NUL byte. */
	if (!g_utf8_validate(text, len, &bad))
		end = bad;
	else
		bad = NULL;
	for (p = text; p < end; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (g_unichar_iscntrl(c) && c != '\t' && c != '\n' && c != '\r') {
			bad = p;
			break;
		}
	}
	if (!bad)
		return TRUE;
	for (p = text; p < bad; p++)
		line += *p == '\n';
	g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_IO,
	            "%s:%u: not a text file (byte 0x%02x at offset %td)", name, line, (guchar)*bad,
	            bad - text);
	return FALSE;
}

char *scenario_read_file(const char *path, GError **error)
{
	/* O_NONBLOCK: a FIFO named by mistake must not hang the run. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	g_autofree char *text = NULL;
	const char *why = NULL;
	struct stat st;
	gsize len = 0;
	ssize_t n;

	if (fd < 0) {
		int saved = errno;
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_IO, "%s: %s", path,
		            g_strerror(saved));
		return NULL;
	}
	if (fstat(fd, &st) != 0)
		why = g_strerror(errno);
	else if (S_ISDIR(st.st_mode))
		why = "is a directory";
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	if (why) {
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_IO, "%s: %s", path, why);
		close(fd);
		return NULL;
	}
	/* One byte more than allowed, to see a file that is too large (or grew
	 * after fstat). */
	text = g_malloc(SCENARIO_MAX_BYTES + 2);
	while (len <= SCENARIO_MAX_BYTES &&
	       (n = read(fd, text + len, SCENARIO_MAX_BYTES + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_IO,
			            "%s: reading: %s", path, g_strerror(saved));
			close(fd);
			return NULL;
		}
		len += n;
	}
	close(fd);
	if (len > SCENARIO_MAX_BYTES) {
		/* The line the limit falls in: where the file stops being read. */
		guint line = 1;
		for (gsize i = 0; i < SCENARIO_MAX_BYTES; i++)
			line += text[i] == '\n';
		g_set_error(error, KDH_SCENARIO_ERROR, KDH_SCENARIO_ERROR_IO,
		            "%s:%u: larger than a scenario file may be (%" G_GSIZE_FORMAT " bytes)",
		            path, line, SCENARIO_MAX_BYTES);
		return NULL;
	}
	text[len] = '\0';
	if (!scenario_check_text(path, text, len, error))
		return NULL;
	return g_steal_pointer(&text);
}

/* Where an inline comment starts in LINE: the first '#' after a blank. */
static char *inline_comment(char *line)
{
	for (char *hash = strchr(line, '#'); hash; hash = strchr(hash + 1, '#')) {
		if (hash > line && (hash[-1] == ' ' || hash[-1] == '\t'))
			return hash;
	}
	return NULL;
}

char *scenario_strip_comments(const char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (char **l = lines; *l; l++) {
		char *line = g_strstrip(*l), *hash;
		if (*line == '#' || *line == ';') {
			*line = '\0';
		} else if ((hash = inline_comment(line))) {
			*hash = '\0';
			g_strchomp(line);
		}
		/* g_strstrip moved the text to the start of the buffer. */
	}
	return g_strjoinv("\n", lines);
}

char *kdh_scenario_read_text(const char *path, GError **error)
{
	g_autofree char *text = scenario_read_file(path, error);

	return text ? scenario_strip_comments(text) : NULL;
}
