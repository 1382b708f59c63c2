/* Byte access to a dump file.
 *
 * makedumpfile -F writes its output as a stream of (offset, size, data)
 * records so it can go through a pipe; the file it describes is never on
 * disk.  Rather than rewriting the stream into that file first (what
 * `makedumpfile -R` does, doubling the disk space and the time), we index
 * the records once, seeking over their data, and serve every read from the
 * stream in place.  The index costs 24 bytes per record, independent of the
 * dump's memory size per record.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump/dump_internal.h"

#define FLAT_SIGNATURE   "makedumpfile"
#define FLAT_HEADER_SIZE 4096u /* the header is padded to this */
#define FLAT_REC_HDR     16u   /* big-endian int64 offset, int64 size */
#define FLAT_TYPE        1
#define FLAT_VERSION     1

dump_status io_open(struct dump_io *io, const char *path, struct dump_err *e)
{
	struct stat st;

	memset(io, 0, sizeof(*io));
	io->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (io->fd < 0)
		return derr_set(e, DUMP_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(io->fd, &st) < 0) {
		derr_format(e, "%s: %s", path, strerror(errno));
		close(io->fd);
		io->fd = -1;
		return DUMP_ERR_IO;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(io->fd);
		io->fd = -1;
		return derr_set(e, DUMP_ERR_IO, "%s: not a regular file or block device", path);
	}
	io->file_size = (uint64_t)st.st_size;
	/* a block device (a raw dump partition, as kdump's "raw" target
	 * writes) has no st_size: the kernel gives its size */
	if (S_ISBLK(st.st_mode) && ioctl(io->fd, BLKGETSIZE64, &io->file_size) < 0) {
		derr_format(e, "%s: size of the block device: %s", path, strerror(errno));
		close(io->fd);
		io->fd = -1;
		return DUMP_ERR_IO;
	}
	io->size = io->file_size;
	return DUMP_OK;
}

void io_close(struct dump_io *io)
{
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
	free(io->ext);
	io->ext = NULL;
	io->n_ext = 0;
}

/* pread of the file itself, retrying short reads */
static dump_status raw_pread(struct dump_io *io, uint64_t off, void *buf, size_t len,
                             struct dump_err *e)
{
	uint8_t *p = buf;
	uint64_t end;

	if (!add_ok(off, len, &end) || end > io->file_size)
		return derr_set(e, DUMP_ERR_CORRUPT,
		                "file offset 0x%llx+0x%zx is beyond the end of the file (0x%llx)",
		                (unsigned long long)off, len, (unsigned long long)io->file_size);
	while (len > 0) {
		ssize_t n = pread(io->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return derr_set(e, DUMP_ERR_IO, "reading file offset 0x%llx: %s",
			                (unsigned long long)off, strerror(errno));
		}
		if (n == 0)
			return derr_set(e, DUMP_ERR_IO,
			                "file offset 0x%llx: unexpected end of file",
			                (unsigned long long)off);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return DUMP_OK;
}

/* index of the extent containing OFF, or of the first one after it */
static size_t find_extent(struct dump_io *io, uint64_t off)
{
	size_t lo = 0, hi = io->n_ext;

	if (io->last_ext < io->n_ext) {
		const struct flat_extent *x = &io->ext[io->last_ext];
		if (off >= x->logical && off - x->logical < x->len)
			return io->last_ext;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct flat_extent *x = &io->ext[mid];
		if (x->logical + x->len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

dump_status io_pread(struct dump_io *io, uint64_t off, void *buf, size_t len, struct dump_err *e)
{
	uint8_t *p = buf;

	if (!io->flattened)
		return raw_pread(io, off, buf, len, e);
	while (len > 0) {
		size_t i = find_extent(io, off);
		if (i >= io->n_ext || io->ext[i].logical > off)
			return derr_set(
			    e, DUMP_ERR_CORRUPT,
			    "offset 0x%llx is not in any record of the flattened stream",
			    (unsigned long long)off);
		const struct flat_extent *x = &io->ext[i];
		uint64_t in = off - x->logical;
		size_t n = x->len - in < len ? (size_t)(x->len - in) : len;
		dump_status st = raw_pread(io, x->physical + in, p, n, e);
		if (st != DUMP_OK)
			return derr_prefix(e, st, "flattened record at 0x%llx",
			                   (unsigned long long)(x->physical - FLAT_REC_HDR));
		io->last_ext = i;
		p += n;
		off += n;
		len -= n;
	}
	return DUMP_OK;
}

uint64_t io_contiguous(struct dump_io *io, uint64_t off)
{
	if (!io->flattened)
		return off < io->size ? io->size - off : 0;
	size_t i = find_extent(io, off);
	if (i >= io->n_ext || io->ext[i].logical > off)
		return 0;
	uint64_t end = io->ext[i].logical + io->ext[i].len;
	/* neighbouring records that were not merged (not adjacent in the
	 * stream) still make one readable range */
	while (++i < io->n_ext && io->ext[i].logical == end)
		end += io->ext[i].len;
	return end - off;
}

uint64_t io_next_data(struct dump_io *io, uint64_t off)
{
	if (!io->flattened)
		return off;
	size_t i = find_extent(io, off);
	if (i >= io->n_ext)
		return io->size;
	return io->ext[i].logical > off ? io->ext[i].logical : off;
}

/* ---- flattened index ---- */

struct flat_rec {
	uint64_t logical, len, physical, seq;
};

static int cmp_rec(const void *a, const void *b)
{
	const struct flat_rec *x = a, *y = b;
	if (x->logical != y->logical)
		return x->logical < y->logical ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* max-heap of records by seq, for resolving overlaps */
static void heap_push(struct flat_rec **h, size_t *n, struct flat_rec *r)
{
	size_t i = (*n)++;
	h[i] = r;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h[parent]->seq >= h[i]->seq)
			break;
		struct flat_rec *t = h[parent];
		h[parent] = h[i];
		h[i] = t;
		i = parent;
	}
}

static void heap_pop(struct flat_rec **h, size_t *n)
{
	size_t i = 0;
	h[0] = h[--(*n)];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < *n && h[l]->seq > h[m]->seq)
			m = l;
		if (r < *n && h[r]->seq > h[m]->seq)
			m = r;
		if (m == i)
			break;
		struct flat_rec *t = h[m];
		h[m] = h[i];
		h[i] = t;
		i = m;
	}
}

/* Appends an extent, merged with the last one when they continue each other
 * in both the logical and the stream offsets.  The caller sized io->ext for
 * the worst case (2n-1 extents of n records), so this cannot fail. */
static void emit(struct dump_io *io, uint64_t logical, uint64_t len, uint64_t physical)
{
	if (io->n_ext > 0) {
		struct flat_extent *last = &io->ext[io->n_ext - 1];
		if (last->logical + last->len == logical &&
		    last->physical + last->len == physical) {
			last->len += len;
			return;
		}
	}
	io->ext[io->n_ext++] = (struct flat_extent){logical, len, physical};
}

/* Turns records (sorted by logical offset, then stream order) into
 * non-overlapping extents.  makedumpfile may write a range twice (a header
 * rewritten at the end); the later record wins, as it would have on disk.
 * A sweep over the record boundaries with a heap keeps this O(n log n) even
 * for hostile streams made of nothing but overlaps. */
static dump_status resolve_overlaps(struct dump_io *io, struct flat_rec *rec, size_t n,
                                    struct dump_err *e)
{
	bool overlap = false;

	for (size_t i = 1; i < n; i++)
		if (rec[i].logical < rec[i - 1].logical + rec[i - 1].len)
			overlap = true;
	/* at most 2n-1 extents come out of n records */
	io->ext = calloc(n ? 2 * n : 1, sizeof(*io->ext));
	if (!io->ext)
		return derr_set(e, DUMP_ERR_NOMEM, "flattened index of %zu records", n);
	if (!overlap) {
		for (size_t i = 0; i < n; i++)
			emit(io, rec[i].logical, rec[i].len, rec[i].physical);
		return DUMP_OK;
	}

	uint64_t *pts = malloc(2 * n * sizeof(*pts));
	struct flat_rec **heap = calloc(n ? n : 1, sizeof(struct flat_rec *));
	if (!pts || !heap) {
		free(pts);
		free(heap);
		return derr_set(e, DUMP_ERR_NOMEM, "flattened index of %zu records", n);
	}
	size_t np = 0, nh = 0, next = 0;
	for (size_t i = 0; i < n; i++) {
		pts[np++] = rec[i].logical;
		pts[np++] = rec[i].logical + rec[i].len;
	}
	qsort(pts, np, sizeof(*pts), cmp_u64);
	for (size_t k = 0; k + 1 < np; k++) {
		uint64_t p = pts[k], q = pts[k + 1];
		if (p == q)
			continue;
		while (next < n && rec[next].logical <= p)
			heap_push(heap, &nh, &rec[next++]);
		while (nh > 0 && heap[0]->logical + heap[0]->len <= p)
			heap_pop(heap, &nh);
		if (nh > 0)
			emit(io, p, q - p, heap[0]->physical + (p - heap[0]->logical));
	}
	free(pts);
	free(heap);
	return DUMP_OK;
}

dump_status io_probe_flattened(struct dump_io *io, struct dump_err *e)
{
	uint8_t hdr[32];
	dump_status st;

	if (io->file_size < FLAT_HEADER_SIZE)
		return DUMP_ERR_FORMAT;
	st = raw_pread(io, 0, hdr, sizeof(hdr), e);
	if (st != DUMP_OK)
		return st;
	if (memcmp(hdr, FLAT_SIGNATURE, sizeof(FLAT_SIGNATURE)) != 0)
		return DUMP_ERR_FORMAT;
	if (be64(hdr + 16) != FLAT_TYPE)
		return derr_set(e, DUMP_ERR_UNSUPPORTED,
		                "flattened header: type %lld (expected %d)",
		                (long long)be64(hdr + 16), FLAT_TYPE);
	if (be64(hdr + 24) != FLAT_VERSION)
		return derr_set(e, DUMP_ERR_UNSUPPORTED,
		                "flattened header: version %lld (expected %d)",
		                (long long)be64(hdr + 24), FLAT_VERSION);

	/* Every record takes at least its 16-byte header, so the file size
	 * bounds the record count: the array cannot be made to grow beyond
	 * what the file justifies. */
	size_t cap = 64, n = 0;
	struct flat_rec *rec = malloc(cap * sizeof(*rec));
	uint64_t pos = FLAT_HEADER_SIZE, end_logical = 0;
	bool ended = false;

	if (!rec)
		return derr_set(e, DUMP_ERR_NOMEM, "flattened index");
	while (pos + FLAT_REC_HDR <= io->file_size) {
		uint8_t rh[FLAT_REC_HDR];
		st = raw_pread(io, pos, rh, sizeof(rh), e);
		if (st != DUMP_OK)
			goto fail;
		int64_t off = (int64_t)be64(rh), size = (int64_t)be64(rh + 8);
		if (off == -1 && size == -1) {
			ended = true;
			break;
		}
		uint64_t data_end, log_end;
		if (off < 0 || size < 0 || !add_ok(pos + FLAT_REC_HDR, (uint64_t)size, &data_end) ||
		    data_end > io->file_size || !add_ok((uint64_t)off, (uint64_t)size, &log_end)) {
			st = derr_set(
			    e, DUMP_ERR_CORRUPT,
			    "flattened record at file offset 0x%llx: offset %lld size %lld "
			    "do not fit the file (0x%llx bytes)",
			    (unsigned long long)pos, (long long)off, (long long)size,
			    (unsigned long long)io->file_size);
			goto fail;
		}
		if (size > 0) {
			if (n == cap) {
				struct flat_rec *bigger = realloc(rec, 2 * cap * sizeof(*rec));
				if (!bigger) {
					st = derr_set(e, DUMP_ERR_NOMEM, "flattened index");
					goto fail;
				}
				rec = bigger;
				cap *= 2;
			}
			rec[n] =
			    (struct flat_rec){(uint64_t)off, (uint64_t)size, pos + FLAT_REC_HDR, n};
			n++;
			if (log_end > end_logical)
				end_logical = log_end;
		}
		pos = data_end;
	}
	/* A stream cut short (a full disk, a killed pipe) still indexes what
	 * it holds; verify reports the missing end marker. */
	io->flat_unterminated = !ended;
	qsort(rec, n, sizeof(*rec), cmp_rec);
	st = resolve_overlaps(io, rec, n, e);
	if (st != DUMP_OK)
		goto fail;
	free(rec);
	io->flattened = true;
	io->size = end_logical;
	io->last_ext = 0;
	return DUMP_OK;
fail:
	free(rec);
	free(io->ext);
	io->ext = NULL;
	io->n_ext = 0;
	return st;
}
