/* The reader's fuzz body: the input is a whole dump file.  It is handed to
 * the reader through a memfd (the library opens paths), then every entry
 * point runs on it: open, dmesg, info, verify, reads. */
#include "entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dump/dump_internal.h"

int kdh_fuzz_dump(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64], *text;
	size_t len;
	dump_summary info;
	dump_check_result r;
	uint8_t buf[256];

	if (fd < 0)
		fd = memfd_create("kdh-fuzz", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) < 0)
		abort();
	if (size && pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

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
