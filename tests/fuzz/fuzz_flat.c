/* libFuzzer target: makedumpfile's flattened streams (seeds: real pages, -F). */
#include "entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return kdh_fuzz_dump(data, size);
}
