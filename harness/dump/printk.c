/* The kernel log, read from the dump's memory with VMCOREINFO alone.
 *
 * Two layouts:
 *  - 5.10+: the lockless printk ringbuffer (kernel/printk/printk_ringbuffer.h):
 *    a descriptor ring (state + data block positions), a parallel ring of
 *    printk_info (timestamp, text length), and a text data ring whose
 *    blocks start with the descriptor id;
 *  - 3.5 to 5.9: one buffer of variable-length struct printk_log records
 *    (called struct log before 3.11), from log_first_idx to log_next_idx,
 *    a zero-length record marking the wrap to the start.
 * The output reproduces `makedumpfile --dump-dmesg` byte for byte, quirks
 * included (see render_record).
 *
 * The rings are read record by record through the page cache, never copied
 * whole: a hostile size field cannot make us allocate, and every index is
 * reduced modulo its ring before use.  Loops are bounded by the ring sizes.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "dump/dump_internal.h"

/* ---- output buffer ---- */

/* a growing text buffer; a failed allocation sets oom and drops the rest */
struct strbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void sb_append(struct strbuf *sb, const char *s, size_t n)
{
	if (sb->oom)
		return;
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 65536;
		while (cap < sb->len + n + 1)
			cap *= 2;
		char *bigger = realloc(sb->buf, cap);
		if (!bigger) {
			sb->oom = true;
			return;
		}
		sb->buf = bigger;
		sb->cap = cap;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = 0;
}

static void sb_putc(struct strbuf *sb, char c)
{
	if (sb->len + 2 <= sb->cap) {
		sb->buf[sb->len++] = c;
		sb->buf[sb->len] = 0;
		return;
	}
	sb_append(sb, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sb_append(sb, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- rendering, as makedumpfile does it ---- */

/* C-locale isprint()||isspace() for a byte 0..127 */
static bool printable(unsigned char c)
{
	return (c >= 0x20 && c <= 0x7e) || (c >= 0x09 && c <= 0x0d);
}

/* "[%5lld.%06ld] " of makedumpfile, by hand for the common case: this
 * runs once per record and snprintf was a visible share of a whole dmesg */
static int format_prefix(char *out, size_t cap, uint64_t ts_nsec)
{
	uint64_t sec = ts_nsec / 1000000000ull, usec = ts_nsec % 1000000000ull / 1000;
	char digits[24];
	int n = 0, w = 0;

	if (sec > 9999999999ull) /* makedumpfile's %lld of the same value */
		return snprintf(out, cap, "[%5lld.%06ld] ", (long long)sec, (long)usec);
	do
		digits[n++] = (char)('0' + sec % 10);
	while ((sec /= 10) != 0);
	out[w++] = '[';
	for (int pad = 5 - n; pad > 0; pad--)
		out[w++] = ' ';
	while (n > 0)
		out[w++] = digits[--n];
	out[w++] = '.';
	for (int k = 5; k >= 0; k--, usec /= 10)
		out[w + k] = (char)('0' + usec % 10);
	w += 6;
	out[w++] = ']';
	out[w++] = ' ';
	return w;
}

/* One record: the prefix, then the text; a newline inside the text is
 * followed by as many spaces as the prefix is long; other unprintable bytes
 * become \xNN.  makedumpfile formats a plain (signed) char there, so a byte
 * >= 0x80 prints as \xffffffNN: reproduced, since the output is compared
 * byte for byte with makedumpfile's.  Runs of plain text go in one copy. */
static void render_record(struct strbuf *sb, uint64_t ts_nsec, const uint8_t *text, size_t len)
{
	static const char spaces[64] =
	    "                                                               ";
	char prefix[64];
	int plen = format_prefix(prefix, sizeof(prefix), ts_nsec);
	size_t i = 0;

	sb_append(sb, prefix, (size_t)plen);
	while (i < len) {
		size_t j = i;
		while (j < len && text[j] != '\n' && printable(text[j]))
			j++;
		sb_append(sb, (const char *)text + i, j - i);
		if (j == len)
			break;
		if (text[j] == '\n') {
			sb_putc(sb, '\n');
			sb_append(sb, spaces, (size_t)plen < sizeof(spaces) ? (size_t)plen : 0);
			if ((size_t)plen >= sizeof(spaces))
				sb_printf(sb, "%-*s", plen, "");
		} else {
			char esc[16];
			int n = snprintf(esc, sizeof(esc), "\\x%02x", (int)(signed char)text[j]);
			sb_append(sb, esc, (size_t)n);
		}
		i = j + 1;
	}
	sb_putc(sb, '\n');
}

/* ---- VMCOREINFO layout ---- */

struct field {
	const char *key;
	uint64_t *val;
};

static dump_status need(dump_t *d, const struct field *f, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		dump_status st = dump_vmcoreinfo_u64(d, f[i].key, f[i].val);
		if (st != DUMP_OK)
			return derr_prefix(&d->err, st, "%s", what);
	}
	return DUMP_OK;
}

/* A field of SIZE bytes at OFF must lie within a structure of STRUCT_SIZE. */
static bool fits(uint64_t off, uint64_t size, uint64_t struct_size)
{
	return off <= struct_size && size <= struct_size - off;
}

/* A field at A + B (+ C), each from VMCOREINFO: the sum is checked before it
 * is formed, so a huge value cannot wrap around into the structure. */
static bool fits_at(uint64_t a, uint64_t b, uint64_t c, uint64_t size, uint64_t struct_size)
{
	uint64_t ab, abc;

	return add_ok(a, b, &ab) && add_ok(ab, c, &abc) && fits(abc, size, struct_size);
}

static uint64_t get_uint(const uint8_t *p, unsigned size)
{
	switch (size) {
	case 2:
		return le16(p);
	case 4:
		return le32(p);
	default:
		return le64(p);
	}
}

/* ---- lockless ringbuffer (5.10+) ---- */

#define DESC_FLAGS_SHIFT 62
#define DESC_ID_MASK     (~(3ull << DESC_FLAGS_SHIFT))
#define DESC_COMMITTED   1
#define DESC_FINALIZED   2
/* limits far above any kernel's (CONFIG_LOG_BUF_SHIFT <= 25, log_buf_len
 * <= 2 GiB) that keep a hostile layout from turning into absurd loops */
#define MAX_COUNT_BITS 28
#define MAX_SIZE_BITS  31
#define MAX_STRUCT     4096

struct prb {
	uint64_t descs, infos, data;             /* kernel-virtual arrays */
	uint64_t count, data_size;               /* ring sizes */
	uint64_t desc_size, info_size;           /* element sizes */
	uint64_t off_state, off_begin, off_next; /* within a descriptor */
	uint64_t off_ts, off_text_len;           /* within an info */
	uint64_t head, tail;
};

static dump_status prb_setup(dump_t *d, struct prb *r)
{
	uint64_t sym, sz_rb, o_desc_ring, o_text_ring, o_count_bits, o_descs, o_infos, o_head,
	    o_tail, o_state, o_text_blk, o_begin, o_next, o_ts, o_text_len, o_size_bits, o_data,
	    o_counter, sz_blk;
	const struct field f[] = {
	    {"SYMBOL(prb)", &sym},
	    {"SIZE(printk_ringbuffer)", &sz_rb},
	    {"OFFSET(printk_ringbuffer.desc_ring)", &o_desc_ring},
	    {"OFFSET(printk_ringbuffer.text_data_ring)", &o_text_ring},
	    {"OFFSET(prb_desc_ring.count_bits)", &o_count_bits},
	    {"OFFSET(prb_desc_ring.descs)", &o_descs},
	    {"OFFSET(prb_desc_ring.infos)", &o_infos},
	    {"OFFSET(prb_desc_ring.head_id)", &o_head},
	    {"OFFSET(prb_desc_ring.tail_id)", &o_tail},
	    {"SIZE(prb_desc)", &r->desc_size},
	    {"OFFSET(prb_desc.state_var)", &o_state},
	    {"OFFSET(prb_desc.text_blk_lpos)", &o_text_blk},
	    {"SIZE(prb_data_blk_lpos)", &sz_blk},
	    {"OFFSET(prb_data_blk_lpos.begin)", &o_begin},
	    {"OFFSET(prb_data_blk_lpos.next)", &o_next},
	    {"SIZE(printk_info)", &r->info_size},
	    {"OFFSET(printk_info.ts_nsec)", &o_ts},
	    {"OFFSET(printk_info.text_len)", &o_text_len},
	    {"OFFSET(prb_data_ring.size_bits)", &o_size_bits},
	    {"OFFSET(prb_data_ring.data)", &o_data},
	    {"OFFSET(atomic_long_t.counter)", &o_counter},
	};
	uint8_t rb[MAX_STRUCT], ptr[8];
	dump_status st;

	st = need(d, f, sizeof(f) / sizeof(f[0]), "printk ringbuffer layout");
	if (st != DUMP_OK)
		return st;
	/* every offset must land inside its structure, so reads of the
	 * copies below stay in bounds */
	if (sz_rb > MAX_STRUCT || r->desc_size > MAX_STRUCT || r->info_size > MAX_STRUCT ||
	    sz_blk > MAX_STRUCT || !fits(o_desc_ring, 0, sz_rb) || !fits(o_text_ring, 0, sz_rb) ||
	    !fits_at(o_desc_ring, o_count_bits, 0, 4, sz_rb) ||
	    !fits_at(o_desc_ring, o_descs, 0, 8, sz_rb) ||
	    !fits_at(o_desc_ring, o_infos, 0, 8, sz_rb) ||
	    !fits_at(o_desc_ring, o_head, o_counter, 8, sz_rb) ||
	    !fits_at(o_desc_ring, o_tail, o_counter, 8, sz_rb) ||
	    !fits_at(o_text_ring, o_size_bits, 0, 4, sz_rb) ||
	    !fits_at(o_text_ring, o_data, 0, 8, sz_rb) ||
	    !fits_at(o_state, o_counter, 0, 8, r->desc_size) || !fits(o_begin, 8, sz_blk) ||
	    !fits(o_next, 8, sz_blk) || !fits_at(o_text_blk, o_begin, 0, 8, r->desc_size) ||
	    !fits_at(o_text_blk, o_next, 0, 8, r->desc_size) || !fits(o_ts, 8, r->info_size) ||
	    !fits(o_text_len, 2, r->info_size))
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "printk ringbuffer layout in VMCOREINFO is inconsistent (a field "
		                "lies outside its structure)");
	st = dump_read_virt(d, sym, ptr, 8);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "reading prb");
	st = dump_read_virt(d, le64(ptr), rb, sz_rb);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "reading the printk_ringbuffer at 0x%" PRIx64,
		                   le64(ptr));
	uint32_t count_bits = le32(rb + o_desc_ring + o_count_bits);
	uint32_t size_bits = le32(rb + o_text_ring + o_size_bits);
	if (count_bits > MAX_COUNT_BITS || size_bits > MAX_SIZE_BITS || size_bits < 3)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "printk ringbuffer: count_bits %u, size_bits %u out of range",
		                count_bits, size_bits);
	r->count = 1ull << count_bits;
	r->data_size = 1ull << size_bits;
	r->descs = le64(rb + o_desc_ring + o_descs);
	r->infos = le64(rb + o_desc_ring + o_infos);
	r->data = le64(rb + o_text_ring + o_data);
	r->head = le64(rb + o_desc_ring + o_head + o_counter);
	r->tail = le64(rb + o_desc_ring + o_tail + o_counter);
	r->off_state = o_state + o_counter;
	r->off_begin = o_text_blk + o_begin;
	r->off_next = o_text_blk + o_next;
	r->off_ts = o_ts;
	r->off_text_len = o_text_len;
	return DUMP_OK;
}

static dump_status prb_record(dump_t *d, const struct prb *r, uint64_t id, struct strbuf *sb,
                              uint8_t *text)
{
	uint8_t desc[MAX_STRUCT], info[MAX_STRUCT];
	uint64_t slot = id % r->count, state, begin, next, ts;
	size_t text_len;
	dump_status st;

	st = dump_read_virt(d, r->descs + slot * r->desc_size, desc, r->desc_size);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "descriptor %" PRIu64, id);
	state = le64(desc + r->off_state);
	/* only records the writer finished; a stale slot has another id */
	if ((state & DESC_ID_MASK) != id)
		return DUMP_OK;
	if (state >> DESC_FLAGS_SHIFT != DESC_COMMITTED &&
	    state >> DESC_FLAGS_SHIFT != DESC_FINALIZED)
		return DUMP_OK;
	begin = le64(desc + r->off_begin) % r->data_size;
	next = le64(desc + r->off_next) % r->data_size;
	if (begin == next)
		return DUMP_OK; /* a record without text */
	st = dump_read_virt(d, r->infos + slot * r->info_size, info, r->info_size);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "printk_info %" PRIu64, id);
	text_len = le16(info + r->off_text_len);
	ts = le64(info + r->off_ts);
	/* a block that wraps is stored whole at the start of the ring */
	if (begin > next)
		begin = 0;
	begin += 8; /* the block starts with its descriptor id */
	/* text_len may exceed the block (a truncated message): the block wins.
	 * begin > next only for a block too small to hold its id, where the
	 * unsigned difference is huge and makedumpfile keeps text_len; we
	 * keep it too but never read past the ring. */
	if (next - begin < text_len)
		text_len = (size_t)(next - begin);
	if (begin + text_len > r->data_size)
		text_len = begin < r->data_size ? (size_t)(r->data_size - begin) : 0;
	st = dump_read_virt(d, r->data + begin, text, text_len);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "text of record %" PRIu64, id);
	render_record(sb, ts, text, text_len);
	return DUMP_OK;
}

static dump_status dmesg_lockless(dump_t *d, struct strbuf *sb)
{
	struct prb r;
	uint8_t *text;
	dump_status st = prb_setup(d, &r);

	if (st != DUMP_OK)
		return st;
	uint64_t span = (r.head - r.tail) & DESC_ID_MASK;
	/* tail..head never spans more than the ring; a larger span is a
	 * corrupt index and would otherwise loop ~2^62 times */
	if (span >= r.count)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "printk ringbuffer: tail id 0x%" PRIx64 " to head id 0x%" PRIx64
		                " spans more than the %" PRIu64 " descriptors",
		                r.tail, r.head, r.count);
	text = malloc(65536); /* text_len is 16 bits */
	if (!text)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "dmesg text");
	uint64_t id = r.tail & DESC_ID_MASK;
	for (uint64_t i = 0; i <= span && st == DUMP_OK; i++, id = (id + 1) & DESC_ID_MASK)
		st = prb_record(d, &r, id, sb, text);
	free(text);
	return st;
}

/* ---- variable-length log_buf (3.5 to 5.9) ---- */

static dump_status dmesg_logbuf(dump_t *d, struct strbuf *sb)
{
	const char *s =
	    dump_vmcoreinfo_raw(d, "SIZE(printk_log)", &(size_t){0}) ? "printk_log" : "log";
	char k_size[64], k_ts[64], k_len[64], k_text[64];
	uint64_t sym_buf, sym_len, sym_first, sym_next, rec_size, o_ts, o_len, o_text;
	uint8_t raw[8];
	dump_status st;

	snprintf(k_size, sizeof(k_size), "SIZE(%s)", s);
	snprintf(k_ts, sizeof(k_ts), "OFFSET(%s.ts_nsec)", s);
	snprintf(k_len, sizeof(k_len), "OFFSET(%s.len)", s);
	snprintf(k_text, sizeof(k_text), "OFFSET(%s.text_len)", s);
	const struct field f[] = {
	    {"SYMBOL(log_buf)", &sym_buf},
	    {"SYMBOL(log_buf_len)", &sym_len},
	    {"SYMBOL(log_first_idx)", &sym_first},
	    {"SYMBOL(log_next_idx)", &sym_next},
	    {k_size, &rec_size},
	    {k_ts, &o_ts},
	    {k_len, &o_len},
	    {k_text, &o_text},
	};
	st = need(d, f, sizeof(f) / sizeof(f[0]), "log_buf layout");
	if (st != DUMP_OK)
		return st;
	/* struct printk_log (struct log before 3.11) is 16 bytes; a smaller
	 * record size would let a hostile buffer take a step per byte */
	if (rec_size > MAX_STRUCT || rec_size < 16 || !fits(o_ts, 8, rec_size) ||
	    !fits(o_len, 2, rec_size) || !fits(o_text, 2, rec_size))
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "log_buf record layout in VMCOREINFO is inconsistent");
	uint64_t buf, len, first, next;
	if ((st = dump_read_virt(d, sym_buf, raw, 8)) != DUMP_OK)
		return derr_prefix(&d->err, st, "reading log_buf");
	buf = le64(raw);
	if ((st = dump_read_virt(d, sym_len, raw, 4)) != DUMP_OK)
		return derr_prefix(&d->err, st, "reading log_buf_len");
	len = le32(raw);
	if ((st = dump_read_virt(d, sym_first, raw, 4)) != DUMP_OK)
		return derr_prefix(&d->err, st, "reading log_first_idx");
	first = le32(raw);
	if ((st = dump_read_virt(d, sym_next, raw, 4)) != DUMP_OK)
		return derr_prefix(&d->err, st, "reading log_next_idx");
	next = le32(raw);
	if (len == 0 || len > (1ull << MAX_SIZE_BITS) || first >= len || next >= len)
		return derr_set(&d->err, DUMP_ERR_CORRUPT,
		                "log_buf: length %" PRIu64 ", first index %" PRIu64
		                ", next index %" PRIu64 " are inconsistent",
		                len, first, next);

	uint8_t rec[MAX_STRUCT];
	uint8_t *text = malloc(65536);
	if (!text)
		return derr_set(&d->err, DUMP_ERR_NOMEM, "dmesg text");
	/* each step advances by a record of at least rec_size bytes or wraps
	 * once: more steps than that means the chain is a cycle */
	uint64_t idx = first, steps = 0, max_steps = len / rec_size + 2;
	bool wrapped = false;
	while (idx != next) {
		if (++steps > max_steps) {
			st = derr_set(&d->err, DUMP_ERR_CORRUPT,
			              "log_buf: records from index %" PRIu64
			              " never reach log_next_idx %" PRIu64 " (a cycle)",
			              first, next);
			break;
		}
		if (idx + rec_size > len) {
			st = derr_set(&d->err, DUMP_ERR_CORRUPT,
			              "log_buf: record at index %" PRIu64 " overruns the buffer",
			              idx);
			break;
		}
		st = dump_read_virt(d, buf + idx, rec, rec_size);
		if (st != DUMP_OK) {
			derr_format_prefix(&d->err, "log_buf record at index %" PRIu64, idx);
			break;
		}
		uint64_t rlen = get_uint(rec + o_len, 2);
		if (rlen == 0) {
			/* the end-of-buffer marker: continue at the start */
			if (wrapped) {
				st = derr_set(&d->err, DUMP_ERR_CORRUPT,
				              "log_buf: second wrap marker at index %" PRIu64, idx);
				break;
			}
			wrapped = true;
			idx = 0;
			continue;
		}
		size_t text_len = get_uint(rec + o_text, 2);
		if (rlen < rec_size || idx + rlen > len || text_len > rlen - rec_size) {
			st = derr_set(&d->err, DUMP_ERR_CORRUPT,
			              "log_buf: record at index %" PRIu64 " has length %" PRIu64
			              " and text length %zu",
			              idx, rlen, text_len);
			break;
		}
		st = dump_read_virt(d, buf + idx + rec_size, text, text_len);
		if (st != DUMP_OK) {
			derr_format_prefix(&d->err, "log_buf text at index %" PRIu64, idx);
			break;
		}
		render_record(sb, le64(rec + o_ts), text, text_len);
		idx += rlen;
	}
	free(text);
	return st;
}

dump_status dump_dmesg(dump_t *d, char **text, size_t *len)
{
	struct strbuf sb = {0};
	dump_status st;

	if (!d->opened)
		return derr_set(&d->err, DUMP_ERR_IO, "no dump is open");
	if (dump_vmcoreinfo_raw(d, "SYMBOL(prb)", &(size_t){0}))
		st = dmesg_lockless(d, &sb);
	else if (dump_vmcoreinfo_raw(d, "SYMBOL(log_first_idx)", &(size_t){0}))
		st = dmesg_logbuf(d, &sb);
	else
		st = derr_set(&d->err, DUMP_ERR_UNSUPPORTED,
		              d->vmcoreinfo ? "VMCOREINFO describes no printk buffer this reader "
		                              "knows (before 3.5?)"
		                            : "the dump has no VMCOREINFO");
	if (st == DUMP_OK && sb.oom)
		st = derr_set(&d->err, DUMP_ERR_NOMEM, "dmesg text");
	if (st != DUMP_OK) {
		free(sb.buf);
		return derr_prefix(&d->err, st, "dmesg");
	}
	if (!sb.buf)
		sb_append(&sb, "", 0);
	if (sb.oom) {
		free(sb.buf);
		return derr_set(&d->err, DUMP_ERR_NOMEM, "dmesg text");
	}
	*text = sb.buf;
	*len = sb.len;
	return DUMP_OK;
}
