/* One compressed page to one page, with the real libraries.  Every method is
 * asked to write into exactly one page and nothing else: a page that would
 * expand beyond it, or fall short, is corrupt. */
#include <lzo/lzo1x.h>
#include <pthread.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "dump/dump_internal.h"

static dump_status dec_zlib(const uint8_t *src, size_t len, uint8_t *dst, size_t page_size,
                            struct dump_err *e)
{
	uLongf out = (uLongf)page_size;
	int rc = uncompress(dst, &out, src, (uLong)len);

	if (rc == Z_BUF_ERROR)
		return derr_set(e, DUMP_ERR_CORRUPT,
		                "zlib: output larger than a page or input "
		                "truncated");
	if (rc != Z_OK)
		return derr_set(e, DUMP_ERR_CORRUPT, "zlib: %s", zError(rc));
	if (out != page_size)
		return derr_set(e, DUMP_ERR_CORRUPT, "zlib: %lu bytes, not a page (%zu)",
		                (unsigned long)out, page_size);
	return DUMP_OK;
}

/* liblzo asks for lzo_init() once before use (it checks that the library
 * was built for this ABI); cases verify dumps on several threads at once,
 * so the once is pthread_once's */
static pthread_once_t lzo_once = PTHREAD_ONCE_INIT;
static int lzo_init_rc;

static void lzo_init_once(void)
{
	lzo_init_rc = lzo_init();
}

static dump_status dec_lzo(const uint8_t *src, size_t len, uint8_t *dst, size_t page_size,
                           struct dump_err *e)
{
	lzo_uint out = page_size;
	int rc;

	pthread_once(&lzo_once, lzo_init_once);
	if (lzo_init_rc != LZO_E_OK)
		return derr_set(e, DUMP_ERR_UNSUPPORTED, "lzo: library initialisation failed");
	/* the _safe variant checks both input and output bounds */
	rc = lzo1x_decompress_safe(src, len, dst, &out, NULL);

	switch (rc) {
	case LZO_E_OK:
		break;
	case LZO_E_OUTPUT_OVERRUN:
		return derr_set(e, DUMP_ERR_CORRUPT, "lzo: output larger than a page");
	case LZO_E_INPUT_OVERRUN:
		return derr_set(e, DUMP_ERR_CORRUPT, "lzo: input overrun");
	case LZO_E_INPUT_NOT_CONSUMED:
		return derr_set(e, DUMP_ERR_CORRUPT, "lzo: trailing input");
	case LZO_E_LOOKBEHIND_OVERRUN:
		return derr_set(e, DUMP_ERR_CORRUPT, "lzo: lookbehind overrun");
	default:
		return derr_set(e, DUMP_ERR_CORRUPT, "lzo: error %d", rc);
	}
	if (out != page_size)
		return derr_set(e, DUMP_ERR_CORRUPT, "lzo: %lu bytes, not a page (%zu)",
		                (unsigned long)out, page_size);
	return DUMP_OK;
}

static dump_status dec_snappy(const uint8_t *src, size_t len, uint8_t *dst, size_t page_size,
                              struct dump_err *e)
{
	size_t out;

	/* the stream states its length first: check it before decoding */
	if (snappy_uncompressed_length((const char *)src, len, &out) != SNAPPY_OK)
		return derr_set(e, DUMP_ERR_CORRUPT, "snappy: bad length header");
	if (out != page_size)
		return derr_set(e, DUMP_ERR_CORRUPT, "snappy: %zu bytes, not a page (%zu)", out,
		                page_size);
	if (snappy_uncompress((const char *)src, len, (char *)dst, &out) != SNAPPY_OK)
		return derr_set(e, DUMP_ERR_CORRUPT, "snappy: invalid input");
	if (out != page_size)
		return derr_set(e, DUMP_ERR_CORRUPT, "snappy: %zu bytes, not a page (%zu)", out,
		                page_size);
	return DUMP_OK;
}

static dump_status dec_zstd(const uint8_t *src, size_t len, uint8_t *dst, size_t page_size,
                            struct dump_err *e)
{
	/* one context per thread, reused: creating one per page would cost
	 * more than decompressing the page */
	static __thread ZSTD_DCtx *dctx;
	size_t out;

	if (!dctx)
		dctx = ZSTD_createDCtx();
	if (!dctx)
		return derr_set(e, DUMP_ERR_NOMEM, "zstd: context");
	out = ZSTD_decompressDCtx(dctx, dst, page_size, src, len);
	if (ZSTD_isError(out))
		return derr_set(e, DUMP_ERR_CORRUPT, "zstd: %s", ZSTD_getErrorName(out));
	if (out != page_size)
		return derr_set(e, DUMP_ERR_CORRUPT, "zstd: %zu bytes, not a page (%zu)", out,
		                page_size);
	return DUMP_OK;
}

dump_status decompress_page(uint32_t flags, const uint8_t *src, size_t len, uint8_t *dst,
                            size_t page_size, struct dump_err *e)
{
	switch (flags &
	        (DD_COMPRESS_ZLIB | DD_COMPRESS_LZO | DD_COMPRESS_SNAPPY | DD_COMPRESS_ZSTD)) {
	case DD_COMPRESS_ZLIB:
		return dec_zlib(src, len, dst, page_size, e);
	case DD_COMPRESS_LZO:
		return dec_lzo(src, len, dst, page_size, e);
	case DD_COMPRESS_SNAPPY:
		return dec_snappy(src, len, dst, page_size, e);
	case DD_COMPRESS_ZSTD:
		return dec_zstd(src, len, dst, page_size, e);
	case 0:
		if (len != page_size)
			return derr_set(e, DUMP_ERR_CORRUPT,
			                "uncompressed page of %zu bytes (page size %zu)", len,
			                page_size);
		memcpy(dst, src, page_size);
		return DUMP_OK;
	default:
		return derr_set(e, DUMP_ERR_CORRUPT, "page flags 0x%x name several compressions",
		                flags);
	}
}
