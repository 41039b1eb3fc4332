/*
 * SW_LOCK_FILE: open-file-description locks (fcntl F_OFD_SETLK / F_OFD_SETLKW, Linux 3.15)
 * on byte 0 of an anonymous file made by memfd_create() at init.
 *
 * OFD locks belong to an open file description, not to a process, so two descriptors that
 * share one description (a descriptor inherited across fork, or used by two threads) do not
 * exclude each other. Every acquisition therefore opens its own description by reopening
 * /proc/self/fd/<memfd>, takes the lock on it, and keeps that descriptor until unlock, which
 * closes it. Threads and processes then exclude each other alike, and the kernel releases the
 * lock of a holder that dies, because its descriptors close.
 *
 * The kernel does not say that this happened, so the lock keeps an owner record: the holder's
 * identity in `writer`, set after the kernel lock is granted and cleared before it is released.
 * A record found non-zero by the next holder can only be left by a holder that died, which is
 * reported as SW_ELOCK_OWNERDEAD. Readers take F_RDLCK and record themselves in a slot (the
 * slot also keeps the descriptor to close at unlock); the slot of a dead reader is reclaimed
 * when a reader finds no free slot and the slot's thread is dead.
 *
 * Timed and try acquisitions use F_OFD_SETLK and poll with a growing sleep (1 to 10 ms), since
 * F_OFD_SETLKW has no timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/fault.h"
#include "memory/lock_int.h"
#include "swoole/error.h"

static int is_shared(const lock_file_t *l)
{
    return (l->h.flags & SW_LOCK_SHARED) != 0;
}

int sw__lock_file_init(lock_file_t *l)
{
    int rc = SW_FAULT("memfd", SW_EMFILE);
    if (rc) {
        return rc;
    }
    int fd = memfd_create("swoole-lock", MFD_CLOEXEC);
    if (fd < 0) {
        return errno == ENOSYS ? SW_ENOTSUP : sw_translate_sys_error(errno);
    }
    /* Probe that OFD locks work here (kernels before 3.15 answer EINVAL). */
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0) {
        int err = errno;
        close(fd);
        return err == EINVAL ? SW_ENOTSUP : sw_translate_sys_error(err);
    }
    l->memfd = fd;
    atomic_init(&l->writer_fd, -1);
    for (int i = 0; i < SW_LOCK_FILE_READERS; i++) {
        atomic_init(&l->reader_fd[i], -1);
    }
    return 0;
}

static void bump(lock_file_t *l)
{
    atomic_fetch_add(&l->seq, 1);
    if (atomic_load(&l->waiters) > 0) {
        sw__futex_wake(&l->seq, 0x7fffffff, is_shared(l));
    }
}

static int holds_read(lock_file_t *l, uint64_t self)
{
    for (int i = 0; i < SW_LOCK_FILE_READERS; i++) {
        if (atomic_load_explicit(&l->readers[i], memory_order_relaxed) == self) {
            return 1;
        }
    }
    return 0;
}

/* Clears slots of dead readers (when `check`); returns the live readers left. */
static int reap_readers(lock_file_t *l, int check)
{
    int live = 0;
    for (int i = 0; i < SW_LOCK_FILE_READERS; i++) {
        uint64_t r = atomic_load(&l->readers[i]);
        if (r == 0) {
            continue;
        }
        if (check && !sw__lock_alive(r) && atomic_compare_exchange_strong(&l->readers[i], &r, 0)) {
            bump(l);
            continue;
        }
        live++;
    }
    return live;
}

int sw__lock_file_busy(lock_file_t *l)
{
    return atomic_load(&l->writer) != 0 || reap_readers(l, 1) != 0;
}

int sw__lock_file_close(lock_file_t *l)
{
    if (sw__lock_file_busy(l)) {
        return SW_EBUSY;
    }
    close(l->memfd);
    l->memfd = -1;
    return 0;
}

/* Claims a reader slot, waiting while all are held by live readers. Returns the slot index or
 * SW_EBUSY / SW_ETIMEDOUT. */
static int claim_slot(lock_file_t *l, uint64_t self, int timeout_ms, uint64_t deadline)
{
    unsigned start = (unsigned)(self & SW__ID_TID_MASK) % SW_LOCK_FILE_READERS;
    int checked = 0;
    for (;;) {
        uint32_t s = atomic_load(&l->seq);
        for (unsigned k = 0; k < SW_LOCK_FILE_READERS; k++) {
            unsigned i = (start + k) % SW_LOCK_FILE_READERS;
            uint64_t zero = 0;
            if (atomic_compare_exchange_strong(&l->readers[i], &zero, self)) {
                return (int)i;
            }
        }
        /* Full: readers that died keep their slot until someone looks. */
        if (!checked && reap_readers(l, 1) < SW_LOCK_FILE_READERS) {
            checked = 1;
            continue;
        }
        checked = 0;
        uint64_t now = sw__now_ns();
        if (timeout_ms == 0) {
            return SW_EBUSY;
        }
        if (deadline && now >= deadline) {
            return SW_ETIMEDOUT;
        }
        int64_t slice = SW__LOCK_CHECK_MS * 1000000ll;
        if (deadline && (int64_t)(deadline - now) < slice) {
            slice = (int64_t)(deadline - now);
        }
        atomic_fetch_add(&l->waiters, 1);
        sw__futex_wait(&l->seq, s, is_shared(l), slice);
        atomic_fetch_sub(&l->waiters, 1);
    }
}

static int reopen(lock_file_t *l)
{
    int rc = SW_FAULT("open", SW_EMFILE);
    if (rc) {
        return rc;
    }
    char path[48];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", (int)l->memfd);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    return fd < 0 ? sw_translate_sys_error(errno) : fd;
}

/* Takes the kernel lock on `fd`. */
static int kernel_lock(int fd, int shared_mode, int timeout_ms, uint64_t deadline)
{
    struct flock fl = {
        .l_type = shared_mode ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    if (timeout_ms < 0) {
        while (fcntl(fd, F_OFD_SETLKW, &fl) != 0) {
            if (errno != EINTR) {
                return sw_translate_sys_error(errno);
            }
        }
        return 0;
    }
    long sleep_ms = 1;
    for (;;) {
        if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
            return 0;
        }
        if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
            return sw_translate_sys_error(errno);
        }
        if (timeout_ms == 0) {
            return SW_EBUSY;
        }
        uint64_t now = sw__now_ns();
        if (now >= deadline) {
            return SW_ETIMEDOUT;
        }
        uint64_t left = deadline - now;
        uint64_t ns = (uint64_t)sleep_ms * 1000000u;
        if (ns > left) {
            ns = left;
        }
        struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                              .tv_nsec = (long)(ns % 1000000000u)};
        nanosleep(&ts, NULL);
        if (sleep_ms < 10) {
            sleep_ms++;
        }
    }
}

int sw__lock_file_acquire(lock_file_t *l, int shared_mode, int timeout_ms)
{
    uint64_t self = sw__lock_self();
    if (atomic_load(&l->writer) == self || (!shared_mode && holds_read(l, self))) {
        return SW_EDEADLK;
    }
    uint64_t deadline = sw__deadline(timeout_ms);
    int slot = -1;
    if (shared_mode) {
        slot = claim_slot(l, self, timeout_ms, deadline);
        if (slot < 0) {
            return slot;
        }
    }
    int fd = reopen(l);
    int rc = fd < 0 ? fd : kernel_lock(fd, shared_mode, timeout_ms, deadline);
    if (rc < 0) {
        if (fd >= 0) {
            close(fd);
        }
        if (slot >= 0) {
            atomic_store(&l->readers[slot], 0);
            bump(l);
        }
        return rc;
    }
    if (shared_mode) {
        atomic_store(&l->reader_fd[slot], fd);
        /* Holding a read lock, no writer can hold the kernel lock: a record is a dead one. */
        uint64_t w = atomic_load(&l->writer);
        if (w != 0 && atomic_compare_exchange_strong(&l->writer, &w, 0)) {
            return SW_ELOCK_OWNERDEAD;
        }
        return 0;
    }
    uint64_t prev = atomic_exchange(&l->writer, self);
    atomic_store(&l->writer_fd, fd);
    return prev ? SW_ELOCK_OWNERDEAD : 0;
}

int sw__lock_file_release(lock_file_t *l)
{
    uint64_t self = sw__lock_self();
    if (atomic_load(&l->writer) == self) {
        int fd = atomic_exchange(&l->writer_fd, -1);
        /* The record goes first: dying between the two leaves a clean record and a lock the
         * kernel releases anyway. */
        atomic_store(&l->writer, 0);
        close(fd);
        return 0;
    }
    for (int i = 0; i < SW_LOCK_FILE_READERS; i++) {
        if (atomic_load(&l->readers[i]) == self) {
            int fd = atomic_exchange(&l->reader_fd[i], -1);
            atomic_store(&l->readers[i], 0);
            close(fd);
            bump(l);
            return 0;
        }
    }
    return SW_ELOCK_NOTOWNER;
}
