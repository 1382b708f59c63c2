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

/* The most rotated parts read before the log itself (virtlogd keeps
 * max_backups, 3 by default). */
#define ROTATED_MAX 9

/* The log as virtlogd leaves it after rotating: PATH.N (oldest) ...
 * PATH.0, PATH, read as one stream. */
typedef struct {
	int fd[ROTATED_MAX + 2];
	goffset size[ROTATED_MAX + 2];
	char *name[ROTATED_MAX + 2];
	guint n;
	goffset total;
} Parts;

static void parts_clear(Parts *p)
{
	for (guint i = 0; i < p->n; i++) {
		close(p->fd[i]);
		g_free(p->name[i]);
	}
	p->n = 0;
}

/* Adds NAME (taken) when it is a regular file; MISSING_OK: no error when
 * it is not there at all. */
static gboolean parts_add(Parts *p, char *name, gboolean missing_ok, GError **error)
{
	g_autofree char *owned = name;
	struct stat st;
	int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		if (missing_ok && errno == ENOENT)
			return TRUE;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "opening %s: %s",
		            name, g_strerror(errno));
		return FALSE;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s is not a regular file",
		            name);
		return FALSE;
	}
	p->fd[p->n] = fd;
	p->size[p->n] = st.st_size;
	p->name[p->n++] = g_steal_pointer(&owned);
	p->total += st.st_size;
	return TRUE;
}

/* Reads LEN bytes at OFFSET of the stream P into BUF. */
static gboolean parts_read(const Parts *p, goffset offset, char *buf, gsize len, GError **error)
{
	gsize done = 0;

	for (guint i = 0; i < p->n && done < len; i++) {
		if (offset >= p->size[i]) {
			offset -= p->size[i];
			continue;
		}
		while (done < len && offset < p->size[i]) {
			gsize want = MIN(len - done, (gsize)(p->size[i] - offset));
			ssize_t n = pread(p->fd[i], buf + done, want, offset);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				g_set_error(error, G_FILE_ERROR,
				            n < 0 ? g_file_error_from_errno(errno)
				                  : G_FILE_ERROR_IO,
				            "reading %s: %s", p->name[i],
				            n < 0 ? g_strerror(errno) : "file shrank");
				return FALSE;
			}
			done += (gsize)n;
			offset += n;
		}
		offset = 0;
	}
	if (done < len) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "reading %s: file shrank",
		            p->n ? p->name[p->n - 1] : "the serial log");
		return FALSE;
	}
	return TRUE;
}

KdhSerialLog *kdh_serial_log_read(const char *path, GError **error)
{
	Parts parts = {.n = 0};
	g_autofree char *head = NULL, *tail = NULL;
	gsize head_len, tail_len = 0;
	KdhSerialLog *log = NULL;
	gboolean ok = TRUE;

	for (int i = ROTATED_MAX; i >= 0 && ok; i--)
		ok = parts_add(&parts, g_strdup_printf("%s.%d", path, i), TRUE, error);
	if (!ok || !parts_add(&parts, g_strdup(path), FALSE, error))
		goto out;
	head_len = MIN((guint64)parts.total, KDH_SERIAL_LOG_READ_MAX);
	if ((guint64)parts.total > KDH_SERIAL_LOG_READ_MAX) {
		head_len = KDH_SERIAL_LOG_READ_MAX / 2;
		tail_len = KDH_SERIAL_LOG_READ_MAX / 2;
	}
	head = g_malloc(head_len + 1);
	if (!parts_read(&parts, 0, head, head_len, error))
		goto out;
	if (tail_len) {
		tail = g_malloc(tail_len + 1);
		if (!parts_read(&parts, parts.total - (goffset)tail_len, tail, tail_len, error))
			goto out;
	}
	log = kdh_serial_log_parse(head, head_len, tail, tail_len);
out:
	parts_clear(&parts);
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
