/*
 * Streaming multipart/form-data parser (RFC 7578, with the body syntax of RFC 2046 §5.1.1).
 *
 * The body is a preamble, then parts each introduced by the delimiter CRLF "--" boundary,
 * then the close delimiter CRLF "--" boundary "--" and an epilogue. The first delimiter may
 * start the body without the CRLF. The parser is a byte-exact state machine that keeps no
 * input between calls except two bounded things: a part's header block (copied into an
 * allocation of 2 x max_part_head bytes, because its fields are handed over whole; the second
 * half receives the unescaped name and filename), and the
 * number of delimiter bytes matched at the end of the previous input. Those matched bytes need
 * no copy: they are a prefix of the delimiter, so if the match fails they are handed to
 * on_part_data from the parser's own copy of the delimiter.
 *
 * Matching is simple because the delimiter contains exactly one CR, its first byte (a
 * boundary is made of bchars, which exclude CR and LF): a failed partial match can only
 * restart at a CR, so no KMP table is needed, and part content between CRs is skipped with
 * memchr.
 */
#include <string.h>

#include "core/alloc.h"
#include "http/http_int.h"

enum {
    MP_PREAMBLE = 0,
    MP_AFTER_DELIM, /* after "--boundary" */
    MP_DASH2,       /* after "--boundary-" */
    MP_PADDING,     /* transport padding before CRLF */
    MP_DELIM_LF,
    MP_HEAD,
    MP_DATA,
    MP_EPILOGUE,
    MP_ERROR
};

void sw_http_multipart_options_init(sw_http_multipart_options_t *opts)
{
    if (!opts) {
        return;
    }
    opts->max_part_head = 8192;
    opts->max_part_headers = 16;
    opts->max_parts = 1024;
}

static int valid_boundary(const char *b, size_t n)
{
    if (n < 1 || n > SW_HTTP_BOUNDARY_MAX || b[n - 1] == ' ') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (b[i] != ' ' && !sw__http_is((unsigned char)b[i], SW_HTTP_C_BCHAR)) {
            return 0;
        }
    }
    return 1;
}

int sw__http_param(const char *v, size_t len, const char *name, size_t name_len, size_t *off,
                   size_t *vlen, int *quoted)
{
    const char *semi = memchr(v, ';', len);
    if (!semi) {
        return 0;
    }
    size_t i = (size_t)(semi - v);
    int found = 0;
    while (i < len) {
        i++; /* ';' */
        while (i < len && (v[i] == ' ' || v[i] == '\t')) {
            i++;
        }
        if (i >= len) {
            break; /* a trailing ';' is tolerated */
        }
        size_t ns = i;
        while (i < len && sw__http_is((unsigned char)v[i], SW_HTTP_C_TCHAR)) {
            i++;
        }
        size_t nl = i - ns;
        while (i < len && (v[i] == ' ' || v[i] == '\t')) {
            i++;
        }
        if (nl == 0 || i >= len || v[i] != '=') {
            return SW_EINVAL;
        }
        i++;
        while (i < len && (v[i] == ' ' || v[i] == '\t')) {
            i++;
        }
        size_t vs, ve;
        int q = 0;
        if (i < len && v[i] == '"') {
            q = 1;
            vs = ++i;
            while (i < len && v[i] != '"') {
                if (v[i] == '\\') {
                    if (++i >= len || !sw__http_is((unsigned char)v[i], SW_HTTP_C_FIELD)) {
                        return SW_EINVAL;
                    }
                } else if (!sw__http_is((unsigned char)v[i], SW_HTTP_C_QDTEXT)) {
                    return SW_EINVAL;
                }
                i++;
            }
            if (i >= len) {
                return SW_EINVAL;
            }
            ve = i++;
        } else {
            vs = i;
            while (i < len && sw__http_is((unsigned char)v[i], SW_HTTP_C_TCHAR)) {
                i++;
            }
            ve = i;
            if (ve == vs) {
                return SW_EINVAL;
            }
        }
        while (i < len && (v[i] == ' ' || v[i] == '\t')) {
            i++;
        }
        if (i < len && v[i] != ';') {
            return SW_EINVAL;
        }
        if (!found && nl == name_len && sw__http_casecmp(v + ns, name, nl) == 0) {
            *off = vs;
            *vlen = ve - vs;
            *quoted = q;
            found = 1;
        }
    }
    return found;
}

int sw_http_multipart_boundary(const char *ctype, size_t len, const char **boundary,
                               size_t *boundary_len)
{
    if (!ctype || !boundary || !boundary_len) {
        return SW_EINVAL;
    }
    size_t i = 0;
    while (i < len && (ctype[i] == ' ' || ctype[i] == '\t')) {
        i++;
    }
    if (len - i < 10 || sw__http_casecmp(ctype + i, "multipart/", 10) != 0) {
        return SW_EHTTP_MULTIPART;
    }
    size_t off, blen;
    int quoted;
    if (sw__http_param(ctype, len, "boundary", 8, &off, &blen, &quoted) != 1) {
        return SW_EHTTP_MULTIPART;
    }
    if (!valid_boundary(ctype + off, blen)) {
        return SW_EHTTP_MULTIPART;
    }
    *boundary = ctype + off;
    *boundary_len = blen;
    return 0;
}

int sw_http_multipart_init(sw_http_multipart_t *mp, const char *boundary, size_t boundary_len,
                           const sw_http_multipart_options_t *opts,
                           const sw_http_multipart_callbacks_t *cb, void *arg)
{
    sw_http_multipart_options_t def;
    if (!mp || !cb || !boundary || !valid_boundary(boundary, boundary_len)) {
        return SW_EINVAL;
    }
    if (!opts) {
        sw_http_multipart_options_init(&def);
        opts = &def;
    }
    if (opts->max_part_head < 4 || opts->max_part_headers == 0 || opts->max_parts == 0) {
        return SW_EINVAL;
    }
    void *data = mp->data;
    memset(mp, 0, sizeof(*mp));
    mp->data = data;
    mp->head_ = sw__malloc((size_t)opts->max_part_head * 2); /* header bytes, then scratch */
    mp->hdrs_ = sw__calloc(opts->max_part_headers, sizeof(sw_http_header_t));
    if (!mp->head_ || !mp->hdrs_) {
        sw__free(mp->head_);
        sw__free(mp->hdrs_);
        mp->head_ = NULL;
        mp->hdrs_ = NULL;
        return SW_ENOMEM;
    }
    memcpy(mp->delim_, "\r\n--", 4);
    memcpy(mp->delim_ + 4, boundary, boundary_len);
    mp->delim_len_ = (uint8_t)(4 + boundary_len);
    mp->match_ = 2; /* the first delimiter may start the body without its CRLF */
    mp->cb_ = *cb;
    mp->arg_ = arg;
    mp->opts_ = *opts;
    mp->state_ = MP_PREAMBLE;
    return 0;
}

void sw_http_multipart_close(sw_http_multipart_t *mp)
{
    if (!mp) {
        return;
    }
    sw__free(mp->head_);
    sw__free(mp->hdrs_);
    mp->head_ = NULL;
    mp->hdrs_ = NULL;
}

static int fail(sw_http_multipart_t *mp, int code)
{
    mp->error = code;
    mp->state_ = MP_ERROR;
    return code;
}

/* Copies s[0, n) to `out` without the backslashes of quoted-pairs; returns the new length. */
static size_t unquote(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            i++;
        }
        out[o++] = s[i];
    }
    return o;
}

/* Splits the part's header block (head_[0, head_len_), ending in an empty line) into fields,
 * reads Content-Disposition and Content-Type, and calls on_part_begin. */
static int part_begin(sw_http_multipart_t *mp)
{
    char *h = mp->head_;
    size_t n = mp->head_len_ - 2, i = 0, count = 0;
    sw_http_part_t part;
    memset(&part, 0, sizeof(part));
    while (i < n) {
        size_t ns = i;
        while (i < n && sw__http_is((unsigned char)h[i], SW_HTTP_C_TCHAR)) {
            i++;
        }
        if (i == ns || i >= n || h[i] != ':') {
            return fail(mp, SW_EHTTP_MULTIPART);
        }
        size_t nl = i - ns;
        i++;
        while (i < n && (h[i] == ' ' || h[i] == '\t')) {
            i++;
        }
        size_t vs = i;
        while (i < n && sw__http_is((unsigned char)h[i], SW_HTTP_C_FIELD)) {
            i++;
        }
        /* Every line ends in CRLF: the block was cut at the first CRLF CRLF. */
        if (i + 1 >= n + 2 || h[i] != '\r' || h[i + 1] != '\n') {
            return fail(mp, SW_EHTTP_MULTIPART);
        }
        size_t ve = i;
        while (ve > vs && (h[ve - 1] == ' ' || h[ve - 1] == '\t')) {
            ve--;
        }
        i += 2;
        if (count >= mp->opts_.max_part_headers) {
            return fail(mp, SW_EHTTP_LIMIT);
        }
        sw_http_header_t *f = &mp->hdrs_[count++];
        f->name.off = (uint32_t)ns;
        f->name.len = (uint32_t)nl;
        f->value.off = (uint32_t)vs;
        f->value.len = (uint32_t)(ve - vs);
    }
    int disp = 0;
    for (size_t k = 0; k < count; k++) {
        const sw_http_header_t *f = &mp->hdrs_[k];
        char *v = h + f->value.off;
        size_t vl = f->value.len;
        if (f->name.len == 12 && sw__http_name_eq(h + f->name.off, "content-type", 12)) {
            part.content_type = v;
            part.content_type_len = vl;
            continue;
        }
        if (f->name.len != 19 || !sw__http_name_eq(h + f->name.off, "content-disposition", 19)) {
            continue;
        }
        if (disp++ || vl < 9 || sw__http_casecmp(v, "form-data", 9) != 0 ||
            (vl > 9 && v[9] != ';' && v[9] != ' ' && v[9] != '\t')) {
            return fail(mp, SW_EHTTP_MULTIPART);
        }
        /* Quoted values are unescaped into the scratch half of the allocation, so the
         * header bytes stay as received. */
        size_t noff, nlen, foff = 0, flen = 0;
        int nq, fq = 0;
        if (sw__http_param(v, vl, "name", 4, &noff, &nlen, &nq) != 1) {
            return fail(mp, SW_EHTTP_MULTIPART);
        }
        int r = sw__http_param(v, vl, "filename", 8, &foff, &flen, &fq);
        if (r < 0) {
            return fail(mp, SW_EHTTP_MULTIPART);
        }
        char *scratch = mp->head_ + mp->opts_.max_part_head;
        part.name = v + noff;
        part.name_len = nlen;
        if (nq) {
            part.name = scratch;
            part.name_len = unquote(v + noff, nlen, scratch);
            scratch += part.name_len;
        }
        if (r == 1) {
            part.filename = v + foff;
            part.filename_len = flen;
            if (fq) {
                part.filename = scratch;
                part.filename_len = unquote(v + foff, flen, scratch);
            }
        }
    }
    /* RFC 7578 §4.2: every part has a Content-Disposition of type form-data with a name. */
    if (!disp) {
        return fail(mp, SW_EHTTP_MULTIPART);
    }
    part.head = h;
    part.headers = mp->hdrs_;
    part.num_headers = count;
    if (mp->cb_.on_part_begin) {
        int r = mp->cb_.on_part_begin(mp, &part, mp->arg_);
        if (r < 0) {
            return fail(mp, r);
        }
    }
    return 0;
}

static int emit(sw_http_multipart_t *mp, const char *d, size_t n)
{
    if (n == 0 || mp->state_ != MP_DATA || !mp->cb_.on_part_data) {
        return 0;
    }
    int r = mp->cb_.on_part_data(mp, d, n, mp->arg_);
    return r < 0 ? fail(mp, r) : 0;
}

/* Matches the delimiter in buf[*i, len) (the body of a part, or the preamble, which emit()
 * drops). Returns 1 when a whole delimiter was matched, 0 when the input ran out, < 0 on
 * error. */
static int find_delimiter(sw_http_multipart_t *mp, const char *buf, size_t len, size_t *i)
{
    const size_t dlen = mp->delim_len_;
    while (*i < len) {
        if (mp->match_ > 0) {
            while (*i < len && mp->match_ < dlen && buf[*i] == mp->delim_[mp->match_]) {
                (*i)++;
                mp->match_++;
            }
            if (mp->match_ == dlen) {
                mp->match_ = 0;
                return 1;
            }
            if (*i >= len) {
                return 0;
            }
            /* Mismatch: the matched bytes were content after all. */
            size_t held = mp->match_;
            mp->match_ = 0;
            if (emit(mp, mp->delim_, held) < 0) {
                return mp->error;
            }
            continue;
        }
        const char *cr = memchr(buf + *i, '\r', len - *i);
        size_t stop = cr ? (size_t)(cr - buf) : len;
        if (emit(mp, buf + *i, stop - *i) < 0) {
            return mp->error;
        }
        *i = stop;
        if (cr) {
            (*i)++;
            mp->match_ = 1;
        }
    }
    return 0;
}

int sw_http_multipart_execute(sw_http_multipart_t *mp, const char *buf, size_t len)
{
    if (!mp || (!buf && len > 0)) {
        return SW_EINVAL;
    }
    if (mp->error) {
        return mp->error;
    }
    if (!mp->head_) {
        return SW_EINVAL;
    }
    size_t i = 0;
    int r;
    while (i < len) {
        unsigned char c = (unsigned char)buf[i];
        switch (mp->state_) {
        case MP_PREAMBLE:
        case MP_DATA:
            r = find_delimiter(mp, buf, len, &i);
            if (r < 0) {
                return r;
            }
            if (r == 1) {
                if (mp->state_ == MP_DATA && mp->cb_.on_part_end) {
                    r = mp->cb_.on_part_end(mp, mp->arg_);
                    if (r < 0) {
                        return fail(mp, r);
                    }
                }
                mp->state_ = MP_AFTER_DELIM;
            }
            break;
        case MP_AFTER_DELIM:
            if (c == '-') {
                mp->state_ = MP_DASH2;
            } else if (c == ' ' || c == '\t') {
                mp->state_ = MP_PADDING;
            } else if (c == '\r') {
                mp->state_ = MP_DELIM_LF;
            } else {
                return fail(mp, SW_EHTTP_MULTIPART);
            }
            i++;
            break;
        case MP_DASH2:
            if (c != '-') {
                return fail(mp, SW_EHTTP_MULTIPART);
            }
            mp->state_ = MP_EPILOGUE;
            return SW_HTTP_MESSAGE_DONE;
        case MP_PADDING:
            if (c == '\r') {
                mp->state_ = MP_DELIM_LF;
            } else if (c != ' ' && c != '\t') {
                return fail(mp, SW_EHTTP_MULTIPART);
            }
            i++;
            break;
        case MP_DELIM_LF:
            if (c != '\n') {
                return fail(mp, SW_EHTTP_MULTIPART);
            }
            if (++mp->parts_ > mp->opts_.max_parts) {
                return fail(mp, SW_EHTTP_LIMIT);
            }
            mp->head_len_ = 0;
            mp->state_ = MP_HEAD;
            i++;
            break;
        case MP_HEAD:
            if (mp->head_len_ >= mp->opts_.max_part_head) {
                return fail(mp, SW_EHTTP_LIMIT);
            }
            mp->head_[mp->head_len_++] = (char)c;
            i++;
            if (c == '\n') {
                uint32_t n = mp->head_len_;
                if (n < 2 || mp->head_[n - 2] != '\r') {
                    return fail(mp, SW_EHTTP_MULTIPART); /* bare LF */
                }
                if (n == 2 || (n >= 4 && mp->head_[n - 3] == '\n')) {
                    if ((r = part_begin(mp)) < 0) {
                        return r;
                    }
                    mp->state_ = MP_DATA;
                    mp->match_ = 0;
                }
            } else if (mp->head_len_ >= 2 && mp->head_[mp->head_len_ - 2] == '\r') {
                return fail(mp, SW_EHTTP_MULTIPART); /* bare CR */
            }
            break;
        case MP_EPILOGUE:
            return SW_HTTP_MESSAGE_DONE;
        default:
            return fail(mp, SW_EINVAL);
        }
    }
    return mp->state_ == MP_EPILOGUE ? SW_HTTP_MESSAGE_DONE : SW_HTTP_PARTIAL;
}

int sw_http_multipart_finish(sw_http_multipart_t *mp)
{
    if (!mp) {
        return SW_EINVAL;
    }
    if (mp->error) {
        return mp->error;
    }
    if (mp->state_ == MP_EPILOGUE) {
        return SW_HTTP_MESSAGE_DONE;
    }
    return fail(mp, SW_EHTTP_MULTIPART);
}
