/* The dump context: probe-then-open over the format tables, VMCOREINFO,
 * a small page cache, and physical / kernel-virtual reads. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "dump/dump_internal.h"

static const struct dump_format *const formats[] = {
    &dump_format_diskdump,
    &dump_format_elf,
};

/* ---- errors ---- */

void derr_format(struct dump_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

void derr_format_prefix(struct dump_err *e, const char *fmt, ...)
{
	char inner[sizeof(e->msg)];
	size_t n, cap = sizeof(e->msg);
	va_list ap;
	int w;

	memcpy(inner, e->msg, sizeof(inner));
	va_start(ap, fmt);
	w = vsnprintf(e->msg, cap, fmt, ap);
	va_end(ap);
	n = w < 0 ? 0 : (size_t)w < cap ? (size_t)w : cap - 1;
	/* outer first, then the inner reason; truncated at the buffer's end */
	if (inner[0] && n + 2 < cap) {
		memcpy(e->msg + n, ": ", 2);
		n += 2;
		size_t k = strnlen(inner, sizeof(inner));
		if (k > cap - 1 - n)
			k = cap - 1 - n;
		memcpy(e->msg + n, inner, k);
		n += k;
	}
	e->msg[n] = 0;
}

/* ---- life cycle ---- */

dump_t *dump_new(void)
{
	dump_t *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->io.fd = -1;
	d->dump_level = -1;
	d->crash_time = -1;
	d->header_cpus = -1;
	d->compression = "none";
	return d;
}

void dump_free(dump_t *d)
{
	if (!d)
		return;
	if (d->fmt && d->fmt->cleanup)
		d->fmt->cleanup(d);
	io_close(&d->io);
	free(d->vmcoreinfo);
	free(d->cpus);
	free(d->cache_mem);
	free(d->scratch);
	free(d->kv_scratch);
#ifdef KDH_DUMP_TEST_HOOKS
	free(d->raw_notes);
#endif
	free(d);
}

const char *dump_error(const dump_t *d)
{
	return d ? d->err.msg : "";
}

bool dump_set_page_size(dump_t *d, uint64_t size, const char *where)
{
	if (size < 1024 || size > 65536 || (size & (size - 1))) {
		derr_format(&d->err,
		            "%s: page size %" PRIu64 " is not a power of two "
		            "between 1 KiB and 64 KiB",
		            where, size);
		return false;
	}
	d->page_size = (uint32_t)size;
	d->page_shift = (unsigned)__builtin_ctzll(size);
	return true;
}

dump_status dump_open(dump_t *d, const char *path)
{
	/* enough for every probe (ELF ident, KDUMP signature); a flattened
	 * stream's first record may be no longer than its header */
	uint8_t head[64];
	size_t got;
	dump_status st;

	if (d->opened || d->io.fd >= 0)
		return derr_set(&d->err, DUMP_ERR_IO, "%s: context already used", path);
	d->err.msg[0] = 0;
	st = io_open(&d->io, path, &d->err);
	if (st != DUMP_OK)
		return st;
	st = io_probe_flattened(&d->io, &d->err);
	if (st != DUMP_OK && st != DUMP_ERR_FORMAT)
		return derr_prefix(&d->err, st, "%s", path);
	got = d->io.size < sizeof(head) ? (size_t)d->io.size : sizeof(head);
	st = io_pread(&d->io, 0, head, got, &d->err);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "%s", path);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (!formats[i]->probe(head, got))
			continue;
		d->fmt = formats[i];
		st = d->fmt->open(d);
		if (st != DUMP_OK)
			return derr_prefix(&d->err, st, "%s: %s", path, d->fmt->name);
		if (!d->page_size && !dump_set_page_size(d, 4096, "default"))
			return DUMP_ERR_CORRUPT;
		d->scratch = malloc(d->page_size);
		d->cache_mem = malloc((size_t)d->page_size * PAGE_CACHE_SLOTS);
		if (!d->scratch || !d->cache_mem)
			return derr_set(&d->err, DUMP_ERR_NOMEM, "%s: page cache", path);
		for (int k = 0; k < PAGE_CACHE_SLOTS; k++)
			d->cache[k].data = d->cache_mem + (size_t)k * d->page_size;
		d->opened = true;
		return DUMP_OK;
	}
	return derr_set(&d->err, DUMP_ERR_FORMAT,
	                "%s: not a kdump-compressed, flattened or ELF64 vmcore", path);
}

dump_status dump_open_parts(dump_t *d, const char *const *paths, size_t n)
{
	dump_status st;

	if (n == 0)
		return derr_set(&d->err, DUMP_ERR_IO, "no file given");
	st = dump_open(d, paths[0]);
	for (size_t i = 1; i < n && st == DUMP_OK; i++)
		st = diskdump_attach_part(d, paths[i]);
	if (st != DUMP_OK) {
		d->opened = false;
		return st;
	}
	/* pages read before a part was attached may now read differently */
	for (int k = 0; k < PAGE_CACHE_SLOTS; k++)
		d->cache[k].valid = false;
	return DUMP_OK;
}

/* ---- VMCOREINFO ---- */

const char *dump_vmcoreinfo_raw(const dump_t *d, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = d->vmcoreinfo, *end;

	if (!p)
		return NULL;
	end = p + d->vmcoreinfo_len;
	/* KEY=VALUE lines; a key matches only at the start of a line */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		if ((size_t)(line_end - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
			*len = (size_t)(line_end - p - (ptrdiff_t)klen - 1);
			return p + klen + 1;
		}
		p = line_end + 1;
	}
	return NULL;
}

const char *dump_vmcoreinfo(dump_t *d, const char *key)
{
	size_t len;
	const char *v = dump_vmcoreinfo_raw(d, key, &len);
	char *copy;

	if (!v)
		return NULL;
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, v, len);
	copy[len] = 0;
	free(d->kv_scratch);
	d->kv_scratch = copy;
	return copy;
}

dump_status dump_vmcoreinfo_u64(dump_t *d, const char *key, uint64_t *val)
{
	size_t len;
	const char *v = dump_vmcoreinfo_raw(d, key, &len);
	char buf[32];
	char *endp;
	int base;

	if (!v)
		return derr_set(&d->err, DUMP_ERR_NOTFOUND, "VMCOREINFO has no %s", key);
	if (len == 0 || len >= sizeof(buf))
		return derr_set(&d->err, DUMP_ERR_CORRUPT, "VMCOREINFO %s: bad value", key);
	memcpy(buf, v, len);
	buf[len] = 0;
	/* The kernel prints SYMBOL() and KERNELOFFSET in hex without a 0x,
	 * everything else (NUMBER, SIZE, OFFSET, LENGTH, PAGESIZE) in decimal.
	 * Only a NUMBER() may be negative: a negative offset or size would
	 * become a huge one, so it is refused here, where the text is read. */
	base = (strncmp(key, "SYMBOL(", 7) == 0 || strcmp(key, "KERNELOFFSET") == 0) ? 16 : 10;
	bool negative = buf[0] == '-';
	const char *digits = negative ? buf + 1 : buf;
	if (negative && strncmp(key, "NUMBER(", 7) != 0)
		return derr_set(&d->err, DUMP_ERR_CORRUPT, "VMCOREINFO %s: negative value '%s'",
		                key, buf);
	/* strtoull itself would take leading blanks, a sign, or "-" again */
	if (!(base == 16 ? isxdigit((unsigned char)digits[0]) : isdigit((unsigned char)digits[0])))
		return derr_set(&d->err, DUMP_ERR_CORRUPT, "VMCOREINFO %s: bad value '%s'", key,
		                buf);
	errno = 0;
	if (negative) {
		long long s = strtoll(buf, &endp, base);
		*val = (uint64_t)s;
	} else {
		*val = strtoull(buf, &endp, base);
	}
	if (errno || *endp)
		return derr_set(&d->err, DUMP_ERR_CORRUPT, "VMCOREINFO %s: bad value '%s'", key,
		                buf);
	return DUMP_OK;
}

const char *dump_vmcoreinfo_text(const dump_t *d, size_t *len)
{
	*len = d->vmcoreinfo ? d->vmcoreinfo_len : 0;
	return d->vmcoreinfo;
}

/* ---- CPUs ---- */

unsigned dump_cpu_count(const dump_t *d)
{
	return d->n_cpus;
}

dump_status dump_cpu(const dump_t *d, unsigned i, dump_cpu_regs *out)
{
	if (i >= d->n_cpus)
		return DUMP_ERR_NOTFOUND;
	*out = d->cpus[i];
	return DUMP_OK;
}

/* ---- pages ---- */

dump_status dump_get_page(dump_t *d, uint64_t pfn, const uint8_t **page)
{
	struct page_cache_slot *s = &d->cache[pfn % PAGE_CACHE_SLOTS];
	dump_status st;

	if (!d->opened)
		return derr_set(&d->err, DUMP_ERR_IO, "no dump is open");
#ifdef KDH_DUMP_TEST_HOOKS
	if (d->page_observer)
		d->page_observer(d->observer_ctx, pfn);
#endif
	if (s->valid && s->pfn == pfn) {
		*page = s->data;
		return DUMP_OK;
	}
	s->valid = false;
	st = d->fmt->read_page(d, pfn, s->data);
	if (st != DUMP_OK)
		return st;
	s->pfn = pfn;
	s->valid = true;
	*page = s->data;
	return DUMP_OK;
}

dump_status dump_read_phys(dump_t *d, uint64_t paddr, void *buf, size_t len)
{
	uint8_t *out = buf;

	while (len > 0) {
		const uint8_t *page;
		uint64_t in = paddr & (d->page_size - 1);
		size_t n = d->page_size - in < len ? (size_t)(d->page_size - in) : len;
		dump_status st = dump_get_page(d, paddr >> d->page_shift, &page);
		if (st != DUMP_OK)
			return derr_prefix(&d->err, st, "reading physical 0x%" PRIx64, paddr);
		memcpy(out, page + in, n);
		out += n;
		paddr += n;
		len -= n;
	}
	return DUMP_OK;
}

static dump_status xlat_read(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	return dump_read_phys(ctx, paddr, buf, len);
}

dump_status dump_kernel_init(dump_t *d)
{
	uint64_t phys_base = 0, image_size = 0, pgt = 0, l5 = 0, sme = 0;
	bool have_base;
	dump_status st;

	if (d->kernel_ready)
		return DUMP_OK;
	if (!d->vmcoreinfo)
		return derr_set(&d->err, DUMP_ERR_NOTFOUND, "the dump has no VMCOREINFO");
	/* NUMBER(phys_base) is there since 4.10; before that, the kdump
	 * sub-header or the ELF kernel-text segment carries it. */
	st = dump_vmcoreinfo_u64(d, "NUMBER(phys_base)", &phys_base);
	have_base = st == DUMP_OK;
	if (st == DUMP_ERR_NOTFOUND && d->phys_base_from_format) {
		phys_base = d->format_phys_base;
		have_base = true;
	} else if (st != DUMP_OK && st != DUMP_ERR_NOTFOUND) {
		return st;
	}
	if (dump_vmcoreinfo_u64(d, "NUMBER(KERNEL_IMAGE_SIZE)", &image_size) != DUMP_OK)
		image_size = 512ull << 20; /* the non-KASLR default */
	if (dump_vmcoreinfo_u64(d, "SYMBOL(init_top_pgt)", &pgt) != DUMP_OK &&
	    dump_vmcoreinfo_u64(d, "SYMBOL(init_level4_pgt)", &pgt) != DUMP_OK)
		pgt = 0;
	if (dump_vmcoreinfo_u64(d, "NUMBER(pgtable_l5_enabled)", &l5) != DUMP_OK)
		l5 = 0;
	if (dump_vmcoreinfo_u64(d, "NUMBER(sme_mask)", &sme) != DUMP_OK)
		sme = 0;
	if (!have_base && !pgt)
		return derr_set(
		    &d->err, DUMP_ERR_NOTFOUND,
		    "VMCOREINFO has neither phys_base nor init_top_pgt: cannot translate "
		    "kernel addresses");
	xlat_x86_64_init(&d->xlat, xlat_read, d, &d->err, have_base, phys_base, image_size, pgt,
	                 l5 != 0, sme);
	d->kernel_ready = true;
	return DUMP_OK;
}

dump_status dump_read_virt(dump_t *d, uint64_t vaddr, void *buf, size_t len)
{
	uint8_t *out = buf;
	dump_status st = dump_kernel_init(d);

	if (st != DUMP_OK)
		return st;
	while (len > 0) {
		uint64_t paddr, in = vaddr & (d->page_size - 1);
		size_t n = d->page_size - in < len ? (size_t)(d->page_size - in) : len;
		st = xlat_x86_64_virt_to_phys(&d->xlat, vaddr, &paddr);
		if (st == DUMP_OK)
			st = dump_read_phys(d, paddr, out, n);
		if (st != DUMP_OK)
			return derr_prefix(&d->err, st, "reading virtual 0x%" PRIx64, vaddr);
		out += n;
		vaddr += n;
		len -= n;
	}
	return DUMP_OK;
}
