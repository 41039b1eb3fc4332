/*
 * Unmasking throughput against memcpy, same binary, same run (issue 7, item 10).
 *
 *   bench_ws_unmask [--rounds R] [--bytes B]
 *
 * For payloads of 125 B, 4 KiB, 64 KiB and 1 MiB it times glibc's memcpy (dst <- src, both
 * buffers of the payload size, called through a pointer as the kernels are) and each masking
 * kernel (in place, as the decoder does) on the same
 * number of bytes, about B bytes per measurement (default 256 MiB), interleaved in every
 * round so that noise hits all of them alike. Each printed value is the median over R rounds
 * (default 7) in GB/s (10^9 bytes per second), and "best/memcpy" is the ratio for the kernel
 * the library picks on this CPU. A decoder line shows the whole frame path (header parsing,
 * unmasking, zero-copy delivery) for masked binary frames of the same sizes.
 *
 * Run it pinned to one core: taskset -c 1 ./bench_ws_unmask
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "swoole/websocket.h"
#include "websocket/ws_int.h"

#define MAX_ROUNDS 31

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* memcpy is called through a pointer, like the kernels: otherwise the compiler inlines a
 * constant-size copy into a few moves and the 125-byte comparison measures nothing real. */
static void *(*volatile memcpy_fn)(void *, const void *, size_t) = memcpy;

/* Keeps the compiler from dropping or merging the work on `p`. */
static void clobber(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { V_MEMCPY, V_BYTE, V_SCALAR, V_SSE2, V_AVX2, V_AVX512, V_BEST, V_DECODER, V_COUNT };
static const char *const vnames[V_COUNT] = {"memcpy", "byte",   "scalar", "sse2",
                                            "avx2",   "avx512", "best",   "decoder"};

/* Small payloads rotate through several slots (16 KiB in all, still in L1) so that a call
 * does not load bytes the previous call has just stored: that store-to-load dependency, a
 * stall on the vector kernels, does not occur on real input, which arrives from recv(). */
static size_t slots_for(size_t n)
{
    size_t slots = ((size_t)16 << 10) / n;
    return slots ? slots : 1;
}

/* Distance between two frames in the decoder's slots (64-byte aligned starts). */
static size_t frame_stride(size_t n)
{
    return (n + SW_WS_MAX_FRAME_HEADER + 127) & ~(size_t)63;
}

/* One measurement: GB/s of variant v on payloads of n bytes, about `total` bytes in all. */
static double measure(int v, uint8_t *src, uint8_t *dst, size_t n, size_t total,
                      sw_ws_decoder_t *dec, uint8_t *frames, size_t frame_len)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t iters = total / n;
    if (iters < 4) {
        iters = 4;
    }
    size_t slots = slots_for(n), stride = (n + 63) & ~(size_t)63, slot = 0;
    sw__ws_unmask_fn fn = NULL;
    switch (v) {
    case V_BYTE:
        fn = sw__ws_unmask_impl(SW__WS_UNMASK_BYTE);
        iters = iters / 8 + 1; /* slow: fewer bytes, same rate */
        break;
    case V_SCALAR:
        fn = sw__ws_unmask_impl(SW__WS_UNMASK_SCALAR);
        break;
    case V_SSE2:
        fn = sw__ws_unmask_impl(SW__WS_UNMASK_SSE2);
        break;
    case V_AVX2:
        fn = sw__ws_unmask_impl(SW__WS_UNMASK_AVX2);
        break;
    case V_AVX512:
        fn = sw__ws_unmask_impl(SW__WS_UNMASK_AVX512);
        break;
    case V_BEST:
        fn = sw__ws_unmask_impl(SW__WS_UNMASK_BEST);
        break;
    default:
        break;
    }
    if (v != V_MEMCPY && v != V_DECODER && !fn) {
        return 0;
    }
    uint64_t t0 = now_ns();
    if (v == V_MEMCPY) {
        for (size_t i = 0; i < iters; i++) {
            memcpy_fn(dst + slot * stride, src + slot * stride, n);
            clobber(dst);
            slot = slot + 1 == slots ? 0 : slot + 1;
        }
    } else if (v == V_DECODER) {
        /* The frame is unmasked in place each time, which flips it between masked and clear
         * text: the decoder does not care, and no restore copy is timed. */
        for (size_t i = 0; i < iters; i++) {
            size_t used;
            sw_ws_event_t ev;
            uint8_t *f = frames + slot * frame_stride(n);
            if (sw_ws_decoder_execute(dec, f, frame_len, &used, &ev) != SW_WS_EVENT_MESSAGE) {
                fprintf(stderr, "decoder failed\n");
                exit(1);
            }
            clobber(f);
            slot = slot + 1 == slots ? 0 : slot + 1;
        }
    } else {
        for (size_t i = 0; i < iters; i++) {
            fn(dst + slot * stride, n, key, 0);
            clobber(dst);
            slot = slot + 1 == slots ? 0 : slot + 1;
        }
    }
    uint64_t dt = now_ns() - t0;
    return (double)(iters * n) / (double)dt;
}

int main(int argc, char **argv)
{
    int rounds = 7;
    size_t total = (size_t)256 << 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--bytes") && i + 1 < argc) {
            total = (size_t)strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [--rounds R] [--bytes B]\n", argv[0]);
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        rounds = 7;
    }
    static const size_t sizes[] = {125, 4096, 65536, 1 << 20};
    const size_t maxn = 1 << 20, area = maxn + (64 << 10); /* the largest size, or the slots */
    uint8_t *src = aligned_alloc(64, area), *dst = aligned_alloc(64, area);
    uint8_t *frames = aligned_alloc(64, 2 * area);
    if (!src || !dst || !frames) {
        return 1;
    }
    for (size_t i = 0; i < area; i++) {
        src[i] = dst[i] = (uint8_t)(i * 131);
    }
    printf("kernels on this CPU:");
    for (int k = SW__WS_UNMASK_BYTE; k < SW__WS_UNMASK_COUNT_; k++) {
        if (sw__ws_unmask_impl(k)) {
            printf(" %s", sw__ws_unmask_name(k));
        }
    }
    sw__ws_unmask_fn best = sw__ws_unmask_impl(SW__WS_UNMASK_BEST);
    for (int k = SW__WS_UNMASK_BYTE; k < SW__WS_UNMASK_COUNT_; k++) {
        if (sw__ws_unmask_impl(k) == best) {
            printf(" (best: %s)", sw__ws_unmask_name(k));
        }
    }
    printf("\nmedian GB/s of %d rounds, ~%zu MiB per measurement\n\n", rounds, total >> 20);
    printf("%-8s", "size");
    for (int v = 0; v < V_COUNT; v++) {
        printf(" %9s", vnames[v]);
    }
    printf(" %12s\n", "best/memcpy");
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t n = sizes[s];
        sw_ws_decoder_options_t o;
        sw_ws_decoder_options_init(&o);
        o.max_message_size = maxn;
        sw_ws_decoder_t *dec;
        if (sw_ws_decoder_create(&dec, &o) < 0) {
            return 1;
        }
        static const uint8_t key[4] = {1, 2, 3, 4};
        int h = 0;
        for (size_t k = 0; k < slots_for(n); k++) {
            uint8_t *f = frames + k * frame_stride(n);
            h = sw_ws_frame_header(f, SW_WS_OP_BINARY, SW_WS_FIN, n, key);
            memcpy(f + h, src, n);
        }
        double r[V_COUNT][MAX_ROUNDS];
        for (int round = 0; round < rounds; round++) {
            for (int v = 0; v < V_COUNT; v++) {
                r[v][round] = measure(v, src, dst, n, total, dec, frames, (size_t)h + n);
            }
        }
        double med[V_COUNT];
        for (int v = 0; v < V_COUNT; v++) {
            med[v] = median(r[v], rounds);
        }
        char label[32];
        if (n >= (1 << 20)) {
            snprintf(label, sizeof(label), "%zu MiB", n >> 20);
        } else if (n >= 1024) {
            snprintf(label, sizeof(label), "%zu KiB", n >> 10);
        } else {
            snprintf(label, sizeof(label), "%zu B", n);
        }
        printf("%-8s", label);
        for (int v = 0; v < V_COUNT; v++) {
            printf(" %9.2f", med[v]); /* 0.00: kernel not available on this CPU */
        }
        printf(" %11.2fx\n", med[V_BEST] / med[V_MEMCPY]);
        sw_ws_decoder_destroy(dec);
    }
    free(src);
    free(dst);
    free(frames);
    return 0;
}
