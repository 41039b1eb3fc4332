/*
 * libFuzzer target: sw_protocol_set_option with arbitrary names and values. Input: name, a
 * NUL byte, value (a value without a NUL is used with the name "package_eof"). Checks: the
 * result is 0, SW_EOPTION_UNKNOWN or SW_EOPTION_VALUE; a failed call leaves the spec as it
 * was; one accepted option on a default spec always passes sw_protocol_check; an accepted
 * package_eof is 1..8 bytes; an accepted integer option prints back to the same number
 * (after leading zeros), so nothing out of range or non-decimal slips through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swoole/error.h"
#include "swoole/protocol.h"

static void same_spec(const sw_protocol_t *a, const sw_protocol_t *b)
{
    if (a->open_eof_check != b->open_eof_check || a->open_eof_split != b->open_eof_split ||
        a->open_length_check != b->open_length_check || a->package_eof_len != b->package_eof_len ||
        memcmp(a->package_eof, b->package_eof, sizeof a->package_eof) != 0 ||
        a->package_length_type != b->package_length_type ||
        a->package_length_offset != b->package_length_offset ||
        a->package_body_offset != b->package_body_offset ||
        a->package_max_length != b->package_max_length) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 2);
    if (!buf) {
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    buf[size + 1] = '\0';
    const char *name = buf, *value;
    char *nul = memchr(buf, '\0', size);
    if (nul) {
        value = nul + 1;
    } else {
        name = "package_eof";
        value = buf;
    }
    sw_protocol_t p, before;
    sw_protocol_init(&p);
    before = p;
    int rc = sw_protocol_set_option(&p, name, value);
    if (rc == SW_EOPTION_UNKNOWN || rc == SW_EOPTION_VALUE) {
        same_spec(&p, &before);
    } else if (rc == 0) {
        if (sw_protocol_check(&p) != 0) {
            abort();
        }
        if (p.package_eof_len < 1 || p.package_eof_len > SW_PROTOCOL_EOF_MAX) {
            abort();
        }
        unsigned long long v = 0;
        int is_int = 1;
        if (strcmp(name, "package_length_offset") == 0) {
            v = p.package_length_offset;
        } else if (strcmp(name, "package_body_offset") == 0 ||
                   strcmp(name, "package_body_start") == 0) {
            v = p.package_body_offset;
        } else if (strcmp(name, "package_max_length") == 0) {
            v = p.package_max_length;
        } else {
            is_int = 0;
        }
        if (is_int) {
            const char *digits = value;
            while (digits[0] == '0' && digits[1] != '\0') {
                digits++;
            }
            char printed[32];
            snprintf(printed, sizeof printed, "%llu", v);
            if (strcmp(printed, digits) != 0) {
                abort();
            }
        }
    } else {
        abort();
    }
    free(buf);
    return 0;
}
