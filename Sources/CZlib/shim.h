// zlib from Debian's zlib1g-dev: raw DEFLATE for the entries of .npz (zip) archives.
#include <zlib.h>
#include <stddef.h>

/// Inflates one raw DEFLATE stream (no zlib or gzip header, as zip stores it) into `dst`.
/// Returns Z_OK when the stream ended exactly after `dst_len` bytes (`*produced` = dst_len),
/// Z_BUF_ERROR when the data would not fit or ended early, or zlib's error code.
/// `inflateInit2` is a macro, which Swift cannot call; this wraps it once.
static inline int czlib_inflate_raw(const unsigned char *src, size_t src_len,
                                    unsigned char *dst, size_t dst_len, size_t *produced) {
    z_stream stream = {0};
    *produced = 0;
    if (src_len > 0xFFFFFFFFu || dst_len > 0xFFFFFFFFu) return Z_BUF_ERROR;
    int status = inflateInit2(&stream, -MAX_WBITS);
    if (status != Z_OK) return status;
    stream.next_in = (Bytef *)src;
    stream.avail_in = (uInt)src_len;
    stream.next_out = dst;
    stream.avail_out = (uInt)dst_len;
    status = inflate(&stream, Z_FINISH);
    *produced = (size_t)stream.total_out;
    inflateEnd(&stream);
    if (status == Z_STREAM_END) return stream.total_out == dst_len ? Z_OK : Z_BUF_ERROR;
    if (status == Z_OK || status == Z_BUF_ERROR) return Z_BUF_ERROR;
    return status;
}

/// CRC-32 of `len` bytes (zip's checksum), for lengths beyond `uInt` too.
static inline unsigned long czlib_crc32(const unsigned char *data, size_t len) {
    unsigned long crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt chunk = len > 0x40000000u ? 0x40000000u : (uInt)len;
        crc = crc32(crc, data, chunk);
        data += chunk;
        len -= chunk;
    }
    return crc;
}
