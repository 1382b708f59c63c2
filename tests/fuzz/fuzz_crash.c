/* libFuzzer target: see kdh_fuzz_crash (entry.h). */
#include "entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return kdh_fuzz_crash(data, size);
}
