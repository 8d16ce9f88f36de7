/* Threads and their synchronisation, over pthreads and POSIX semaphores,
   with libuv's rules: errors that can only be bugs abort; "busy" is
   UV_EBUSY; timed waits count on the monotonic clock. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "CUVNativeSupport.h"

struct thread_start {
    void (*entry)(void *);
    void *arg;
};

static void *thread_main(void *argument) {
    struct thread_start start = *(struct thread_start *) argument;
    free(argument);
    start.entry(start.arg);
    return NULL;
}

/* The stack size of a thread made without one: RLIMIT_STACK when it is set
   (whole pages, at least PTHREAD_STACK_MIN), else 2 MiB. */
static size_t default_stack_size(void) {
    struct rlimit limit;
    size_t page = (size_t) getpagesize();
    if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        size_t size = (size_t) limit.rlim_cur / page * page;
        if (size >= PTHREAD_STACK_MIN)
            return size;
    }
    return 2u << 20;
}

/* uv_thread_create_ex: a requested stack size is rounded up to whole pages
   (and at least PTHREAD_STACK_MIN). */
int uv_thread_create_ex(uv_thread_t *tid, const uv_thread_options_t *params,
                        void (*entry)(void *arg), void *arg) {
    pthread_attr_t attributes;
    struct thread_start *start;
    size_t stack = 0;
    size_t page = (size_t) getpagesize();
    int err;

    if (params != NULL && (params->flags & UV_THREAD_HAS_STACK_SIZE))
        stack = params->stack_size;
    if (stack == 0) {
        stack = default_stack_size();
    } else {
        stack = (stack + page - 1) / page * page;
        if (stack < PTHREAD_STACK_MIN)
            stack = PTHREAD_STACK_MIN;
    }
    start = malloc(sizeof *start);
    if (start == NULL)
        return UV_ENOMEM;
    start->entry = entry;
    start->arg = arg;
    if (pthread_attr_init(&attributes) != 0)
        abort();
    if (pthread_attr_setstacksize(&attributes, stack) != 0)
        abort();
    err = pthread_create(tid, &attributes, thread_main, start);
    pthread_attr_destroy(&attributes);
    if (err != 0)
        free(start);
    return -err;
}

/* uv_thread_create */
int uv_thread_create(uv_thread_t *tid, void (*entry)(void *arg), void *arg) {
    uv_thread_options_t options;
    options.flags = UV_THREAD_NO_FLAGS;
    options.stack_size = 0;
    return uv_thread_create_ex(tid, &options, entry, arg);
}

/* uv_thread_self */
uv_thread_t uv_thread_self(void) { return pthread_self(); }

/* uv_thread_join */
int uv_thread_join(uv_thread_t *tid) { return -pthread_join(*tid, NULL); }

/* uv_thread_equal */
int uv_thread_equal(const uv_thread_t *t1, const uv_thread_t *t2) { return pthread_equal(*t1, *t2); }

/* A try-lock's result: 0, UV_EBUSY when held elsewhere; anything else is
   a bug and aborts. */
static int try_result(int err) {
    if (err == 0)
        return 0;
    if (err != EBUSY && err != EAGAIN)
        abort();
    return UV_EBUSY;
}

/* ---- Mutexes ---- */

static int mutex_init_of_type(uv_mutex_t *mutex, int type) {
    pthread_mutexattr_t attributes;
    int err;
    if (pthread_mutexattr_init(&attributes) != 0)
        abort();
    if (pthread_mutexattr_settype(&attributes, type) != 0)
        abort();
    err = pthread_mutex_init(mutex, &attributes);
    if (pthread_mutexattr_destroy(&attributes) != 0)
        abort();
    return -err;
}

/* uv_mutex_init: an error-checking mutex (libuv's build with assertions). */
int uv_mutex_init(uv_mutex_t *mutex) { return mutex_init_of_type(mutex, PTHREAD_MUTEX_ERRORCHECK); }

/* uv_mutex_init_recursive */
int uv_mutex_init_recursive(uv_mutex_t *mutex) { return mutex_init_of_type(mutex, PTHREAD_MUTEX_RECURSIVE); }

/* uv_mutex_destroy */
void uv_mutex_destroy(uv_mutex_t *mutex) {
    if (pthread_mutex_destroy(mutex) != 0)
        abort();
}

/* uv_mutex_lock */
void uv_mutex_lock(uv_mutex_t *mutex) {
    if (pthread_mutex_lock(mutex) != 0)
        abort();
}

/* uv_mutex_trylock: UV_EBUSY when another thread holds it. */
int uv_mutex_trylock(uv_mutex_t *mutex) { return try_result(pthread_mutex_trylock(mutex)); }

/* uv_mutex_unlock */
void uv_mutex_unlock(uv_mutex_t *mutex) {
    if (pthread_mutex_unlock(mutex) != 0)
        abort();
}

/* ---- Read-write locks ---- */

/* uv_rwlock_init */
int uv_rwlock_init(uv_rwlock_t *rwlock) { return -pthread_rwlock_init(rwlock, NULL); }

/* uv_rwlock_destroy */
void uv_rwlock_destroy(uv_rwlock_t *rwlock) {
    if (pthread_rwlock_destroy(rwlock) != 0)
        abort();
}

/* uv_rwlock_rdlock */
void uv_rwlock_rdlock(uv_rwlock_t *rwlock) {
    if (pthread_rwlock_rdlock(rwlock) != 0)
        abort();
}

/* uv_rwlock_tryrdlock: UV_EBUSY when a writer holds it. */
int uv_rwlock_tryrdlock(uv_rwlock_t *rwlock) { return try_result(pthread_rwlock_tryrdlock(rwlock)); }

/* uv_rwlock_rdunlock */
void uv_rwlock_rdunlock(uv_rwlock_t *rwlock) {
    if (pthread_rwlock_unlock(rwlock) != 0)
        abort();
}

/* uv_rwlock_wrlock */
void uv_rwlock_wrlock(uv_rwlock_t *rwlock) {
    if (pthread_rwlock_wrlock(rwlock) != 0)
        abort();
}

/* uv_rwlock_trywrlock: UV_EBUSY when anyone holds it. */
int uv_rwlock_trywrlock(uv_rwlock_t *rwlock) { return try_result(pthread_rwlock_trywrlock(rwlock)); }

/* uv_rwlock_wrunlock */
void uv_rwlock_wrunlock(uv_rwlock_t *rwlock) {
    if (pthread_rwlock_unlock(rwlock) != 0)
        abort();
}

/* ---- Semaphores ---- */

/* uv_sem_init */
int uv_sem_init(uv_sem_t *sem, unsigned int value) { return sem_init(sem, 0, value) == 0 ? 0 : -errno; }

/* uv_sem_destroy */
void uv_sem_destroy(uv_sem_t *sem) {
    if (sem_destroy(sem) != 0)
        abort();
}

/* uv_sem_post */
void uv_sem_post(uv_sem_t *sem) {
    if (sem_post(sem) != 0)
        abort();
}

/* uv_sem_wait: waits out signals. */
void uv_sem_wait(uv_sem_t *sem) {
    int r;
    do
        r = sem_wait(sem);
    while (r == -1 && errno == EINTR);
    if (r != 0)
        abort();
}

/* uv_sem_trywait: UV_EAGAIN when the count is 0. */
int uv_sem_trywait(uv_sem_t *sem) {
    int r;
    do
        r = sem_trywait(sem);
    while (r == -1 && errno == EINTR);
    if (r == 0)
        return 0;
    if (errno != EAGAIN)
        abort();
    return UV_EAGAIN;
}

/* ---- Condition variables (monotonic clock) ---- */

/* uv_cond_init */
int uv_cond_init(uv_cond_t *cond) {
    pthread_condattr_t attributes;
    int err = pthread_condattr_init(&attributes);
    if (err != 0)
        return -err;
    err = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    if (err == 0)
        err = pthread_cond_init(cond, &attributes);
    pthread_condattr_destroy(&attributes);
    return -err;
}

/* uv_cond_destroy */
void uv_cond_destroy(uv_cond_t *cond) {
    if (pthread_cond_destroy(cond) != 0)
        abort();
}

/* uv_cond_signal */
void uv_cond_signal(uv_cond_t *cond) {
    if (pthread_cond_signal(cond) != 0)
        abort();
}

/* uv_cond_broadcast */
void uv_cond_broadcast(uv_cond_t *cond) {
    if (pthread_cond_broadcast(cond) != 0)
        abort();
}

/* uv_cond_wait */
void uv_cond_wait(uv_cond_t *cond, uv_mutex_t *mutex) {
    if (pthread_cond_wait(cond, mutex) != 0)
        abort();
}

/* uv_cond_timedwait: timeout in nanoseconds; UV_ETIMEDOUT when it passed. */
int uv_cond_timedwait(uv_cond_t *cond, uv_mutex_t *mutex, uint64_t timeout) {
    struct timespec deadline;
    uint64_t at = uv_hrtime() + timeout;
    int err;
    deadline.tv_sec = (time_t) (at / 1000000000u);
    deadline.tv_nsec = (long) (at % 1000000000u);
    err = pthread_cond_timedwait(cond, mutex, &deadline);
    if (err == 0)
        return 0;
    if (err != ETIMEDOUT)
        abort();
    return UV_ETIMEDOUT;
}

/* ---- Barriers, once, thread-local keys ---- */

/* uv_barrier_init */
int uv_barrier_init(uv_barrier_t *barrier, unsigned int count) {
    return -pthread_barrier_init(barrier, NULL, count);
}

/* uv_barrier_destroy */
void uv_barrier_destroy(uv_barrier_t *barrier) {
    if (pthread_barrier_destroy(barrier) != 0)
        abort();
}

/* uv_barrier_wait: non-zero in exactly one of the threads. */
int uv_barrier_wait(uv_barrier_t *barrier) {
    int r = pthread_barrier_wait(barrier);
    if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
        abort();
    return r == PTHREAD_BARRIER_SERIAL_THREAD;
}

/* uv_once */
void uv_once(uv_once_t *guard, void (*callback)(void)) {
    if (pthread_once(guard, callback) != 0)
        abort();
}

/* uv_key_create */
int uv_key_create(uv_key_t *key) { return -pthread_key_create(key, NULL); }

/* uv_key_delete */
void uv_key_delete(uv_key_t *key) {
    if (pthread_key_delete(*key) != 0)
        abort();
}

/* uv_key_get */
void *uv_key_get(uv_key_t *key) { return pthread_getspecific(*key); }

/* uv_key_set */
void uv_key_set(uv_key_t *key, void *value) {
    if (pthread_setspecific(*key, value) != 0)
        abort();
}
