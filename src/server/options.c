/*
 * Options by name: the tables that map Swoole's setting names to the fields of
 * sw_server_options_t and sw_port_options_t, the string parsers, and the whole-struct checks
 * (the same ranges apply whether a field is set by name or by a C program).
 *
 * Parsing is strict: a value must be the whole string (no spaces, no trailing characters, no
 * sign where none is allowed), so a binding that passes a user's settings through never has
 * a typo taken for a default.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/alloc.h"
#include "server/server_int.h"
#include "swoole/error.h"

typedef enum {
    T_BOOL,
    T_INT,
    T_UINT,
    T_SIZE,
    T_SECONDS,
    T_STRING,
    T_LOGLEVEL,
    T_CPULIST,
    T_CHARS /* a char array field (copied, NUL-terminated, must fit) */
} opt_type_t;

typedef struct {
    const char *name;
    opt_type_t type;
    size_t off;  /* in sw_server_options_t or sw_port_options_t */
    size_t size; /* bytes of the field */
    double min;  /* numeric range, inclusive */
    double max;
} opt_t;

#define SRV(f) offsetof(sw_server_options_t, f), sizeof(((sw_server_options_t *)0)->f)
#define PRT(f) offsetof(sw_port_options_t, f), sizeof(((sw_port_options_t *)0)->f)

/* Server options. worker_num, task_worker_num and reactor_num get their CPU-based upper bounds
 * in check_dynamic(). */
static const opt_t server_opts[] = {
    {"worker_num", T_INT, SRV(worker_num), 1, 1e9},
    {"reactor_num", T_INT, SRV(reactor_num), 1, 1e9},
    {"task_worker_num", T_INT, SRV(task_worker_num), 0, 1e9},
    {"dispatch_mode", T_INT, SRV(dispatch_mode), 1, 5},
    {"max_conn", T_INT, SRV(max_conn), 1, SW__MAX_CONN_LIMIT},
    {"max_connection", T_INT, SRV(max_conn), 1, SW__MAX_CONN_LIMIT},
    {"max_request", T_UINT, SRV(max_request), 0, 4294967295.0},
    {"max_wait_time", T_SECONDS, SRV(max_wait_time), 0.001, 86400},
    {"reload_async", T_BOOL, SRV(reload_async), 0, 1},
    {"heartbeat_check_interval", T_SECONDS, SRV(heartbeat_check_interval), 0, 86400},
    {"heartbeat_idle_time", T_SECONDS, SRV(heartbeat_idle_time), 0, 86400 * 30},
    {"enable_reuse_port", T_BOOL, SRV(enable_reuse_port), 0, 1},
    {"enable_unsafe_event", T_BOOL, SRV(enable_unsafe_event), 0, 1},
    {"discard_timeout_request", T_BOOL, SRV(discard_timeout_request), 0, 1},
    {"max_queued_bytes", T_SIZE, SRV(max_queued_bytes), 0, 1099511627776.0},
    {"daemonize", T_BOOL, SRV(daemonize), 0, 1},
    {"pid_file", T_STRING, SRV(pid_file), 0, 0},
    {"log_file", T_STRING, SRV(log_file), 0, 0},
    {"log_level", T_LOGLEVEL, SRV(log_level), SW_LOG_TRACE, SW_LOG_NONE},
    {"user", T_STRING, SRV(user), 0, 0},
    {"group", T_STRING, SRV(group), 0, 0},
    {"chroot", T_STRING, SRV(chroot), 0, 0},
    {"open_cpu_affinity", T_BOOL, SRV(open_cpu_affinity), 0, 1},
    {"cpu_affinity_ignore", T_CPULIST, SRV(cpu_affinity_ignore), 0, 0},
    {"task_ipc_mode", T_INT, SRV(task_ipc_mode), 1, 3},
    {"message_queue_key", T_INT, SRV(message_queue_key), 0, 2147483647.0},
    {"task_max_request", T_UINT, SRV(task_max_request), 0, 4294967295.0},
    {"task_tmpdir", T_CHARS, SRV(task_tmpdir), 0, 200},
};

/* Port options; the index of an entry is its bit in sw_port_t.own_mask. */
static const opt_t port_opts[] = {
    {"backlog", T_INT, PRT(backlog), 1, 65535},
    {"socket_buffer_size", T_SIZE, PRT(socket_buffer_size), 4096, 1073741824.0},
    {"buffer_high_watermark", T_SIZE, PRT(buffer_high_watermark), 0, 1073741824.0},
    {"buffer_low_watermark", T_SIZE, PRT(buffer_low_watermark), 0, 1073741824.0},
    {"open_tcp_nodelay", T_BOOL, PRT(open_tcp_nodelay), 0, 1},
    {"tcp_defer_accept", T_INT, PRT(tcp_defer_accept), 0, 86400},
    {"open_tcp_keepalive", T_BOOL, PRT(open_tcp_keepalive), 0, 1},
    {"tcp_keepidle", T_INT, PRT(tcp_keepidle), 1, 32767},
    {"tcp_keepinterval", T_INT, PRT(tcp_keepinterval), 1, 32767},
    {"tcp_keepcount", T_INT, PRT(tcp_keepcount), 1, 127},
    {"kernel_socket_recv_buffer_size", T_INT, PRT(kernel_socket_recv_buffer_size), 0, 2147483647.0},
    {"kernel_socket_send_buffer_size", T_INT, PRT(kernel_socket_send_buffer_size), 0, 2147483647.0},
};

#define NSERVER (sizeof(server_opts) / sizeof(server_opts[0]))
#define NPORT   (sizeof(port_opts) / sizeof(port_opts[0]))

_Static_assert(NPORT <= 64, "port option bits fit in own_mask");

int sw__cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* ---- parsers ------------------------------------------------------------------------------ */

static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s) {
        return SW_EOPTION_VALUE;
    }
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') {
            return SW_EOPTION_VALUE;
        }
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return SW_EOPTION_VALUE;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "1") || !strcmp(s, "true")) {
        *out = true;
        return 0;
    }
    if (!strcmp(s, "0") || !strcmp(s, "false")) {
        *out = false;
        return 0;
    }
    return SW_EOPTION_VALUE;
}

/* Decimal seconds: digits with an optional fraction ("3", "0.5", ".25"); no sign, exponent,
 * hex, inf or nan. */
static int parse_seconds(const char *s, double *out)
{
    int digits = 0, dots = 0;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            digits++;
        } else if (*p == '.' && dots == 0) {
            dots++;
        } else {
            return SW_EOPTION_VALUE;
        }
    }
    if (digits == 0) {
        return SW_EOPTION_VALUE;
    }
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno || !end || *end || !isfinite(v)) {
        return SW_EOPTION_VALUE;
    }
    *out = v;
    return 0;
}

static int parse_loglevel(const char *s, int *out)
{
    static const char *names[] = {"trace", "debug", "info", "notice", "warning", "error", "none"};
    for (int i = 0; i < 7; i++) {
        if (!strcasecmp(s, names[i])) {
            *out = i;
            return 0;
        }
    }
    uint64_t v;
    if (parse_u64(s, &v) < 0 || v > SW_LOG_NONE) {
        return SW_EOPTION_VALUE;
    }
    *out = (int)v;
    return 0;
}

/* "0,1,5": up to 64 CPU numbers (each below 65536); "" clears the list. */
static int parse_cpulist(const char *s, int *list, int *n)
{
    int tmp[64];
    int count = 0;
    const char *p = s;
    while (*p) {
        char num[16];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof(num) || count == 64) {
            return SW_EOPTION_VALUE;
        }
        memcpy(num, p, len);
        num[len] = 0;
        uint64_t v;
        if (parse_u64(num, &v) < 0 || v > 65535) {
            return SW_EOPTION_VALUE;
        }
        tmp[count++] = (int)v;
        p += len;
        if (*p == ',') {
            p++;
            if (!*p) {
                return SW_EOPTION_VALUE;
            }
        }
    }
    memcpy(list, tmp, (size_t)count * sizeof(int));
    *n = count;
    return 0;
}

/* ---- numeric fields through the table ----------------------------------------------------- */

static double get_num(const opt_t *o, const void *base)
{
    const char *f = (const char *)base + o->off;
    switch (o->type) {
    case T_BOOL:
        return *(const bool *)f;
    case T_INT:
    case T_LOGLEVEL:
        return *(const int *)f;
    case T_UINT:
        return *(const unsigned *)f;
    case T_SIZE:
        return (double)*(const size_t *)f;
    case T_SECONDS:
        return *(const double *)f;
    default:
        return 0;
    }
}

static double dyn_max(const opt_t *o)
{
    int cpus = sw__cpu_count();
    if (!strcmp(o->name, "worker_num") || !strcmp(o->name, "task_worker_num")) {
        return 1000.0 * cpus;
    }
    if (!strcmp(o->name, "reactor_num")) {
        return 4.0 * cpus;
    }
    return o->max;
}

static int check_field(const opt_t *o, const void *base)
{
    if (o->type == T_STRING || o->type == T_CPULIST || o->type == T_BOOL) {
        return 0;
    }
    if (o->type == T_CHARS) {
        return strnlen((const char *)base + o->off, o->size) <= (size_t)o->max ? 0
                                                                               : SW_EOPTION_VALUE;
    }
    double v = get_num(o, base);
    if (!(v >= o->min && v <= dyn_max(o))) {
        return SW_EOPTION_VALUE;
    }
    return 0;
}

/* Parses `value` for a numeric/bool entry into `base`. */
static int set_num(const opt_t *o, void *base, const char *value)
{
    char *f = (char *)base + o->off;
    uint64_t u;
    double d;
    bool b;
    int lv;
    switch (o->type) {
    case T_BOOL:
        if (parse_bool(value, &b) < 0) {
            return SW_EOPTION_VALUE;
        }
        *(bool *)f = b;
        return 0;
    case T_INT:
        if (parse_u64(value, &u) < 0 || (double)u < o->min || (double)u > dyn_max(o)) {
            return SW_EOPTION_VALUE;
        }
        *(int *)f = (int)u;
        return 0;
    case T_UINT:
        if (parse_u64(value, &u) < 0 || (double)u < o->min || (double)u > o->max) {
            return SW_EOPTION_VALUE;
        }
        *(unsigned *)f = (unsigned)u;
        return 0;
    case T_SIZE:
        if (parse_u64(value, &u) < 0 || (double)u < o->min || (double)u > o->max) {
            return SW_EOPTION_VALUE;
        }
        *(size_t *)f = (size_t)u;
        return 0;
    case T_SECONDS:
        if (parse_seconds(value, &d) < 0 || d < o->min || d > o->max) {
            return SW_EOPTION_VALUE;
        }
        *(double *)f = d;
        return 0;
    case T_LOGLEVEL:
        if (parse_loglevel(value, &lv) < 0) {
            return SW_EOPTION_VALUE;
        }
        *(int *)f = lv;
        return 0;
    default:
        return SW_EOPTION_VALUE;
    }
}

static const opt_t *find(const opt_t *tab, size_t n, const char *name, size_t *index)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(tab[i].name, name)) {
            if (index) {
                *index = i;
            }
            return &tab[i];
        }
    }
    return NULL;
}

/* ---- strings ------------------------------------------------------------------------------- */

/* The server-owned copy behind each string option. */
static char **owned_slot(sw_server_t *srv, const char *name)
{
    if (!strcmp(name, "pid_file")) {
        return &srv->s_pid_file;
    }
    if (!strcmp(name, "log_file")) {
        return &srv->s_log_file;
    }
    if (!strcmp(name, "user")) {
        return &srv->s_user;
    }
    if (!strcmp(name, "group")) {
        return &srv->s_group;
    }
    return &srv->s_chroot;
}

static int set_string(sw_server_t *srv, const opt_t *o, const char *value)
{
    char *copy = NULL;
    if (*value) {
        if (strlen(value) >= 4096) {
            return SW_EOPTION_VALUE;
        }
        copy = sw__strdup(value);
        if (!copy) {
            return SW_ENOMEM;
        }
    }
    char **slot = owned_slot(srv, o->name);
    sw__free(*slot);
    *slot = copy;
    *(const char **)((char *)&srv->o + o->off) = copy;
    return 0;
}

int sw__options_copy_strings(sw_server_t *srv, const sw_server_options_t *src)
{
    const char *vals[] = {src->pid_file, src->log_file, src->user, src->group, src->chroot};
    const char *names[] = {"pid_file", "log_file", "user", "group", "chroot"};
    char *copies[5] = {0};
    for (int i = 0; i < 5; i++) {
        if (vals[i] && *vals[i]) {
            if (strlen(vals[i]) >= 4096) {
                for (int j = 0; j < i; j++) {
                    sw__free(copies[j]);
                }
                return SW_EOPTION_VALUE;
            }
            copies[i] = sw__strdup(vals[i]);
            if (!copies[i]) {
                for (int j = 0; j < i; j++) {
                    sw__free(copies[j]);
                }
                return SW_ENOMEM;
            }
        }
    }
    for (int i = 0; i < 5; i++) {
        char **slot = owned_slot(srv, names[i]);
        sw__free(*slot);
        *slot = copies[i];
    }
    srv->o.pid_file = srv->s_pid_file;
    srv->o.log_file = srv->s_log_file;
    srv->o.user = srv->s_user;
    srv->o.group = srv->s_group;
    srv->o.chroot = srv->s_chroot;
    return 0;
}

void sw__options_free_strings(sw_server_t *srv)
{
    sw__free(srv->s_pid_file);
    sw__free(srv->s_log_file);
    sw__free(srv->s_user);
    sw__free(srv->s_group);
    sw__free(srv->s_chroot);
    srv->s_pid_file = srv->s_log_file = srv->s_user = srv->s_group = srv->s_chroot = NULL;
}

/* ---- by name ------------------------------------------------------------------------------- */

int sw__options_set(sw_server_t *srv, const char *name, const char *value)
{
    const opt_t *o = find(server_opts, NSERVER, name, NULL);
    if (o) {
        if (o->type == T_STRING) {
            return set_string(srv, o, value);
        }
        if (o->type == T_CHARS) {
            if (strlen(value) > (size_t)o->max) {
                return SW_EOPTION_VALUE;
            }
            strcpy((char *)&srv->o + o->off, value);
            return 0;
        }
        if (o->type == T_CPULIST) {
            return parse_cpulist(value, srv->o.cpu_affinity_ignore,
                                 &srv->o.cpu_affinity_ignore_num);
        }
        return set_num(o, &srv->o, value);
    }
    o = find(port_opts, NPORT, name, NULL);
    if (o) {
        return set_num(o, &srv->o.port, value);
    }
    return sw_protocol_set_option(&srv->o.port.protocol, name, value);
}

int sw__port_options_set(sw_port_t *p, const char *name, const char *value)
{
    size_t idx;
    const opt_t *o = find(port_opts, NPORT, name, &idx);
    if (o) {
        int r = set_num(o, &p->own, value);
        if (r == 0) {
            p->own_mask |= UINT64_C(1) << idx;
        }
        return r;
    }
    sw_protocol_t proto = p->own_protocol ? p->own.protocol : p->srv->o.port.protocol;
    int r = sw_protocol_set_option(&proto, name, value);
    if (r == 0) {
        p->own.protocol = proto;
        p->own_protocol = true;
    }
    return r;
}

/* ---- whole structs ------------------------------------------------------------------------- */

int sw__options_check_port(const sw_port_options_t *o)
{
    for (size_t i = 0; i < NPORT; i++) {
        if (check_field(&port_opts[i], o) < 0) {
            return SW_EOPTION_VALUE;
        }
    }
    if (sw_protocol_check(&o->protocol) < 0) {
        return SW_EOPTION_VALUE;
    }
    size_t high =
        o->buffer_high_watermark ? o->buffer_high_watermark : o->socket_buffer_size / 5 * 4;
    if (high > o->socket_buffer_size || o->buffer_low_watermark >= high) {
        return SW_EOPTION_VALUE;
    }
    return 0;
}

int sw__options_check(const sw_server_options_t *o)
{
    for (size_t i = 0; i < NSERVER; i++) {
        if (check_field(&server_opts[i], o) < 0) {
            return SW_EOPTION_VALUE;
        }
    }
    if (o->cpu_affinity_ignore_num < 0 || o->cpu_affinity_ignore_num > 64) {
        return SW_EOPTION_VALUE;
    }
    return sw__options_check_port(&o->port);
}

void sw__port_options_merge(sw_port_options_t *dst, const sw_port_options_t *defaults,
                            const sw_port_options_t *own, uint64_t own_mask)
{
    sw_port_options_t out = *defaults;
    for (size_t i = 0; i < NPORT; i++) {
        if (own_mask & (UINT64_C(1) << i)) {
            memcpy((char *)&out + port_opts[i].off, (const char *)own + port_opts[i].off,
                   port_opts[i].size);
        }
    }
    *dst = out;
}

uint64_t sw__port_options_all_mask(void)
{
    return NPORT == 64 ? UINT64_MAX : (UINT64_C(1) << NPORT) - 1;
}
