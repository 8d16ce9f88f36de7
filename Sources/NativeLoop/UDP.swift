#if canImport(Glibc)
import Glibc
#endif
import CNativeSystem

/// What a UDP socket hands its datagrams to, without a closure in between:
/// its owner (SwiftUV's `UDP`), which outlives its receiving.
package protocol NativeUDPReceiver: AnyObject {
    /// As `receiveStart`'s callback: a count, 0 for "nothing now", or an
    /// error; the sender's address; whether the datagram was cut.
    func udpReceived(_ n: Int, _ buffer: UnsafeMutableRawBufferPointer, _ address: UnsafePointer<sockaddr>?, _ partial: Bool)
}

/// A datagram send (`uv_udp_send_t`): the buffers stay the caller's until
/// the callback, which always waits for the pending phase.
package final class NativeSendRequest {
    fileprivate let buffers: [UnsafeRawBufferPointer]
    @exclusivity(unchecked)
    fileprivate var address: sockaddr_storage
    fileprivate let addressLength: socklen_t
    @exclusivity(unchecked)
    fileprivate var status = 0
    fileprivate let callback: ((Int32) -> Void)?

    package init(buffers: [UnsafeRawBufferPointer], address: UnsafePointer<sockaddr>?, length: socklen_t,
                 callback: ((Int32) -> Void)?) {
        self.buffers = buffers
        var storage = sockaddr_storage()
        if let address {
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length))) }
        }
        self.address = storage
        self.addressLength = address == nil ? 0 : length
        self.callback = callback
    }

    fileprivate var size: Int { buffers.reduce(0) { $0 + $1.count } }
}

/// A UDP socket (`uv_udp_t`), following libuv's `udp.c`: an implicit bind
/// to the any-address at the first send or receive; receives of up to
/// 64 KiB, at most 32 per readiness event, each burst ending with a
/// zero-byte callback; send callbacks from the pending phase.
package final class NativeUDP: NativeHandle {
    @exclusivity(unchecked)
    private var watcher: IOWatcher!
    @exclusivity(unchecked)
    private var recvCallback: ((Int, UnsafeMutableRawBufferPointer, UnsafePointer<sockaddr>?, Bool) -> Void)?
    /// Called instead of `recvCallback` when set; not retained (the owner
    /// stops receiving, or closes the socket, before it goes).
    @exclusivity(unchecked)
    private unowned(unsafe) var receiver: (any NativeUDPReceiver)?
    @exclusivity(unchecked)
    private var sendQueue: [NativeSendRequest] = []
    @exclusivity(unchecked)
    private var sendCompleted: [NativeSendRequest] = []
    @exclusivity(unchecked)
    private var processing = false
    @exclusivity(unchecked)
    private var isIPv6 = false
    @exclusivity(unchecked)
    private var connected = false
    /// Where each datagram goes, asked for before every receive with the
    /// suggested size (64 KiB), as libuv's `alloc_cb`; nil receives into the
    /// loop's buffer. An empty buffer gives the callback `ENOBUFS` instead.
    @exclusivity(unchecked)
    package var receiveAllocator: ((Int) -> UnsafeMutableRawBufferPointer)?
    /// Bytes and requests queued (`send_queue_size`, `send_queue_count`).
    @exclusivity(unchecked)
    package private(set) var sendQueueSize = 0
    @exclusivity(unchecked)
    package private(set) var sendQueueCount = 0

    /// `uv_udp_init_ex`.
    package init(loop: NativeEventLoop, family: Int32) throws(NativeError) {
        var fd: Int32 = -1
        if family != AF_UNSPEC {
            fd = try syscall { socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
        }
        super.init(loop: loop, kind: .udp)
        watcher = IOWatcher(fd: fd) { [unowned(unsafe) self] events in self.io(events) }
    }

    package var fd: Int32 { watcher.fd }

    private func io(_ events: UInt32) {
        if events & pollIn != 0 { receive() }
        if events & pollOut != 0 {
            send()
            runCompleted()
        }
    }

    // MARK: Binding and connecting

    /// `uv_udp_bind`.
    package func bind(_ address: UnsafePointer<sockaddr>, length: socklen_t, reuseAddress: Bool, ipv6Only: Bool) throws(NativeError) {
        let family = Int32(address.pointee.sa_family)
        if ipv6Only && family != AF_INET6 { throw .invalidArgument }
        if watcher.fd == -1 {
            watcher.fd = try syscall { socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
        }
        let fd = watcher.fd
        var yes: Int32 = 1
        if reuseAddress { _ = try syscall { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, 4) } }
        if ipv6Only { _ = try syscall { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &yes, 4) } }
        if Glibc.bind(fd, address, length) != 0 {
            throw errno == EAFNOSUPPORT ? .invalidArgument : NativeError(errno: errno)
        }
        if family == AF_INET6 { isIPv6 = true }
    }

    /// The implicit bind before the first send or receive.
    private func deferredBind(family: Int32, reuseAddress: Bool = false) throws(NativeError) {
        if watcher.fd != -1 { return }
        if family == AF_INET6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            try withUnsafePointer(to: &sa) { (p) throws(NativeError) in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (a) throws(NativeError) in
                    try bind(a, length: socklen_t(MemoryLayout<sockaddr_in6>.size), reuseAddress: reuseAddress, ipv6Only: false)
                }
            }
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            try withUnsafePointer(to: &sa) { (p) throws(NativeError) in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (a) throws(NativeError) in
                    try bind(a, length: socklen_t(MemoryLayout<sockaddr_in>.size), reuseAddress: reuseAddress, ipv6Only: false)
                }
            }
        }
    }

    /// `uv_udp_connect`: `EISCONN` when already connected.
    package func connect(_ address: UnsafePointer<sockaddr>, length: socklen_t) throws(NativeError) {
        let family = Int32(address.pointee.sa_family)
        if family != AF_INET && family != AF_INET6 { throw .invalidArgument }
        if connected { throw NativeError(errno: EISCONN) }
        try deferredBind(family: family)
        _ = try syscall { Glibc.connect(watcher.fd, address, length) }
        connected = true
    }

    /// `uv_udp_connect` with no address: `ENOTCONN` when not connected.
    package func disconnect() throws(NativeError) {
        if !connected { throw NativeError(errno: ENOTCONN) }
        var sa = sockaddr()
        sa.sa_family = sa_family_t(AF_UNSPEC)
        _ = try syscall { Glibc.connect(watcher.fd, &sa, socklen_t(MemoryLayout<sockaddr>.size)) }
        connected = false
    }

    /// `uv_udp_open`.
    package func open(socket: Int32) throws(NativeError) {
        if watcher.fd != -1 { throw .busy }
        if loop.isWatched(socket) { throw NativeError(errno: EEXIST) }
        let mode = try syscall { fcntl(socket, F_GETFL) }
        _ = try syscall { fcntl(socket, F_SETFL, mode | O_NONBLOCK) }
        var yes: Int32 = 1
        _ = try syscall { setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, 4) }
        watcher.fd = socket
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let peer = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(socket, $0, &len) }
        }
        if peer == 0 && len > 0 { connected = true }
    }

    /// `uv_udp_getsockname` / `uv_udp_getpeername`.
    package func name(peer: Bool, into address: UnsafeMutablePointer<sockaddr>, length: inout socklen_t) throws(NativeError) {
        if watcher.fd < 0 { throw NativeError(errno: EBADF) }
        let fd = watcher.fd
        _ = try syscall { peer ? getpeername(fd, address, &length) : getsockname(fd, address, &length) }
    }

    // MARK: Sending

    /// The checks of `uv__udp_check_before_send`.
    private func checkBeforeSend(_ address: UnsafePointer<sockaddr>?) throws(NativeError) {
        if address != nil && connected { throw NativeError(errno: EISCONN) }
        if address == nil && !connected { throw NativeError(errno: EDESTADDRREQ) }
        if let address {
            let family = Int32(address.pointee.sa_family)
            if family != AF_INET && family != AF_INET6 && family != AF_UNIX { throw .invalidArgument }
        }
    }

    /// `uv_udp_send`.
    package func send(_ request: NativeSendRequest, to address: UnsafePointer<sockaddr>?) throws(NativeError) {
        try checkBeforeSend(address)
        if let address { try deferredBind(family: Int32(address.pointee.sa_family)) }
        let emptyQueue = sendQueueCount == 0
        loop.activeRequests += 1
        sendQueueSize += request.size
        sendQueueCount += 1
        sendQueue.append(request)
        markActive()
        if emptyQueue && !processing {
            send()
            if !sendQueue.isEmpty { loop.ioStart(watcher, pollOut) }
        } else {
            loop.ioStart(watcher, pollOut)
        }
    }

    /// `uv_udp_try_send`: the bytes sent, `EAGAIN` while sends are queued.
    package func trySend(_ buffers: [UnsafeRawBufferPointer], to address: UnsafePointer<sockaddr>?, length: socklen_t) throws(NativeError) -> Int {
        try checkBeforeSend(address)
        if sendQueueCount != 0 { throw NativeError(errno: EAGAIN) }
        if let address { try deferredBind(family: Int32(address.pointee.sa_family)) }
        var h = msghdr()
        h.msg_name = UnsafeMutableRawPointer(mutating: address)
        h.msg_namelen = address == nil ? 0 : length
        let fd = watcher.fd
        // The iovecs on the stack: a send allocates nothing of its own.
        return try withUnsafeTemporaryAllocation(of: iovec.self, capacity: buffers.count) { (iovs) throws(NativeError) -> Int in
            for (i, b) in buffers.enumerated() { iovs[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: b.baseAddress), iov_len: b.count) }
            h.msg_iov = iovs.baseAddress
            h.msg_iovlen = iovs.count
            var n: Int
            repeat { n = sendmsg(fd, &h, 0) } while n == -1 && errno == EINTR
            if n == -1 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS { throw NativeError(errno: EAGAIN) }
                throw NativeError(errno: errno)
            }
            return n
        }
    }

    /// Sends queued datagrams until the kernel pushes back; each finished one
    /// (sent or failed) moves to the completed queue for the pending phase.
    private func send() {
        while let request = sendQueue.first {
            var h = msghdr()
            let n: Int = withUnsafeMutablePointer(to: &request.address) { addr in
                h.msg_name = request.addressLength == 0 ? nil : UnsafeMutableRawPointer(addr)
                h.msg_namelen = request.addressLength
                return withUnsafeTemporaryAllocation(of: iovec.self, capacity: request.buffers.count) { iovs in
                    for (i, b) in request.buffers.enumerated() {
                        iovs[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: b.baseAddress), iov_len: b.count)
                    }
                    h.msg_iov = iovs.baseAddress
                    h.msg_iovlen = iovs.count
                    var n: Int
                    repeat { n = sendmsg(watcher.fd, &h, 0) } while n == -1 && errno == EINTR
                    return n
                }
            }
            if n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) { break }
            request.status = n == -1 ? Int(-errno) : n
            sendQueue.removeFirst()
            sendCompleted.append(request)
            loop.feed(watcher)
        }
    }

    private func runCompleted() {
        processing = true
        while !sendCompleted.isEmpty {
            let request = sendCompleted.removeFirst()
            loop.activeRequests -= 1
            sendQueueSize -= request.size
            sendQueueCount -= 1
            request.callback?(request.status >= 0 ? 0 : Int32(request.status))
        }
        if sendQueue.isEmpty {
            loop.ioStop(watcher, pollOut)
            if !loop.ioActive(watcher, pollIn) { markInactive() }
        }
        processing = false
    }

    // MARK: Receiving

    /// `uv_udp_recv_start`: `EALREADY` when receiving.
    package func receiveStart(_ callback: @escaping (Int, UnsafeMutableRawBufferPointer, UnsafePointer<sockaddr>?, Bool) -> Void) throws(NativeError) {
        try beginReceiving()
        recvCallback = callback
    }

    /// `receiveStart` handing datagrams to `receiver` directly (no closure
    /// call or retain per datagram).
    package func receiveStart(receiver: any NativeUDPReceiver) throws(NativeError) {
        try beginReceiving()
        self.receiver = receiver
    }

    private func beginReceiving() throws(NativeError) {
        if loop.ioActive(watcher, pollIn) { throw NativeError(errno: EALREADY) }
        try deferredBind(family: AF_INET)
        loop.ioStart(watcher, pollIn)
        markActive()
    }

    @inline(__always)
    private func deliver(_ n: Int, _ buffer: UnsafeMutableRawBufferPointer, _ address: UnsafePointer<sockaddr>?, _ partial: Bool) {
        if let receiver {
            receiver.udpReceived(n, buffer, address, partial)
        } else {
            recvCallback?(n, buffer, address, partial)
        }
    }

    /// `uv_udp_recv_stop`.
    package func receiveStop() {
        loop.ioStop(watcher, pollIn)
        if !loop.ioActive(watcher, pollOut) { markInactive() }
        recvCallback = nil
        receiver = nil
    }

    private func receive() {
        var count = 32
        var storage = sockaddr_storage()
        while receiver != nil || recvCallback != nil, watcher.fd != -1, count > 0 {
            count -= 1
            var buffer = loop.readBuffer
            if let receiveAllocator {
                buffer = receiveAllocator(64 * 1024)
                if buffer.baseAddress == nil || buffer.count == 0 {
                    deliver(Int(-ENOBUFS), buffer, nil, false)
                    return
                }
            }
            storage = sockaddr_storage()
            var iov = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
            var h = msghdr()
            var n = 0
            withUnsafeMutablePointer(to: &storage) { addr in
                h.msg_name = UnsafeMutableRawPointer(addr)
                h.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                withUnsafeMutablePointer(to: &iov) { iovp in
                    h.msg_iov = iovp
                    h.msg_iovlen = 1
                    repeat { n = recvmsg(watcher.fd, &h, 0) } while n == -1 && errno == EINTR
                }
            }
            if n == -1 {
                let err = errno
                deliver(err == EAGAIN || err == EWOULDBLOCK ? 0 : Int(-err), buffer, nil, false)
                return
            }
            let partial = h.msg_flags & Int32(MSG_TRUNC) != 0
            withUnsafePointer(to: &storage) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    deliver(n, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]), sa, partial)
                }
            }
        }
    }

    // MARK: Options

    private func setOption(_ level4: Int32, _ option4: Int32, _ option6: Int32, _ value: Int32, asChar: Bool) throws(NativeError) {
        let level = isIPv6 ? Int32(IPPROTO_IPV6) : level4
        let option = isIPv6 ? option6 : option4
        let fd = watcher.fd
        if asChar && !isIPv6 {
            if value < 0 || value > 255 { throw .invalidArgument }
            var c = UInt8(value)
            _ = try syscall { setsockopt(fd, level, option, &c, 1) }
        } else {
            var v = value
            _ = try syscall { setsockopt(fd, level, option, &v, 4) }
        }
    }

    /// `uv_udp_set_broadcast`.
    package func setBroadcast(_ on: Bool) throws(NativeError) {
        var v: Int32 = on ? 1 : 0
        let fd = watcher.fd
        _ = try syscall { setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &v, 4) }
    }

    /// `uv_udp_set_ttl`: 1...255.
    package func setTTL(_ ttl: Int32) throws(NativeError) {
        if ttl < 1 || ttl > 255 { throw .invalidArgument }
        try setOption(Int32(IPPROTO_IP), IP_TTL, IPV6_UNICAST_HOPS, ttl, asChar: false)
    }

    /// `uv_udp_set_multicast_ttl`.
    package func setMulticastTTL(_ ttl: Int32) throws(NativeError) {
        if ttl < 0 || ttl > 255 { throw .invalidArgument }
        try setOption(Int32(IPPROTO_IP), IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS, ttl, asChar: false)
    }

    /// `uv_udp_set_multicast_loop`.
    package func setMulticastLoop(_ on: Bool) throws(NativeError) {
        try setOption(Int32(IPPROTO_IP), IP_MULTICAST_LOOP, IPV6_MULTICAST_LOOP, on ? 1 : 0, asChar: false)
    }

    /// `uv_udp_set_multicast_interface` with an IPv4 address, in network order.
    package func setMulticastInterface(ipv4 address: UInt32) throws(NativeError) {
        var a = in_addr(s_addr: address)
        let fd = watcher.fd
        _ = try syscall { setsockopt(fd, Int32(IPPROTO_IP), IP_MULTICAST_IF, &a, socklen_t(MemoryLayout<in_addr>.size)) }
    }

    /// `uv_udp_set_multicast_interface` with an IPv6 scope.
    package func setMulticastInterface(ipv6Scope scope: UInt32) throws(NativeError) {
        var s = scope
        let fd = watcher.fd
        _ = try syscall { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &s, 4) }
    }

    /// `uv_udp_set_membership` for IPv4 (addresses in network order).
    package func setMembership(ipv4 group: UInt32, interface: UInt32, join: Bool) throws(NativeError) {
        try deferredBind(family: AF_INET, reuseAddress: true)
        var mreq = ip_mreq(imr_multiaddr: in_addr(s_addr: group), imr_interface: in_addr(s_addr: interface))
        let fd = watcher.fd
        let option = join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP
        _ = try syscall { setsockopt(fd, Int32(IPPROTO_IP), option, &mreq, socklen_t(MemoryLayout<ip_mreq>.size)) }
    }

    /// `uv_udp_set_membership` for IPv6.
    package func setMembership(ipv6 group: in6_addr, interface: UInt32, join: Bool) throws(NativeError) {
        try deferredBind(family: AF_INET6, reuseAddress: true)
        var mreq = ipv6_mreq(ipv6mr_multiaddr: group, ipv6mr_interface: interface)
        let fd = watcher.fd
        let option = join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP
        _ = try syscall { setsockopt(fd, Int32(IPPROTO_IPV6), option, &mreq, socklen_t(MemoryLayout<ipv6_mreq>.size)) }
    }

    /// `uv_udp_set_source_membership` for IPv4 (addresses in network order).
    package func setSourceMembership(group: UInt32, interface: UInt32, source: UInt32, join: Bool) throws(NativeError) {
        try deferredBind(family: AF_INET, reuseAddress: true)
        var mreq = ip_mreq_source(imr_multiaddr: in_addr(s_addr: group), imr_interface: in_addr(s_addr: interface),
                                  imr_sourceaddr: in_addr(s_addr: source))
        let fd = watcher.fd
        let option = join ? IP_ADD_SOURCE_MEMBERSHIP : IP_DROP_SOURCE_MEMBERSHIP
        _ = try syscall { setsockopt(fd, Int32(IPPROTO_IP), option, &mreq, socklen_t(MemoryLayout<ip_mreq_source>.size)) }
    }

    // MARK: Close

    override package var descriptor: Int32 { watcher.fd }

    override func willClose() {
        loop.ioClose(watcher)
        markInactive()
        if watcher.fd != -1 {
            closeDescriptor(watcher.fd)
            watcher.fd = -1
        }
    }

    /// Queued sends get `ECANCELED` before the close callback.
    override func didClose() {
        for request in sendQueue {
            request.status = Int(NativeError.cancelled.code)
            sendCompleted.append(request)
        }
        sendQueue.removeAll()
        runCompleted()
        recvCallback = nil
        receiver = nil
    }
}
