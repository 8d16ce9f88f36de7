#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNativeSystem

/// An error of the native engine: a negative errno, which is libuv's own error
/// code on Unix (`UV_ENOENT == -ENOENT`). SwiftUV turns it into a `UVError`.
package struct NativeError: Error, Equatable, Sendable {
    package let code: Int32
    package init(code: Int32) { self.code = code }
    package init(errno value: Int32) { self.code = -value }

    package static let invalidArgument = NativeError(errno: EINVAL)
    package static let busy = NativeError(errno: EBUSY)
    package static let cancelled = NativeError(errno: ECANCELED)
}

/// The one place the native engine calls the kernel: retries `EINTR` (unless
/// the caller wants to see it) and turns `-1`/errno into a `NativeError`.
@inline(__always)
package func syscall<T: FixedWidthInteger>(
    retryOnInterrupt: Bool = true,
    _ body: () -> T
) throws(NativeError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let err = errno
        if err == EINTR && retryOnInterrupt { continue }
        throw NativeError(errno: err)
    }
}

/// Whether epoll can watch `fd` (libuv's `uv__io_check_fd`, on a private
/// epoll set): regular files, directories and some devices (`/dev/null`)
/// give `EPERM`.
package func checkPollable(_ fd: Int32) throws(NativeError) {
    let epoll = try syscall { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    defer { close(epoll) }
    var event = epoll_event()
    event.events = EPOLLIN.rawValue
    _ = try syscall { epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) }
}

/// The monotonic clock in nanoseconds (libuv's `hrtime` reads the same clock).
@inline(__always)
package func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// The clock a loop caches its time from: libuv uses the coarse monotonic
/// clock when it has millisecond granularity or better, else the precise one.
func chooseLoopClock() -> clockid_t {
    var res = timespec()
    if clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0 && res.tv_sec == 0 && res.tv_nsec <= 1_000_000 {
        return CLOCK_MONOTONIC_COARSE
    }
    return CLOCK_MONOTONIC
}

@inline(__always)
func milliseconds(of clock: clockid_t) -> UInt64 {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return (UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)) / 1_000_000
}

/// A pthread mutex and condition variable at stable heap addresses. (Not
/// `Synchronization.Mutex`: ThreadSanitizer does not see its futex-based
/// locking, and reports the data it guards as racing.)
package final class Lock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    @inline(__always) package func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) package func unlock() { pthread_mutex_unlock(mutex) }
    func wait() { pthread_cond_wait(cond, mutex) }
    func signal() { pthread_cond_signal(cond) }

    @inline(__always)
    package func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// Sets `O_NONBLOCK` and `FD_CLOEXEC` on a descriptor.
func makeNonBlockingCloexec(_ fd: Int32) throws(NativeError) {
    let flags = try syscall { fcntl(fd, F_GETFL) }
    _ = try syscall { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    let fdFlags = try syscall { fcntl(fd, F_GETFD) }
    _ = try syscall { fcntl(fd, F_SETFD, fdFlags | FD_CLOEXEC) }
}

/// Closes a descriptor once; `EINTR` is not retried (Linux has closed it anyway).
func closeDescriptor(_ fd: Int32) {
    _ = try? syscall(retryOnInterrupt: false) { close(fd) }
}
