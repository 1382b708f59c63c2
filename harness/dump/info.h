/* `kdh dump info`: a summary of one dump (internal to harness/dump/). */
#ifndef KDH_DUMP_INFO_H
#define KDH_DUMP_INFO_H

#include "dump/dump_internal.h"

struct dump_info {
	const char *format, *compression;
	uint32_t page_size;
	int dump_level; /* -1: not recorded (ELF) */
	bool incomplete;
	/* utsname as the dump header states it (kdump-compressed only) */
	char hdr_release[66], hdr_version[66], hdr_machine[66], hdr_nodename[66];
	char vmcoreinfo_release[66];
	/* and as init_uts_ns holds it in the crashed kernel's memory */
	bool mem_uts_known;
	char mem_sysname[66], mem_nodename[66], mem_release[66], mem_version[66], mem_machine[66];
	char mem_error[512];
	int64_t crash_time;  /* VMCOREINFO CRASHTIME, -1 when absent */
	int64_t header_time; /* kdump header timestamp, -1 when absent */
	int header_cpus;     /* -1 when absent */
	int prstatus_cpus;
	struct dump_page_counts counts;
	/* from the log */
	size_t dmesg_bytes;
	char dmesg_error[512];
	bool panic_known, task_known;
	char panic_msg[256];
	int panic_cpu, panic_pid;
	char panic_comm[32];
};

/* Fills IN.  Fails only when the dump's own metadata cannot be read; a
 * failure to read memory (utsname, log) is kept in IN's *_error fields. */
dump_status dump_info_collect(dump_t *d, struct dump_info *in);

/* The panic message and the panicking task from the kernel log LOG (LEN
 * bytes, guest-written: hostile) into IN's panic_* and task fields; linear
 * in LEN. */
void dump_info_parse_panic(struct dump_info *in, const char *log, size_t len);

#endif
