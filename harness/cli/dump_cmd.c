/* `kdh dump` / `kdh-dump`: a table of subcommands over the dump reader.
 * Shared by the lean static build/kdh-dump (no glib) and `kdh dump`; uses
 * only dump.h, so the library itself never prints.
 *
 * Exit status: 0 success (verify: the dump passed); 1 the dump is corrupt or
 * could not be read; 2 usage error; 3 (verify) the dump is incomplete. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "dump/dump.h"

#define EXIT_CORRUPT    1
#define EXIT_USAGE      2
#define EXIT_INCOMPLETE 3

#define MAX_FILES 64 /* parts of a split dump */

struct opts {
	bool json, raw, phys, virt;
	const char *args[4];
	int n_args;
};

struct command {
	const char *name;
	int (*run)(dump_t *d, const struct opts *o);
	int n_args; /* positional arguments after FILE */
	const char *usage;
};

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* ---- dmesg ---- */

static int cmd_dmesg(dump_t *d, const struct opts *o)
{
	char *text;
	size_t len;

	if (dump_dmesg(d, &text, &len) != DUMP_OK) {
		fprintf(stderr, "kdh dump dmesg: %s\n", dump_error(d));
		return EXIT_CORRUPT;
	}
	if (o->json) {
		/* the log as one string: the text has no NUL (rendering
		 * escapes unprintable bytes) */
		printf("{\"dmesg\": ");
		json_str(stdout, text);
		printf(", \"bytes\": %zu}\n", len);
		free(text);
		return fflush(stdout) == 0 ? 0 : EXIT_CORRUPT;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(STDOUT_FILENO, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "kdh dump dmesg: writing: %s\n", strerror(errno));
			free(text);
			return EXIT_CORRUPT;
		}
		done += (size_t)n;
	}
	free(text);
	return 0;
}

/* ---- vmcoreinfo ---- */

static int cmd_vmcoreinfo(dump_t *d, const struct opts *o)
{
	size_t info_len;
	const char *info = dump_vmcoreinfo_text(d, &info_len);

	if (!info) {
		fprintf(stderr, "kdh dump vmcoreinfo: the dump has no VMCOREINFO\n");
		return EXIT_CORRUPT;
	}
	if (!o->json) {
		fwrite(info, 1, info_len, stdout);
		return 0;
	}
	/* KEY=VALUE lines as one object; a line without '=' is kept under
	 * its whole text with a null value rather than dropped */
	const char *p = info, *end = info + info_len;
	bool first = true;
	printf("{");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *eq = memchr(p, '=', (size_t)(line_end - p));
		if (line_end > p) {
			char *key = strndup(p, (size_t)((eq ? eq : line_end) - p));
			char *val = eq ? strndup(eq + 1, (size_t)(line_end - eq - 1)) : NULL;
			printf("%s", first ? "" : ", ");
			json_str(stdout, key ? key : "");
			printf(": ");
			if (val)
				json_str(stdout, val);
			else
				printf("null");
			free(key);
			free(val);
			first = false;
		}
		p = line_end + 1;
	}
	printf("}\n");
	return fflush(stdout) == 0 ? 0 : EXIT_CORRUPT;
}

/* ---- info ---- */

static void print_counts_json(FILE *f, const dump_page_counts *c)
{
	fprintf(f,
	        "{\"max_pfn\": %" PRIu64 ", \"total\": %" PRIu64 ", \"dumped\": %" PRIu64
	        ", \"excluded\": %" PRIu64 ", \"zero\": ",
	        c->max_pfn, c->total, c->dumped, c->excluded);
	if (c->zero_known)
		fprintf(f, "%" PRIu64 "}", c->zero);
	else
		fprintf(f, "null}");
}

/* x86_64 registers of one PRSTATUS note worth showing, by their index in
 * user_regs_struct */
static const struct {
	const char *name;
	int idx;
} shown_regs[] = {{"rip", 16}, {"rsp", 19}, {"rbp", 4}, {"rax", 10},
                  {"rdi", 14}, {"rsi", 13}, {"cs", 17}, {"eflags", 18}};

static void regs_json(FILE *f, const dump_t *d)
{
	fprintf(f, "[");
	for (unsigned c = 0; c < dump_cpu_count(d); c++) {
		dump_cpu_regs r;
		if (dump_cpu(d, c, &r) != DUMP_OK)
			break;
		fprintf(f, "%s{\"index\": %u, \"pid\": %d", c ? ", " : "", c, r.pid);
		if (!r.regs_known) {
			fprintf(f, ", \"error\": ");
			json_str(f, r.problem);
			fprintf(f, "}");
			continue;
		}
		for (size_t i = 0; i < sizeof(shown_regs) / sizeof(shown_regs[0]); i++)
			fprintf(f, ", \"%s\": \"0x%" PRIx64 "\"", shown_regs[i].name,
			        r.reg[shown_regs[i].idx]);
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

static void info_json(const dump_t *d, const dump_summary *in)
{
	FILE *f = stdout;

	fprintf(f, "{\"format\": ");
	json_str(f, in->format);
	fprintf(f, ", \"compression\": ");
	json_str(f, in->compression);
	fprintf(f, ", \"page_size\": %u, \"dump_level\": ", in->page_size);
	if (in->dump_level >= 0)
		fprintf(f, "%d", in->dump_level);
	else
		fprintf(f, "null");
	fprintf(f, ", \"incomplete\": %s", in->incomplete ? "true" : "false");
	fprintf(f, ", \"utsname_header\": ");
	if (in->header_release[0]) {
		fprintf(f, "{\"nodename\": ");
		json_str(f, in->header_nodename);
		fprintf(f, ", \"release\": ");
		json_str(f, in->header_release);
		fprintf(f, ", \"version\": ");
		json_str(f, in->header_version);
		fprintf(f, ", \"machine\": ");
		json_str(f, in->header_machine);
		fprintf(f, "}");
	} else {
		fprintf(f, "null");
	}
	fprintf(f, ", \"utsname_memory\": ");
	if (in->uts_known) {
		fprintf(f, "{\"sysname\": ");
		json_str(f, in->sysname);
		fprintf(f, ", \"nodename\": ");
		json_str(f, in->nodename);
		fprintf(f, ", \"release\": ");
		json_str(f, in->release);
		fprintf(f, ", \"version\": ");
		json_str(f, in->version);
		fprintf(f, ", \"machine\": ");
		json_str(f, in->machine);
		fprintf(f, "}");
	} else {
		fprintf(f, "null, \"utsname_memory_error\": ");
		json_str(f, in->uts_error);
	}
	fprintf(f, ", \"vmcoreinfo_osrelease\": ");
	json_str(f, in->vmcoreinfo_release);
	fprintf(f, ", \"crash_time\": ");
	if (in->crash_time >= 0)
		fprintf(f, "%" PRId64, in->crash_time);
	else
		fprintf(f, "null");
	fprintf(f, ", \"header_time\": ");
	if (in->header_time >= 0)
		fprintf(f, "%" PRId64, in->header_time);
	else
		fprintf(f, "null");
	fprintf(f, ", \"cpus_header\": ");
	if (in->header_cpus >= 0)
		fprintf(f, "%d", in->header_cpus);
	else
		fprintf(f, "null");
	fprintf(f, ", \"cpus_prstatus\": %d, \"prstatus\": ", in->cpus);
	regs_json(f, d);
	fprintf(f, ", \"pages\": ");
	print_counts_json(f, &in->pages);
	fprintf(f, ", \"panic\": ");
	if (in->panic_known)
		json_str(f, in->panic);
	else
		fprintf(f, "null");
	if (in->task_known) {
		fprintf(f,
		        ", \"panic_cpu\": %d, \"panic_pid\": %d, \"panic_comm\": ", in->panic_cpu,
		        in->panic_pid);
		json_str(f, in->panic_comm);
	} else {
		fprintf(f, ", \"panic_cpu\": null, \"panic_pid\": null, \"panic_comm\": null");
	}
	if (in->dmesg_error[0]) {
		fprintf(f, ", \"dmesg_error\": ");
		json_str(f, in->dmesg_error);
	}
	fprintf(f, "}\n");
}

static void print_time(const char *label, int64_t t)
{
	char buf[64] = "unknown";

	if (t >= 0) {
		time_t tt = (time_t)t;
		struct tm tm;
		if (gmtime_r(&tt, &tm))
			strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
	printf("%-16s%s\n", label, buf);
}

static void info_text(const dump_t *d, const dump_summary *in)
{
	const dump_page_counts *c = &in->pages;

	printf("%-16s%s%s\n", "format:", in->format, in->incomplete ? " (INCOMPLETE)" : "");
	printf("%-16s%s\n", "compression:", in->compression);
	printf("%-16s%u\n", "page size:", in->page_size);
	if (in->dump_level >= 0)
		printf("%-16s%d\n", "dump level:", in->dump_level);
	if (in->header_release[0])
		printf("%-16s%s %s %s (%s)\n", "uts (header):", in->header_release,
		       in->header_version, in->header_machine, in->header_nodename);
	if (in->uts_known)
		printf("%-16s%s %s %s (%s)\n", "uts (memory):", in->release, in->version,
		       in->machine, in->nodename);
	else
		printf("%-16s%s\n", "uts (memory):", in->uts_error);
	print_time("crash time:", in->crash_time >= 0 ? in->crash_time : in->header_time);
	if (in->header_cpus >= 0)
		printf("%-16s%d (header), %d (PRSTATUS notes)\n", "cpus:", in->header_cpus,
		       in->cpus);
	else
		printf("%-16s%d (PRSTATUS notes)\n", "cpus:", in->cpus);
	for (unsigned k = 0; k < dump_cpu_count(d); k++) {
		dump_cpu_regs r;
		if (dump_cpu(d, k, &r) != DUMP_OK)
			break;
		if (!r.regs_known) {
			printf("  prstatus %-5u%s\n", k, r.problem);
			continue;
		}
		printf("  prstatus %-5upid %d", k, r.pid);
		for (size_t i = 0; i < 3; i++)
			printf(" %s 0x%" PRIx64, shown_regs[i].name, r.reg[shown_regs[i].idx]);
		printf("\n");
	}
	printf("%-16stotal %" PRIu64 ", excluded %" PRIu64 ", dumped %" PRIu64, "pages:", c->total,
	       c->excluded, c->dumped);
	if (c->zero_known)
		printf(", zero %" PRIu64, c->zero);
	printf(" (max pfn %" PRIu64 ")\n", c->max_pfn);
	if (in->panic_known)
		printf("%-16s%s\n", "panic:", in->panic);
	if (in->task_known)
		printf("%-16scpu %d pid %d comm %s\n", "panic task:", in->panic_cpu, in->panic_pid,
		       in->panic_comm);
	if (in->dmesg_error[0])
		printf("%-16s%s\n", "dmesg:", in->dmesg_error);
}

static int cmd_info(dump_t *d, const struct opts *o)
{
	dump_summary *in = malloc(sizeof(*in));

	if (!in || dump_summarize(d, in) != DUMP_OK) {
		fprintf(stderr, "kdh dump info: %s\n", in ? dump_error(d) : "out of memory");
		free(in);
		return EXIT_CORRUPT;
	}
	if (o->json)
		info_json(d, in);
	else
		info_text(d, in);
	free(in);
	return 0;
}

/* ---- verify ---- */

static int cmd_verify(dump_t *d, const struct opts *o)
{
	dump_check_result *r = malloc(sizeof(*r));

	if (!r) {
		fprintf(stderr, "kdh dump verify: out of memory\n");
		return EXIT_CORRUPT;
	}
	if (dump_check(d, r) != DUMP_OK) {
		/* the check could not run: a failure, said as a problem */
		r->verdict = DUMP_VERDICT_FAIL;
		r->problems++;
		if (r->n_kept < DUMP_PROBLEMS_KEPT)
			snprintf(r->problem[r->n_kept++], sizeof(r->problem[0]), "%s",
			         dump_error(d));
	}
	const char *verdict = r->verdict == DUMP_VERDICT_INCOMPLETE ? "incomplete"
	                      : r->verdict == DUMP_VERDICT_PASS     ? "pass"
	                                                            : "fail";
	if (o->json) {
		printf("{\"verdict\": \"%s\", \"problems\": %" PRIu64
		       ", \"pages_checked\": %" PRIu64 ", \"bytes_compressed\": %" PRIu64
		       ", \"pages\": ",
		       verdict, r->problems, r->pages_checked, r->bytes_compressed);
		if (r->pages_known)
			print_counts_json(stdout, &r->pages);
		else
			printf("null");
		printf(", \"first_problems\": [");
		for (unsigned i = 0; i < r->n_kept; i++) {
			if (i)
				printf(", ");
			json_str(stdout, r->problem[i]);
		}
		printf("]}\n");
	} else {
		for (unsigned i = 0; i < r->n_kept; i++)
			printf("problem: %s\n", r->problem[i]);
		if (r->problems > r->n_kept)
			printf("... and %" PRIu64 " more problems\n", r->problems - r->n_kept);
		printf("%s: %" PRIu64 " pages checked, %" PRIu64 " problems\n", verdict,
		       r->pages_checked, r->problems);
	}
	int rc = r->verdict == DUMP_VERDICT_INCOMPLETE ? EXIT_INCOMPLETE
	         : r->verdict == DUMP_VERDICT_PASS     ? 0
	                                               : EXIT_CORRUPT;
	free(r);
	return rc;
}

/* ---- read ---- */

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && *s && !*end;
}

static int cmd_read(dump_t *d, const struct opts *o)
{
	uint64_t addr, len;
	uint8_t *buf;
	dump_status st;

	if (!parse_u64(o->args[0], &addr) || !parse_u64(o->args[1], &len)) {
		fprintf(stderr, "kdh dump read: ADDR and LEN must be numbers (0x for hex)\n");
		return EXIT_USAGE;
	}
	if (len > (64u << 20)) {
		fprintf(stderr, "kdh dump read: LEN is limited to 64 MiB\n");
		return EXIT_USAGE;
	}
	buf = malloc(len ? len : 1);
	if (!buf)
		return EXIT_CORRUPT;
	/* x86_64 kernel addresses live in the upper half: a value there is
	 * virtual unless --phys says otherwise */
	bool virt = o->virt || (!o->phys && addr >= 0xffff800000000000ull);
	st = virt ? dump_read_virt(d, addr, buf, len) : dump_read_phys(d, addr, buf, len);
	if (st != DUMP_OK) {
		fprintf(stderr, "kdh dump read: %s\n", dump_error(d));
		free(buf);
		return EXIT_CORRUPT;
	}
	if (o->raw) {
		fwrite(buf, 1, len, stdout);
	} else {
		for (uint64_t i = 0; i < len; i += 16) {
			printf("%016" PRIx64 ": ", addr + i);
			for (uint64_t j = i; j < i + 16; j++) {
				if (j < len)
					printf("%02x", buf[j]);
				else
					printf("  ");
				if (j & 1)
					putchar(' ');
			}
			putchar(' ');
			for (uint64_t j = i; j < i + 16 && j < len; j++)
				putchar(buf[j] >= 0x20 && buf[j] < 0x7f ? buf[j] : '.');
			putchar('\n');
		}
	}
	free(buf);
	return 0;
}

static const struct command commands[] = {
    {"info", cmd_info, 0, "info [--json] FILE..."},
    {"dmesg", cmd_dmesg, 0, "dmesg [--json] FILE..."},
    {"verify", cmd_verify, 0, "verify [--json] FILE..."},
    {"read", cmd_read, 2, "read [--phys|--virt] [--raw] FILE... ADDR LEN"},
    {"vmcoreinfo", cmd_vmcoreinfo, 0, "vmcoreinfo [--json] FILE..."},
};

static int usage(FILE *f)
{
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  kdh dump %s\n", commands[i].usage);
	fprintf(f, "FILE: kdump-compressed (also flattened, -F) or ELF64 vmcore; several FILEs\n"
	           "are the parts of a split dump (--split).\n"
	           "verify exits 0 pass, 1 fail, 3 incomplete dump; 2 is a usage error.\n");
	return EXIT_USAGE;
}

int dump_cli_main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct opts o = {0};

	if (argc < 1)
		return usage(stderr);
	if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[0], commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "kdh dump: unknown command '%s'\n", argv[0]);
		return usage(stderr);
	}
	const char *pos[MAX_FILES + 4];
	int n_pos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--json"))
			o.json = true;
		else if (!strcmp(a, "--raw"))
			o.raw = true;
		else if (!strcmp(a, "--phys"))
			o.phys = true;
		else if (!strcmp(a, "--virt"))
			o.virt = true;
		else if (a[0] == '-' && a[1] == '-') {
			fprintf(stderr, "kdh dump %s: unknown option %s\n", cmd->name, a);
			return usage(stderr);
		} else if (n_pos < MAX_FILES + cmd->n_args) {
			pos[n_pos++] = a;
		} else {
			fprintf(stderr, "kdh dump %s: too many arguments\n", cmd->name);
			return usage(stderr);
		}
	}
	/* FILE... then the command's own arguments: several files are the
	 * parts of a split dump */
	int n_files = n_pos - cmd->n_args;
	if (n_files < 1) {
		fprintf(stderr, "usage: kdh dump %s\n", cmd->usage);
		return EXIT_USAGE;
	}
	for (int i = 0; i < cmd->n_args; i++)
		o.args[o.n_args++] = pos[n_files + i];
	dump_t *d = dump_new();
	if (!d) {
		fprintf(stderr, "kdh dump: out of memory\n");
		return EXIT_CORRUPT;
	}
	int rc;
	if (dump_open_parts(d, pos, (size_t)n_files) != DUMP_OK) {
		fprintf(stderr, "kdh dump %s: %s\n", cmd->name, dump_error(d));
		rc = EXIT_CORRUPT;
	} else {
		rc = cmd->run(d, &o);
	}
	dump_free(d);
	return rc;
}
