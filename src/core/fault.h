/*
 * Fault injection (internal).
 *
 * A fault point is a named place where the library can be made to fail on purpose, so that
 * tests can check that every error path returns its code and leaks nothing. Points exist only
 * in builds configured with -DSWOOLE_FAULT_INJECTION=ON; otherwise SW_FAULT() is the constant
 * 0 and costs nothing.
 *
 * Points are switched on by the environment variable SW_FAULT, read once:
 *
 *     SW_FAULT="alloc:3:1,read:0:-1"
 *
 * a comma-separated list of name:skip:count. The named point lets `skip` hits pass, then fails
 * the next `count` hits (count -1: every later hit; count omitted: 1). Tests may also call
 * sw__fault_set() directly. Hit counters are atomic: points may be hit from any thread.
 *
 * Points in use (add yours here): alloc, accept, read, write, fork, thread (server reactor
 * and worker threads), eventfd, signalfd, epoll_create, open, mmap, memfd, socketpair,
 * msgget, socket.
 */
#ifndef SW_CORE_FAULT_H
#define SW_CORE_FAULT_H

#include <stdint.h>

#ifdef SWOOLE_FAULT_INJECTION
/* Returns `code` (a negative SW_E* value) when the point must fail now, else 0. */
int sw__fault_check(const char *name, int code);
#define SW_FAULT(name, code) sw__fault_check(name, code)
#else
#define SW_FAULT(name, code) 0
#endif

/* Arms `name`: let `skip` hits pass, then fail `count` hits (-1: forever; 0: disarm).
 * Returns 0, or SW_ENOMEM when the table of points (64 names) is full. Always available so
 * that tests compile in every build; without SWOOLE_FAULT_INJECTION it has no effect. */
int sw__fault_set(const char *name, int64_t skip, int64_t count);

/* Number of times `name` was hit since it was armed (0 for unknown names). */
int64_t sw__fault_hits(const char *name);

/* Disarms every point. */
void sw__fault_reset(void);

/* 1 when fault points are compiled in. */
int sw__fault_enabled(void);

#endif
