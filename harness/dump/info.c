/* What `kdh dump info` reports, gathered from the headers, VMCOREINFO, the
 * crashed kernel's memory and its log. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

#include "dump/dump_internal.h"

/* new_utsname: six fields of 65 bytes */
#define UTS_LEN ((size_t)65)

static void copy_field(char *dst, const uint8_t *src)
{
	memcpy(dst, src, UTS_LEN);
	dst[UTS_LEN] = 0;
}

/* init_uts_ns.name from memory.  The offset of `name` in struct
 * uts_namespace moved (a kref preceded it before 5.11); VMCOREINFO gives it
 * when the kernel exports it, otherwise the first candidate whose sysname
 * reads "Linux" is taken. */
static dump_status read_uts(dump_t *d, dump_summary *in)
{
	uint64_t sym, off;
	uint8_t buf[UTS_LEN * 6];
	static const uint64_t guesses[] = {0, 4, 8};
	dump_status st = dump_vmcoreinfo_u64(d, "SYMBOL(init_uts_ns)", &sym);

	if (st != DUMP_OK)
		return st;
	if (dump_vmcoreinfo_u64(d, "OFFSET(uts_namespace.name)", &off) == DUMP_OK) {
		if (off > 4096)
			return derr_set(&d->err, DUMP_ERR_CORRUPT,
			                "OFFSET(uts_namespace.name) %" PRIu64 " is implausible",
			                off);
		st = dump_read_virt(d, sym + off, buf, sizeof(buf));
		if (st != DUMP_OK)
			return st;
	} else {
		st = DUMP_ERR_NOTFOUND;
		for (size_t i = 0; i < sizeof(guesses) / sizeof(guesses[0]); i++) {
			st = dump_read_virt(d, sym + guesses[i], buf, sizeof(buf));
			if (st != DUMP_OK)
				return st;
			if (memcmp(buf, "Linux", 6) == 0)
				break;
			st = derr_set(&d->err, DUMP_ERR_NOTFOUND,
			              "init_uts_ns at 0x%" PRIx64 " holds no utsname", sym);
		}
		if (st != DUMP_OK)
			return st;
	}
	copy_field(in->sysname, buf);
	copy_field(in->nodename, buf + UTS_LEN);
	copy_field(in->release, buf + 2 * UTS_LEN);
	copy_field(in->version, buf + 3 * UTS_LEN);
	copy_field(in->machine, buf + 4 * UTS_LEN);
	in->uts_known = 1;
	return DUMP_OK;
}

/* copies the rest of the line at P (up to END) into DST */
static void copy_line(char *dst, size_t cap, const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = (size_t)((nl ? nl : end) - p);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, p, n);
	dst[n] = 0;
}

/* the last occurrence of NEEDLE in [hay, hay+len): one forward pass */
static const char *last_match(const char *hay, size_t len, const char *needle)
{
	const char *found = NULL, *p = hay, *end = hay + len;
	size_t n = strlen(needle);

	while ((p = memmem(p, (size_t)(end - p), needle, n)) != NULL) {
		found = p;
		p += n;
	}
	return found;
}

/* A decimal int at *P (optional '-'), advancing *P; false on junk or
 * overflow */
static bool take_int(const char **p, int *v)
{
	char *end;
	long n;

	if (!isdigit((unsigned char)**p) && !(**p == '-' && isdigit((unsigned char)(*p)[1])))
		return false;
	errno = 0;
	n = strtol(*p, &end, 10);
	if (errno || n < INT_MIN || n > INT_MAX)
		return false;
	*v = (int)n;
	*p = end;
	return true;
}

static bool take(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* The dump_stack() header at P ("CPU: 0 PID: 581 Comm: sh ...") into IN,
 * parsed strictly from a bounded copy of the line: a scan of the log
 * itself would measure the whole rest of it (strlen) at every candidate,
 * which made a log full of "CPU: " lines quadratic. */
static bool parse_task(dump_summary *in, const char *p, const char *end)
{
	char line[128];
	const char *q = line;
	int cpu, pid;
	size_t n;

	copy_line(line, sizeof(line), p, end);
	if (!take(&q, "CPU: ") || !take_int(&q, &cpu) || !take(&q, " PID: ") ||
	    !take_int(&q, &pid) || !take(&q, " Comm: "))
		return false;
	n = strcspn(q, " \t");
	if (n == 0)
		return false;
	if (n >= sizeof(in->panic_comm))
		n = sizeof(in->panic_comm) - 1;
	in->panic_cpu = cpu;
	in->panic_pid = pid;
	memcpy(in->panic_comm, q, n);
	in->panic_comm[n] = 0;
	return true;
}

/* The panic from the log: "Kernel panic - not syncing: <msg>", and the
 * task from the dump_stack() header the panic printed: the first header
 * after the last panic line (6.x prints it after), else the last one
 * before it (older kernels).  Every search is one forward pass over the
 * log, and each candidate is parsed from a bounded copy: linear in the
 * log's length whatever the guest wrote into it. */
void dump_parse_panic(dump_summary *in, const char *log, size_t len)
{
	const char *panic = last_match(log, len, "Kernel panic - not syncing: ");
	const char *end = log + len, *before_end = end, *p = log;
	bool found_before = false;
	int cpu = -1, pid = -1;
	char comm[32] = "";

	if (panic) {
		copy_line(in->panic, sizeof(in->panic), panic + 28, end);
		in->panic_known = 1;
		const char *after = memmem(panic, (size_t)(end - panic), "CPU: ", 5);
		if (after && parse_task(in, after, end)) {
			in->task_known = 1;
			return;
		}
		before_end = panic;
	} else {
		/* no panic line: an oops that did not panic yet, or "BUG:" */
		const char *bug = last_match(log, len, "BUG: ");
		if (bug) {
			copy_line(in->panic, sizeof(in->panic), bug, end);
			in->panic_known = 1;
		}
	}
	while ((p = memmem(p, (size_t)(before_end - p), "CPU: ", 5)) != NULL) {
		if (parse_task(in, p, end)) {
			found_before = true;
			cpu = in->panic_cpu;
			pid = in->panic_pid;
			memcpy(comm, in->panic_comm, sizeof(comm));
		}
		p += 5;
	}
	in->panic_cpu = found_before ? cpu : -1;
	in->panic_pid = found_before ? pid : -1;
	memcpy(in->panic_comm, found_before ? comm : "", found_before ? sizeof(comm) : 1);
	in->task_known = found_before;
}

dump_status dump_summarize(dump_t *d, dump_summary *in)
{
	dump_status st;
	char *log = NULL;
	size_t log_len = 0;
	uint64_t v;

	memset(in, 0, sizeof(*in));
	in->panic_cpu = in->panic_pid = -1;
	if (!d->opened)
		return derr_set(&d->err, DUMP_ERR_IO, "no dump is open");
	in->format = d->io.flattened
	                 ? (d->fmt == &dump_format_diskdump ? "kdump-compressed (flattened)"
	                                                    : "ELF64 (flattened)")
	                 : d->fmt->name;
	in->compression = d->compression;
	in->page_size = d->page_size;
	in->dump_level = d->dump_level;
	in->incomplete = d->incomplete;
	snprintf(in->header_release, sizeof(in->header_release), "%s", d->utsname_release);
	snprintf(in->header_version, sizeof(in->header_version), "%s", d->utsname_version);
	snprintf(in->header_machine, sizeof(in->header_machine), "%s", d->utsname_machine);
	snprintf(in->header_nodename, sizeof(in->header_nodename), "%s", d->utsname_nodename);
	in->header_time = d->crash_time;
	in->crash_time = -1;
	if (dump_vmcoreinfo_u64(d, "CRASHTIME", &v) == DUMP_OK)
		in->crash_time = (int64_t)v;
	in->header_cpus = d->header_cpus;
	in->cpus = (int)d->n_cpus;
	{
		size_t n;
		const char *rel = dump_vmcoreinfo_raw(d, "OSRELEASE", &n);
		if (rel)
			snprintf(in->vmcoreinfo_release, sizeof(in->vmcoreinfo_release), "%.*s",
			         (int)n, rel);
	}
	st = d->fmt->counts(d, &in->pages);
	if (st != DUMP_OK)
		return derr_prefix(&d->err, st, "page counts");
	/* what follows reads the crashed kernel's memory; a dump where that
	 * fails is still described, with the reason kept */
	st = read_uts(d, in);
	if (st != DUMP_OK)
		snprintf(in->uts_error, sizeof(in->uts_error), "init_uts_ns: %s", dump_error(d));
	st = dump_dmesg(d, &log, &log_len);
	if (st == DUMP_OK) {
		dump_parse_panic(in, log, log_len);
		in->dmesg_bytes = log_len;
		free(log);
	} else {
		snprintf(in->dmesg_error, sizeof(in->dmesg_error), "%s", dump_error(d));
	}
	return DUMP_OK;
}
