/*
 * permessage-deflate (RFC 7692 §7.2) over zlib: the compressor for outgoing messages and the
 * inflater the decoder uses for incoming ones. Built only with SW_HAVE_ZLIB; without it every
 * entry point returns SW_ENOTSUP.
 *
 * Both directions use raw DEFLATE streams (negative windowBits). A message is compressed and
 * flushed with Z_SYNC_FLUSH, which ends the output with an empty stored block whose last four
 * bytes, 0x00 0x00 0xff 0xff, are removed before sending; the receiver appends them again
 * before inflating the end of the message (§7.2.1, §7.2.2). With context takeover the same
 * stream carries on into the next message, so back-references may reach into earlier ones;
 * without it the stream is reset after every message.
 *
 * zlib allocates through sw__calloc/sw__free, so the "alloc" fault point covers it.
 */
#include <string.h>

#include "core/alloc.h"
#include "websocket/ws_int.h"

#ifdef SW_HAVE_ZLIB
#include <zlib.h>
#endif

void sw_ws_deflate_options_init(sw_ws_deflate_options_t *o)
{
    if (o) {
        *o = (sw_ws_deflate_options_t){.server_max_window_bits = 15,
                                       .client_max_window_bits = 15,
                                       .level = -1,
                                       .mem_level = 8};
    }
}

bool sw_ws_deflate_supported(void)
{
#ifdef SW_HAVE_ZLIB
    return true;
#else
    return false;
#endif
}

#ifdef SW_HAVE_ZLIB

/* Output is produced into the caller's buffer in steps of at most this many bytes. */
#define CHUNK ((size_t)16 * 1024)

/* zlib's avail_in is an unsigned int: longer inputs go in slices of this size. */
#define MAX_SLICE ((size_t)1 << 30)

static voidpf zalloc_cb(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return sw__calloc(items, size);
}

static void zfree_cb(voidpf opaque, voidpf p)
{
    (void)opaque;
    sw__free(p);
}

static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};

/* ---- inflater -------------------------------------------------------------------------------- */

struct sw__ws_inflater_s {
    z_stream zs;
    bool reset_each; /* the peer has no context takeover */
    bool ended;      /* the message's data held a BFINAL block: ignore the rest of it */
};

int sw__ws_inflater_create(sw__ws_inflater_t **out, int window_bits, bool reset_each)
{
    if (!out || window_bits < 8 || window_bits > 15) {
        return SW_EINVAL;
    }
    sw__ws_inflater_t *inf = sw__calloc(1, sizeof(*inf));
    if (!inf) {
        return SW_ENOMEM;
    }
    inf->zs.zalloc = zalloc_cb;
    inf->zs.zfree = zfree_cb;
    inf->reset_each = reset_each;
    int zr = inflateInit2(&inf->zs, -window_bits);
    if (zr != Z_OK) {
        sw__free(inf);
        return zr == Z_MEM_ERROR ? SW_ENOMEM : SW_EINVAL;
    }
    *out = inf;
    return 0;
}

void sw__ws_inflater_destroy(sw__ws_inflater_t *inf)
{
    if (inf) {
        inflateEnd(&inf->zs);
        sw__free(inf);
    }
}

/*
 * The stream ended with a BFINAL block (RFC 7692 §7.2.3.4 allows senders without a sync flush
 * to do this). zlib will not read past the end of a stream, so restart it; with context
 * takeover the next message may still refer back into the window, so the window is carried
 * over into the new stream as its dictionary (allowed at any time for raw inflate).
 */
static int restart_after_end(sw__ws_inflater_t *inf)
{
    inf->ended = true;
    if (inf->reset_each) {
        return inflateReset(&inf->zs) == Z_OK ? 0 : SW_EWS_DEFLATE;
    }
    uint8_t *dict = sw__malloc(32768);
    if (!dict) {
        return SW_ENOMEM;
    }
    uInt n = 0;
    int rc = 0;
    if (inflateGetDictionary(&inf->zs, dict, &n) != Z_OK || inflateReset(&inf->zs) != Z_OK ||
        (n && inflateSetDictionary(&inf->zs, dict, n) != Z_OK)) {
        rc = SW_EWS_DEFLATE;
    }
    sw__free(dict);
    return rc;
}

/* Inflates in[0..n) into out, keeping out->length <= limit. */
static int inflate_into(sw__ws_inflater_t *inf, const uint8_t *in, size_t n, sw_buffer_t *out,
                        uint64_t limit)
{
    z_stream *z = &inf->zs;
    z->avail_in = 0;
    for (;;) {
        if (z->avail_in == 0 && n > 0) {
            size_t slice = n < MAX_SLICE ? n : MAX_SLICE;
            z->next_in = (Bytef *)(uintptr_t)in;
            z->avail_in = (uInt)slice;
            in += slice;
            n -= slice;
        }
        uint64_t room = limit > out->length ? limit - out->length : 0;
        uint8_t probe;
        char *dst = (char *)&probe;
        size_t cap = 1; /* at the limit, one byte of room shows whether more would come */
        if (room) {
            cap = room < CHUNK ? (size_t)room : CHUNK;
            int rc = sw_buffer_reserve(out, cap, &dst);
            if (rc < 0) {
                return rc == SW_EOVERFLOW ? SW_EWS_TOO_BIG : SW_ENOMEM;
            }
        }
        uInt in_before = z->avail_in;
        z->next_out = (Bytef *)dst;
        z->avail_out = (uInt)cap;
        int zr = inflate(z, Z_SYNC_FLUSH);
        size_t got = cap - z->avail_out;
        if (got && !room) {
            return SW_EWS_TOO_BIG;
        }
        if (got) {
            sw_buffer_commit(out, got);
        }
        if (zr == Z_STREAM_END) {
            z->avail_in = 0;
            return restart_after_end(inf);
        }
        if (zr == Z_MEM_ERROR) {
            return SW_ENOMEM;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) { /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
            return SW_EWS_DEFLATE;
        }
        if (z->avail_out == 0) {
            continue; /* output full: zlib may hold more */
        }
        if (z->avail_in == 0 && n == 0) {
            return 0;
        }
        if (!got && z->avail_in == in_before) {
            return SW_EWS_DEFLATE; /* no progress with room on both sides: cannot happen */
        }
    }
}

int sw__ws_inflater_feed(sw__ws_inflater_t *inf, const uint8_t *in, size_t n, sw_buffer_t *out,
                         uint64_t limit)
{
    if (inf->ended) {
        return 0; /* bytes after a final block (e.g. the 0x00 of §7.2.3.4): ignored */
    }
    return inflate_into(inf, in, n, out, limit);
}

int sw__ws_inflater_finish(sw__ws_inflater_t *inf, sw_buffer_t *out, uint64_t limit)
{
    int rc = 0;
    if (!inf->ended) {
        rc = inflate_into(inf, tail, sizeof(tail), out, limit);
    }
    inf->ended = false;
    if (rc == 0 && inf->reset_each && inflateReset(&inf->zs) != Z_OK) {
        rc = SW_EWS_DEFLATE;
    }
    return rc;
}

/* ---- compressor ------------------------------------------------------------------------------ */

struct sw_ws_compressor_s {
    z_stream zs;
    bool reset_each;  /* this side has no context takeover */
    bool passthrough; /* window of 8 bits: zlib cannot honour it, send uncompressed */
};

int sw_ws_compressor_create(sw_ws_compressor_t **out, sw_ws_role_t role,
                            const sw_ws_deflate_params_t *params,
                            const sw_ws_deflate_options_t *opts)
{
    sw_ws_deflate_options_t defaults;
    if (!opts) {
        sw_ws_deflate_options_init(&defaults);
        opts = &defaults;
    }
    if (!out || !params || (role != SW_WS_ROLE_SERVER && role != SW_WS_ROLE_CLIENT) ||
        opts->level < -1 || opts->level > 9 || opts->mem_level < 1 || opts->mem_level > 9) {
        return SW_EINVAL;
    }
    bool server = role == SW_WS_ROLE_SERVER;
    int bits = server ? params->server_max_window_bits : params->client_max_window_bits;
    if (bits < 8 || bits > 15 || params->server_max_window_bits < 8 ||
        params->server_max_window_bits > 15 || params->client_max_window_bits < 8 ||
        params->client_max_window_bits > 15) {
        return SW_EINVAL;
    }
    sw_ws_compressor_t *c = sw__calloc(1, sizeof(*c));
    if (!c) {
        return SW_ENOMEM;
    }
    c->reset_each =
        server ? params->server_no_context_takeover : params->client_no_context_takeover;
    if (bits == 8) {
        /* zlib refuses a 256-byte window for raw streams (and older versions silently used
         * 512 bytes, which the peer could not inflate). permessage-deflate lets a sender leave
         * any message uncompressed, so that is what this compressor does. */
        c->passthrough = true;
        *out = c;
        return 0;
    }
    c->zs.zalloc = zalloc_cb;
    c->zs.zfree = zfree_cb;
    int zr =
        deflateInit2(&c->zs, opts->level, Z_DEFLATED, -bits, opts->mem_level, Z_DEFAULT_STRATEGY);
    if (zr != Z_OK) {
        sw__free(c);
        return zr == Z_MEM_ERROR ? SW_ENOMEM : SW_EINVAL;
    }
    *out = c;
    return 0;
}

void sw_ws_compressor_destroy(sw_ws_compressor_t *c)
{
    if (!c) {
        return;
    }
    if (!c->passthrough) {
        deflateEnd(&c->zs);
    }
    sw__free(c);
}

/* Runs deflate over the whole input with a sync flush at the end. */
static int deflate_into(z_stream *z, const uint8_t *in, size_t n, sw_buffer_t *out)
{
    for (;;) {
        if (z->avail_in == 0) {
            size_t slice = n < MAX_SLICE ? n : MAX_SLICE;
            z->next_in = (Bytef *)(uintptr_t)in;
            z->avail_in = (uInt)slice;
            in += slice;
            n -= slice;
        }
        int flush = n == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        /* deflateBound-like guess for the first step, then fixed chunks. */
        size_t want = z->avail_in / 2 + 64 < CHUNK ? z->avail_in / 2 + 64 : CHUNK;
        char *dst;
        int rc = sw_buffer_reserve(out, want, &dst);
        if (rc < 0) {
            return rc;
        }
        z->next_out = (Bytef *)dst;
        z->avail_out = (uInt)want;
        int zr = deflate(z, flush);
        sw_buffer_commit(out, want - z->avail_out);
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            return zr == Z_MEM_ERROR ? SW_ENOMEM : SW_EWS_DEFLATE;
        }
        /* A flush is complete when deflate leaves output room unused. */
        if (flush == Z_SYNC_FLUSH && z->avail_in == 0 && z->avail_out > 0) {
            return 0;
        }
    }
}

int sw_ws_compressor_compress(sw_ws_compressor_t *c, const void *data, size_t len, sw_buffer_t *out)
{
    if (!c || !out || (!data && len)) {
        return SW_EINVAL;
    }
    if (c->passthrough) {
        return 0;
    }
    if (len == 0) {
        /* RFC 7692 §7.2.3.6: an empty message is the single byte 0x00 (an empty stored block;
         * the receiver's appended tail completes it). Written directly because zlib refuses a
         * second sync flush without new input, and it leaves the LZ77 window as it is. */
        static const uint8_t empty_block[1] = {0x00};
        int rc = sw_buffer_append(out, empty_block, 1);
        return rc < 0 ? rc : 1;
    }
    size_t start = out->length;
    z_stream *z = &c->zs;
    z->avail_in = 0;
    int rc = deflate_into(z, data, len, out);
    if (rc == 0) {
        /* A sync flush always ends with the empty stored block's LEN/NLEN. */
        if (out->length - start < 4 || memcmp(out->str + out->length - 4, tail, 4) != 0) {
            rc = SW_EWS_DEFLATE;
        } else {
            out->length -= 4;
        }
    }
    if (rc < 0) {
        out->length = start;
        deflateReset(z);
        return rc;
    }
    if (c->reset_each) {
        deflateReset(z);
    }
    return 1;
}

#else /* !SW_HAVE_ZLIB */

int sw__ws_inflater_create(sw__ws_inflater_t **out, int window_bits, bool reset_each)
{
    (void)out;
    (void)window_bits;
    (void)reset_each;
    return SW_ENOTSUP;
}

void sw__ws_inflater_destroy(sw__ws_inflater_t *inf)
{
    (void)inf;
}

int sw__ws_inflater_feed(sw__ws_inflater_t *inf, const uint8_t *in, size_t n, sw_buffer_t *out,
                         uint64_t limit)
{
    (void)inf;
    (void)in;
    (void)n;
    (void)out;
    (void)limit;
    return SW_ENOTSUP;
}

int sw__ws_inflater_finish(sw__ws_inflater_t *inf, sw_buffer_t *out, uint64_t limit)
{
    (void)inf;
    (void)out;
    (void)limit;
    return SW_ENOTSUP;
}

int sw_ws_compressor_create(sw_ws_compressor_t **out, sw_ws_role_t role,
                            const sw_ws_deflate_params_t *params,
                            const sw_ws_deflate_options_t *opts)
{
    (void)out;
    (void)role;
    (void)params;
    (void)opts;
    return SW_ENOTSUP;
}

void sw_ws_compressor_destroy(sw_ws_compressor_t *c)
{
    (void)c;
}

int sw_ws_compressor_compress(sw_ws_compressor_t *c, const void *data, size_t len, sw_buffer_t *out)
{
    (void)c;
    (void)data;
    (void)len;
    (void)out;
    return SW_ENOTSUP;
}

#endif
