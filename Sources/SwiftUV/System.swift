import CUV
import NativeLoop

#if canImport(Glibc)
import Glibc
#endif

/// Facts about this machine and process, and process-wide settings: libuv's
/// utilities. They are not bound to a loop, so they have one implementation,
/// whatever backend the program's loops run on (`randomBytes(count:on:)` is
/// the exception: it runs on a loop's pool).
public enum System {
    /// The monotonic clock, in nanoseconds from an arbitrary point (the
    /// same on both backends): for measuring intervals, not for the time of
    /// day. A loop's `now` is this value in milliseconds when the loop last
    /// updated its time.
    ///
    /// The corresponding libuv function is `uv_hrtime`.
    public static var highResolutionTime: UInt64 { uv_hrtime() }

    /// Seconds since boot (`uv_uptime`).
    public static func uptime() throws(UVError) -> Double {
        var t = 0.0
        try check(uv_uptime(&t))
        return t
    }

    /// The 1, 5 and 15 minute load averages (`uv_loadavg`).
    public static var loadAverage: (Double, Double, Double) {
        var avg: (Double, Double, Double) = (0, 0, 0)
        withUnsafeMutableBytes(of: &avg) { uv_loadavg($0.baseAddress!.assumingMemoryBound(to: Double.self)) }
        return avg
    }

    /// One CPU (`uv_cpu_info_t`); times in milliseconds.
    public struct CPU: Sendable {
        /// The model name the kernel gives.
        public let model: String
        /// The clock speed in MHz.
        public let speed: Int
        /// Time in user mode.
        public let user: UInt64
        /// Time in user mode at a lowered priority.
        public let nice: UInt64
        /// Time in kernel mode.
        public let system: UInt64
        /// Time idle.
        public let idle: UInt64
        /// Time serving interrupts.
        public let irq: UInt64
    }

    /// The CPUs (`uv_cpu_info`).
    public static func cpus() throws(UVError) -> [CPU] {
        var infos: UnsafeMutablePointer<uv_cpu_info_t>?
        var count: Int32 = 0
        try check(uv_cpu_info(&infos, &count))
        defer { uv_free_cpu_info(infos, count) }
        return (0..<Int(count)).map { i in
            let c = infos![i]
            return CPU(model: c.model.map { String(cString: $0) } ?? "", speed: Int(c.speed),
                       user: c.cpu_times.user, nice: c.cpu_times.nice, system: c.cpu_times.sys,
                       idle: c.cpu_times.idle, irq: c.cpu_times.irq)
        }
    }

    /// A network interface address (`uv_interface_address_t`).
    public struct InterfaceAddress: Sendable {
        /// The interface's name (`lo`, `eth0`).
        public let name: String
        /// The hardware (MAC) address, six bytes.
        public let physicalAddress: [UInt8]
        /// Whether it is a loopback interface.
        public let isInternal: Bool
        /// The address (port 0), if the family is IPv4 or IPv6.
        public let address: SocketAddress?
        /// The netmask, as an address.
        public let netmask: SocketAddress?
    }

    /// The interface addresses (`uv_interface_addresses`).
    public static func interfaceAddresses() throws(UVError) -> [InterfaceAddress] {
        var list: UnsafeMutablePointer<uv_interface_address_t>?
        var count: Int32 = 0
        try check(uv_interface_addresses(&list, &count))
        defer { uv_free_interface_addresses(list, count) }
        return (0..<Int(count)).map { i in
            var a = list![i]
            let phys = withUnsafeBytes(of: a.phys_addr) { Array($0) }
            let address = withUnsafePointer(to: &a.address) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
            let netmask = withUnsafePointer(to: &a.netmask) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
            return InterfaceAddress(name: String(cString: a.name), physicalAddress: phys, isInternal: a.is_internal != 0,
                                    address: address, netmask: netmask)
        }
    }

    /// `uv_os_homedir`.
    public static func homeDirectory() throws(UVError) -> String { try libuvString { uv_os_homedir($0, $1) } }
    /// `uv_os_tmpdir`.
    public static func temporaryDirectory() throws(UVError) -> String { try libuvString { uv_os_tmpdir($0, $1) } }
    /// `uv_os_gethostname`.
    public static func hostName() throws(UVError) -> String { try libuvString { uv_os_gethostname($0, $1) } }
    /// `uv_cwd`.
    public static func currentDirectory() throws(UVError) -> String { try libuvString { uv_cwd($0, $1) } }
    /// `uv_chdir`.
    public static func changeDirectory(_ path: String) throws(UVError) {
        try InputCheck.cString(path, "System.changeDirectory")
        try check(uv_chdir(path))
    }
    /// `uv_exepath`.
    public static func executablePath() throws(UVError) -> String { try libuvString { uv_exepath($0, $1) } }

    /// `uv_os_getpid`.
    public static var pid: Int32 { uv_os_getpid() }
    /// `uv_os_getppid`.
    public static var parentPid: Int32 { uv_os_getppid() }

    /// An environment variable, or nil (`uv_os_getenv`).
    public static func environment(_ name: String) throws(UVError) -> String? {
        try InputCheck.cString(name, "System.environment", "name")
        // getenv would read "A=B" as the variable A with a value starting "B=".
        if name.isEmpty || name.contains("=") {
            throw InputCheck.refuse("System.environment", "the name \(InputCheck.quoted(name)) is empty or holds '='")
        }
        do {
            return try libuvString { uv_os_getenv(name, $0, $1) }
        } catch UVError.noSuchFileOrDirectory {
            return nil
        }
    }
    /// `uv_os_setenv`.
    public static func setEnvironment(_ name: String, _ value: String) throws(UVError) {
        try InputCheck.cString(name, "System.setEnvironment", "name")
        try InputCheck.cString(value, "System.setEnvironment", "value")
        try check(uv_os_setenv(name, value))
    }
    /// `uv_os_unsetenv`.
    public static func unsetEnvironment(_ name: String) throws(UVError) {
        try InputCheck.cString(name, "System.unsetEnvironment", "name")
        try check(uv_os_unsetenv(name))
    }
    /// Every environment variable (`uv_os_environ`).
    public static func environment() throws(UVError) -> [String: String] {
        var items: UnsafeMutablePointer<uv_env_item_t>?
        var count: Int32 = 0
        try check(uv_os_environ(&items, &count))
        defer { uv_os_free_environ(items, count) }
        var result: [String: String] = [:]
        for i in 0..<Int(count) { result[String(cString: items![i].name)] = String(cString: items![i].value) }
        return result
    }

    /// Random bytes from the system's source, synchronously (`uv_random`).
    /// A negative count gives `UVError.invalidArgument`; more than
    /// 2^31 - 1 bytes, `UVError.argumentListTooLong` (libuv's `E2BIG`).
    public static func randomBytes(count: Int) throws(UVError) -> [UInt8] {
        try InputCheck.count(count, "randomBytes")
        if count > 0x7FFF_FFFF {
            throw UVError.argumentListTooLong.with(context: "randomBytes: \(count) bytes is more than uv_random gives at once")
        }
        let buffer = try InputCheck.allocate(count, "randomBytes")
        defer { free(buffer.baseAddress) }
        try check(uv_random(nil, nil, buffer.baseAddress, count, 0, nil))
        return Array(buffer)
    }

    /// `uv_available_parallelism`.
    public static var availableParallelism: Int { Int(uv_available_parallelism()) }

    /// Resident set size in bytes (`uv_resident_set_memory`).
    public static func residentMemory() throws(UVError) -> Int {
        var rss = 0
        try check(uv_resident_set_memory(&rss))
        return rss
    }
    /// `uv_get_total_memory`.
    public static var totalMemory: UInt64 { uv_get_total_memory() }
    /// `uv_get_free_memory`.
    public static var freeMemory: UInt64 { uv_get_free_memory() }
    /// A cgroup's memory limit, or 0 (`uv_get_constrained_memory`).
    public static var constrainedMemory: UInt64 { uv_get_constrained_memory() }

    /// Resource usage of this process (`uv_getrusage`); times in seconds.
    public struct ResourceUsage: Sendable {
        /// CPU time in user mode.
        public let userTime: Double
        /// CPU time in kernel mode.
        public let systemTime: Double
        /// The largest resident set so far.
        public let maxResidentKilobytes: UInt64
        /// Page faults served without I/O.
        public let minorFaults: UInt64
        /// Page faults that needed I/O.
        public let majorFaults: UInt64
        /// Times the process gave up the CPU (waiting for something).
        public let voluntarySwitches: UInt64
        /// Times the process was preempted.
        public let involuntarySwitches: UInt64
    }
    /// This process's resource usage (`uv_getrusage`).
    public static func resourceUsage() throws(UVError) -> ResourceUsage {
        var r = uv_rusage_t()
        try check(uv_getrusage(&r))
        return ResourceUsage(userTime: Double(r.ru_utime.tv_sec) + Double(r.ru_utime.tv_usec) / 1e6,
                             systemTime: Double(r.ru_stime.tv_sec) + Double(r.ru_stime.tv_usec) / 1e6,
                             maxResidentKilobytes: r.ru_maxrss, minorFaults: r.ru_minflt, majorFaults: r.ru_majflt,
                             voluntarySwitches: r.ru_nvcsw, involuntarySwitches: r.ru_nivcsw)
    }

    /// `uv_os_uname`.
    public static func uname() throws(UVError) -> (system: String, release: String, version: String, machine: String) {
        var u = uv_utsname_t()
        try check(uv_os_uname(&u))
        func s<T>(_ v: T) -> String { withUnsafeBytes(of: v) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) } }
        return (s(u.sysname), s(u.release), s(u.version), s(u.machine))
    }

    /// The current user (`uv_os_get_passwd`).
    public static func currentUser() throws(UVError) -> (name: String, uid: UInt, gid: UInt, shell: String?, home: String) {
        var p = uv_passwd_t()
        try check(uv_os_get_passwd(&p))
        defer { uv_os_free_passwd(&p) }
        return (String(cString: p.username), p.uid, p.gid, p.shell.map { String(cString: $0) }, String(cString: p.homedir))
    }

    /// `uv_os_getpriority`.
    public static func priority(of pid: Int32 = 0) throws(UVError) -> Int32 {
        var value: Int32 = 0
        try check(uv_os_getpriority(pid, &value))
        return value
    }
    /// `uv_os_setpriority`.
    public static func setPriority(_ priority: Int32, of pid: Int32 = 0) throws(UVError) { try check(uv_os_setpriority(pid, priority)) }

    /// Wall-clock time (`uv_gettimeofday`): seconds and microseconds.
    public static func timeOfDay() throws(UVError) -> (seconds: Int64, microseconds: Int32) {
        var tv = uv_timeval64_t()
        try check(uv_gettimeofday(&tv))
        return (tv.tv_sec, tv.tv_usec)
    }

    /// Blocks the calling thread (`uv_sleep`).
    public static func sleep(milliseconds: UInt32) { uv_sleep(milliseconds) }

    /// A pipe: (read end, write end), close-on-exec, optionally
    /// non-blocking (`uv_pipe`).
    public static func pipe(nonBlockingRead: Bool = false, nonBlockingWrite: Bool = false) throws(UVError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        try check(uv_pipe(&fds, nonBlockingRead ? Int32(UV_NONBLOCK_PIPE.rawValue) : 0, nonBlockingWrite ? Int32(UV_NONBLOCK_PIPE.rawValue) : 0))
        return (fds[0], fds[1])
    }

    /// A connected pair of sockets, close-on-exec (`uv_socketpair`);
    /// `type` is `SOCK_STREAM` or `SOCK_DGRAM`.
    public static func socketPair(type: Int32 = Int32(SOCK_STREAM.rawValue), nonBlocking: Bool = false) throws(UVError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        let flags = nonBlocking ? Int32(UV_NONBLOCK_PIPE.rawValue) : 0
        try check(uv_socketpair(type, 0, &fds, flags, flags))
        return (fds[0], fds[1])
    }

    /// The name of a network interface by index (`uv_if_indextoname`).
    public static func interfaceName(index: UInt32) throws(UVError) -> String { try libuvString { uv_if_indextoname(index, $0, $1) } }

    /// An interface's identifier for an IPv6 scope (`uv_if_indextoiid`).
    public static func interfaceIdentifier(index: UInt32) throws(UVError) -> String { try libuvString { uv_if_indextoiid(index, $0, $1) } }

    /// libuv's version number, as `uv_version` (0x012c02 for 1.44.2).
    public static var libuvVersionNumber: UInt32 { uv_version() }
}

extension Loop {
    /// Random bytes filled on this loop's thread pool (`uv_random` with a
    /// callback); the completion runs on the loop thread.
    public func randomBytes(count: Int, _ completion: @escaping (Result<[UInt8], UVError>) -> Void) throws(UVError) {
        // Refused here, not on the pool.
        try InputCheck.count(count, "randomBytes")
        try queueWork({ () -> Result<[UInt8], UVError> in
            do throws(UVError) { return .success(try System.randomBytes(count: count)) } catch { return .failure(error) }
        }) { result in
            switch result {
            case .success(let inner): completion(inner)
            case .failure(let error): completion(.failure(error))
            }
        }
    }
}

/// A string libuv writes into a caller's buffer with a size in and out
/// (`uv_fs_poll_getpath`, `uv_os_getenv`...): a value that does not fit the
/// first 4 KiB (`UV_ENOBUFS`, with the size needed) is read again into a
/// buffer that size, instead of failing.
func libuvString(_ call: (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int>) -> Int32) throws(UVError) -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    var size = buffer.count
    var status = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress!, &size) }
    if status == UV_ENOBUFS.rawValue && size > buffer.count {
        buffer = [CChar](repeating: 0, count: size + 1)
        size = buffer.count
        status = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress!, &size) }
    }
    try check(status)
    return String(decoding: buffer.prefix(size).prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
