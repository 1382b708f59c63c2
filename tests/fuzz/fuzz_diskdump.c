/* libFuzzer target: kdump-compressed dumps (seeds: real pages, every compression). */
#include "entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return kdh_fuzz_dump(data, size);
}
