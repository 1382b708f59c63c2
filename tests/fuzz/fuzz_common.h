/* Shared body of the fuzz targets: the input is a whole dump file.  It is
 * handed to the reader through a memfd (the library opens paths), then
 * every entry point runs on it: open, dmesg, info, verify, reads. */
#ifndef KDH_FUZZ_COMMON_H
#define KDH_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dump/dump_internal.h"

static int fuzz_fd = -1;

static int fuzz_one(const uint8_t *data, size_t size)
{
	char path[64], *text;
	size_t len;
	dump_summary info;
	dump_check_result r;
	uint8_t buf[256];

	if (fuzz_fd < 0)
		fuzz_fd = memfd_create("kdh-fuzz", MFD_CLOEXEC);
	if (fuzz_fd < 0 || ftruncate(fuzz_fd, 0) < 0)
		abort();
	if (size && pwrite(fuzz_fd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fuzz_fd);

	dump_t *d = dump_new();
	if (dump_open(d, path) == DUMP_OK) {
		if (dump_dmesg(d, &text, &len) == DUMP_OK)
			free(text);
		dump_summarize(d, &info);
		dump_check(d, &r);
		/* the kernel image, the direct map, low memory */
		dump_read_virt(d, 0xffffffff81000000ull, buf, sizeof(buf));
		dump_read_virt(d, 0xffff888000001000ull, buf, sizeof(buf));
		dump_read_phys(d, 0x1000, buf, sizeof(buf));
		dump_vmcoreinfo(d, "OSRELEASE");
	}
	/* a message always exists after a failure, and is a string */
	if (strlen(dump_error(d)) >= sizeof(d->err.msg))
		abort();
	dump_free(d);
	return 0;
}

#endif
