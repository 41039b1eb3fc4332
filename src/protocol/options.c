/*
 * Framing specs: defaults, validation, and setting options by Swoole's names from strings.
 *
 * The names and defaults are Swoole's (ListenPort's constructor and the port settings of the
 * PHP extension: 'N', body offset 4, "\r\n", 2 MiB; offsets held in 16 bits). Where Swoole
 * clamps or ignores a bad value, we refuse it: a binding passing a user's settings through
 * must learn that a value was wrong, not get a different one.
 */
#include <stdbool.h>
#include <string.h>

#include "protocol/protocol_int.h"

void sw_protocol_init(sw_protocol_t *p)
{
    if (!p) {
        return;
    }
    *p = (sw_protocol_t){
        .open_eof_check = false,
        .open_eof_split = false,
        .open_length_check = false,
        .package_eof_len = 2,
        .package_eof = {'\r', '\n'},
        .package_length_type = 'N',
        .package_length_offset = 0,
        .package_body_offset = 4,
        .package_max_length = SW_PROTOCOL_DEFAULT_MAX_LENGTH,
        .package_length_func = NULL,
        .package_length_arg = NULL,
        .open_http_protocol = false,
        .http_max_header_size = 65536,
        .open_websocket_protocol = false,
        .websocket_max_frame_size = 0,
        .http_piece_size = 0,
    };
}

int sw_protocol_length_size(char type)
{
    switch (type) {
    case 'c':
    case 'C':
        return 1;
    case 's':
    case 'S':
    case 'n':
    case 'v':
        return 2;
    case 'l':
    case 'L':
    case 'N':
    case 'V':
        return 4;
    default:
        return SW_EOPTION_VALUE;
    }
}

sw_framing_t sw_protocol_mode(const sw_protocol_t *p)
{
    if (!p) {
        return SW_FRAMING_NONE;
    }
    if (p->open_http_protocol) {
        return SW_FRAMING_HTTP;
    }
    if (p->open_eof_split) {
        return SW_FRAMING_EOF_SPLIT;
    }
    if (p->open_eof_check) {
        return SW_FRAMING_EOF_CHECK;
    }
    if (p->open_length_check) {
        return SW_FRAMING_LENGTH;
    }
    return SW_FRAMING_NONE;
}

int sw_protocol_check(const sw_protocol_t *p)
{
    if (!p) {
        return SW_EINVAL;
    }
    bool eof = p->open_eof_check || p->open_eof_split;
    if (eof && p->open_length_check) {
        return SW_EOPTION_VALUE;
    }
    if (p->open_http_protocol) {
        if (eof || p->open_length_check || p->http_max_header_size < 64 ||
            p->http_max_header_size > 0x7fffffffu) {
            return SW_EOPTION_VALUE;
        }
    }
    if (p->package_max_length == 0 || p->package_max_length > SW_PROTOCOL_MAX_LENGTH_LIMIT) {
        return SW_EOPTION_VALUE;
    }
    if (p->websocket_max_frame_size > SW_PROTOCOL_MAX_LENGTH_LIMIT ||
        p->http_piece_size > SW_PROTOCOL_MAX_LENGTH_LIMIT) {
        return SW_EOPTION_VALUE;
    }
    if (p->package_length_offset > SW_PROTOCOL_OFFSET_MAX ||
        p->package_body_offset > SW_PROTOCOL_OFFSET_MAX) {
        return SW_EOPTION_VALUE;
    }
    if (eof) {
        if (p->package_eof_len == 0 || p->package_eof_len > SW_PROTOCOL_EOF_MAX ||
            p->package_max_length < p->package_eof_len) {
            return SW_EOPTION_VALUE;
        }
    }
    if (p->open_length_check && !p->package_length_func) {
        int size = sw_protocol_length_size(p->package_length_type);
        if (size < 0) {
            return SW_EOPTION_VALUE;
        }
        if (p->package_max_length < (size_t)p->package_length_offset + (size_t)size) {
            return SW_EOPTION_VALUE;
        }
    }
    return 0;
}

int sw_protocol_set_eof(sw_protocol_t *p, const void *eof, size_t len)
{
    if (!p || !eof) {
        return SW_EINVAL;
    }
    if (len == 0 || len > SW_PROTOCOL_EOF_MAX) {
        return SW_EOPTION_VALUE;
    }
    memcpy(p->package_eof, eof, len);
    p->package_eof_len = (uint8_t)len;
    return 0;
}

/* "1"/"true" and "0"/"false", nothing else. */
static int parse_bool(const char *s, bool *out)
{
    if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0) {
        *out = false;
        return 0;
    }
    return SW_EOPTION_VALUE;
}

/* Plain decimal digits, at least one, value in [lo, hi]. Stops accumulating once past hi, so
 * a long string of digits cannot overflow. */
static int parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (*s == '\0') {
        return SW_EOPTION_VALUE;
    }
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return SW_EOPTION_VALUE;
        }
        if (v <= hi) {
            v = v * 10 + (uint64_t)(*s - '0');
        }
    }
    if (v < lo || v > hi) {
        return SW_EOPTION_VALUE;
    }
    *out = v;
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Unescapes package_eof: \r \n \t \0 \\ \xHH; 1..SW_PROTOCOL_EOF_MAX bytes. */
static int parse_eof(const char *s, char *out, size_t *out_len)
{
    size_t n = 0;
    while (*s) {
        char c = *s++;
        if (c == '\\') {
            char e = *s++;
            switch (e) {
            case 'r':
                c = '\r';
                break;
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case '0':
                c = '\0';
                break;
            case '\\':
                c = '\\';
                break;
            case 'x': {
                int hi = hex_digit(s[0]);
                int lo = hi < 0 ? -1 : hex_digit(s[1]);
                if (lo < 0) {
                    return SW_EOPTION_VALUE;
                }
                c = (char)(unsigned char)(hi << 4 | lo);
                s += 2;
                break;
            }
            default: /* an unknown escape, or a backslash at the end */
                return SW_EOPTION_VALUE;
            }
        }
        if (n == SW_PROTOCOL_EOF_MAX) {
            return SW_EOPTION_VALUE;
        }
        out[n++] = c;
    }
    if (n == 0) {
        return SW_EOPTION_VALUE;
    }
    *out_len = n;
    return 0;
}

int sw_protocol_set_option(sw_protocol_t *p, const char *name, const char *value)
{
    if (!p || !name || !value) {
        return SW_EINVAL;
    }
    /* Work on a copy so that a failure leaves `p` as it was. */
    sw_protocol_t q = *p;
    int rc;
    bool b;
    uint64_t v;
    if (strcmp(name, "open_eof_check") == 0) {
        if ((rc = parse_bool(value, &b)) < 0) {
            return rc;
        }
        q.open_eof_check = b;
    } else if (strcmp(name, "open_eof_split") == 0) {
        if ((rc = parse_bool(value, &b)) < 0) {
            return rc;
        }
        q.open_eof_split = b;
        if (b) {
            q.open_eof_check = true;
        }
    } else if (strcmp(name, "open_length_check") == 0) {
        if ((rc = parse_bool(value, &b)) < 0) {
            return rc;
        }
        q.open_length_check = b;
    } else if (strcmp(name, "package_eof") == 0) {
        size_t n;
        if ((rc = parse_eof(value, q.package_eof, &n)) < 0) {
            return rc;
        }
        q.package_eof_len = (uint8_t)n;
    } else if (strcmp(name, "package_length_type") == 0) {
        if (value[0] == '\0' || value[1] != '\0' || sw_protocol_length_size(value[0]) < 0) {
            return SW_EOPTION_VALUE;
        }
        q.package_length_type = value[0];
    } else if (strcmp(name, "package_length_offset") == 0) {
        if ((rc = parse_uint(value, 0, SW_PROTOCOL_OFFSET_MAX, &v)) < 0) {
            return rc;
        }
        q.package_length_offset = (uint32_t)v;
    } else if (strcmp(name, "package_body_offset") == 0 ||
               strcmp(name, "package_body_start") == 0) {
        if ((rc = parse_uint(value, 0, SW_PROTOCOL_OFFSET_MAX, &v)) < 0) {
            return rc;
        }
        q.package_body_offset = (uint32_t)v;
    } else if (strcmp(name, "package_max_length") == 0) {
        if ((rc = parse_uint(value, 1, SW_PROTOCOL_MAX_LENGTH_LIMIT, &v)) < 0) {
            return rc;
        }
        q.package_max_length = (size_t)v;
    } else if (strcmp(name, "open_http_protocol") == 0) {
        if ((rc = parse_bool(value, &b)) < 0) {
            return rc;
        }
        q.open_http_protocol = b;
    } else if (strcmp(name, "http_max_header_size") == 0) {
        if ((rc = parse_uint(value, 64, 0x7fffffffu, &v)) < 0) {
            return rc;
        }
        q.http_max_header_size = (uint32_t)v;
    } else if (strcmp(name, "open_websocket_protocol") == 0) {
        if ((rc = parse_bool(value, &b)) < 0) {
            return rc;
        }
        q.open_websocket_protocol = b;
        if (b) {
            q.open_http_protocol = true; /* as Swoole: a WebSocket port speaks HTTP first */
        }
    } else if (strcmp(name, "websocket_max_frame_size") == 0) {
        if ((rc = parse_uint(value, 1, SW_PROTOCOL_MAX_LENGTH_LIMIT, &v)) < 0) {
            return rc;
        }
        q.websocket_max_frame_size = v;
    } else if (strcmp(name, "http_piece_size") == 0) {
        if ((rc = parse_uint(value, 0, SW_PROTOCOL_MAX_LENGTH_LIMIT, &v)) < 0) {
            return rc;
        }
        q.http_piece_size = (size_t)v;
    } else {
        return SW_EOPTION_UNKNOWN;
    }
    *p = q;
    return 0;
}
