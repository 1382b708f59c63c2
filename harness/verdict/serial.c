/* A case's console log, read once for the diagnosis and the warnings: the
 * guest wrote every byte of it, so the read is bounded (its head and its
 * tail when it is larger), each line is made text and capped, and the line
 * where the capture kernel starts is found once for both readers. */
#include "verdict/verdict.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The boot banner every kernel prints first ("[    0.000000] Linux version
 * 6.1.0-56-amd64 ..."): the second one in a log is the capture kernel's. */
#define BANNER "] Linux version "
/* The mini guest's first words in the capture kernel, for a log whose
 * banner was lost (a log cut in the middle). */
#define CAPTURE_MARKER "KDH: capture-start"

void kdh_serial_log_free(KdhSerialLog *log)
{
	if (!log)
		return;
	g_ptr_array_unref(log->lines);
	g_array_unref(log->numbers);
	g_free(log);
}

static void add_lines(KdhSerialLog *log, const char *bytes, gsize len, guint first_number)
{
	const char *p = bytes, *end = bytes + len;
	guint number = first_number;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *stop = nl ? nl : end;
		gsize n = stop - p;

		if (n && p[n - 1] == '\r')
			n--;
		g_ptr_array_add(log->lines, kdh_guest_text(p, n, KDH_SERIAL_LOG_LINE_MAX));
		g_array_append_val(log->numbers, number);
		if (number)
			number++;
		p = nl ? nl + 1 : end;
	}
}

/* The capture kernel's first line: the second banner, else the capture
 * marker; LEN when neither is there. */
static guint capture_start(const KdhSerialLog *log)
{
	gboolean banner_seen = FALSE;

	for (guint i = 0; i < log->lines->len; i++) {
		if (strstr(g_ptr_array_index(log->lines, i), BANNER)) {
			if (banner_seen)
				return i;
			banner_seen = TRUE;
		}
	}
	for (guint i = 0; i < log->lines->len; i++) {
		if (strstr(g_ptr_array_index(log->lines, i), CAPTURE_MARKER))
			return i;
	}
	return log->lines->len;
}

KdhSerialLog *kdh_serial_log_parse(const char *head, gsize head_len, const char *tail,
                                   gsize tail_len)
{
	KdhSerialLog *log = g_new0(KdhSerialLog, 1);

	log->lines = g_ptr_array_new_with_free_func(g_free);
	log->numbers = g_array_new(FALSE, FALSE, sizeof(guint));
	add_lines(log, head, head_len, 1);
	if (tail) {
		/* The head's last line may have been cut by the bound, and the
		 * tail's first one is a piece of a line: the tail starts after
		 * its first newline, its lines unnumbered (the middle was not
		 * counted). */
		const char *nl = memchr(tail, '\n', tail_len);
		log->cut = TRUE;
		if (nl)
			add_lines(log, nl + 1, tail_len - (nl + 1 - tail), 0);
	}
	log->capture_from = capture_start(log);
	return log;
}

static gboolean read_at(int fd, goffset offset, char *buf, gsize len, GError **error,
                        const char *path)
{
	gsize done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, offset + (goffset)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(error, G_FILE_ERROR,
			            n < 0 ? g_file_error_from_errno(errno) : G_FILE_ERROR_IO,
			            "reading %s: %s", path,
			            n < 0 ? g_strerror(errno) : "file shrank");
			return FALSE;
		}
		done += (gsize)n;
	}
	return TRUE;
}

/* The files of one console: virtlogd's rotated ones, oldest first
 * (serial.log.K ... serial.log.0), then serial.log itself. */
#define ROTATED_MAX 10

typedef struct {
	int fd;
	goffset size;
	char *path;
} Part;

/* Opens PATH into PART when it is a regular file (never through a link);
 * FALSE with an error otherwise. */
static gboolean part_open(Part *part, char *path, GError **error)
{
	struct stat st;

	part->path = path;
	part->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (part->fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "opening %s: %s",
		            path, g_strerror(errno));
		return FALSE;
	}
	if (fstat(part->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s is not a regular file",
		            path);
		return FALSE;
	}
	part->size = st.st_size;
	return TRUE;
}

/* LEN bytes at OFFSET of the N files read as one. */
static gboolean chain_read(const Part *parts, guint n, goffset offset, char *buf, gsize len,
                           GError **error)
{
	for (guint i = 0; i < n && len; i++) {
		if (offset >= parts[i].size) {
			offset -= parts[i].size;
			continue;
		}
		gsize take = (gsize)MIN((goffset)len, parts[i].size - offset);
		if (!read_at(parts[i].fd, offset, buf, take, error, parts[i].path))
			return FALSE;
		buf += take;
		len -= take;
		offset = 0;
	}
	return TRUE;
}

KdhSerialLog *kdh_serial_log_read(const char *path, GError **error)
{
	Part parts[ROTATED_MAX + 1];
	guint n = 0;
	goffset total = 0;
	g_autofree char *head = NULL, *tail = NULL;
	gsize head_len, tail_len = 0;
	KdhSerialLog *log = NULL;
	struct stat st;

	/* What virtlogd rotated away comes first, so a console larger than
	 * its max_size reads as one from its first kept line. */
	for (int k = ROTATED_MAX - 1; k >= 0; k--) {
		g_autofree char *old = g_strdup_printf("%s.%d", path, k);
		if (lstat(old, &st) != 0)
			continue;
		if (!part_open(&parts[n++], g_steal_pointer(&old), error))
			goto out;
	}
	if (!part_open(&parts[n++], g_strdup(path), error))
		goto out;
	for (guint i = 0; i < n; i++)
		total += parts[i].size;
	head_len = (gsize)MIN((guint64)total, KDH_SERIAL_LOG_READ_MAX);
	if ((guint64)total > KDH_SERIAL_LOG_READ_MAX) {
		head_len = KDH_SERIAL_LOG_READ_MAX / 2;
		tail_len = KDH_SERIAL_LOG_READ_MAX / 2;
	}
	head = g_malloc(head_len + 1);
	if (!chain_read(parts, n, 0, head, head_len, error))
		goto out;
	if (tail_len) {
		tail = g_malloc(tail_len + 1);
		if (!chain_read(parts, n, total - (goffset)tail_len, tail, tail_len, error))
			goto out;
	}
	log = kdh_serial_log_parse(head, head_len, tail, tail_len);
out:
	for (guint i = 0; i < n; i++) {
		if (parts[i].fd >= 0)
			close(parts[i].fd);
		g_free(parts[i].path);
	}
	return log;
}

const char *kdh_serial_log_line(const KdhSerialLog *log, guint i)
{
	return g_ptr_array_index(log->lines, i);
}

guint kdh_serial_log_number(const KdhSerialLog *log, guint i)
{
	return g_array_index(log->numbers, guint, i);
}
