/* libFuzzer target: ELF64 vmcores (seeds: real pages laid out as /proc/vmcore). */
#include "entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return kdh_fuzz_dump(data, size);
}
