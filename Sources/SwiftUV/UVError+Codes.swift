import CUV

// Generated from the UV_ERRNO_MAP of libuv 1.44.2's <uv.h>.
extension UVError {
    /// Argument list too long.
    ///
    /// The corresponding libuv code is `UV_E2BIG`.
    public static let argumentListTooLong = UVError(code: UV_E2BIG.rawValue)

    /// Permission denied.
    ///
    /// The corresponding libuv code is `UV_EACCES`.
    public static let permissionDenied = UVError(code: UV_EACCES.rawValue)

    /// Address already in use.
    ///
    /// The corresponding libuv code is `UV_EADDRINUSE`.
    public static let addressInUse = UVError(code: UV_EADDRINUSE.rawValue)

    /// Address not available.
    ///
    /// The corresponding libuv code is `UV_EADDRNOTAVAIL`.
    public static let addressNotAvailable = UVError(code: UV_EADDRNOTAVAIL.rawValue)

    /// Address family not supported.
    ///
    /// The corresponding libuv code is `UV_EAFNOSUPPORT`.
    public static let addressFamilyNotSupported = UVError(code: UV_EAFNOSUPPORT.rawValue)

    /// Resource temporarily unavailable.
    ///
    /// The corresponding libuv code is `UV_EAGAIN`.
    public static let resourceTemporarilyUnavailable = UVError(code: UV_EAGAIN.rawValue)

    /// Address family not supported.
    ///
    /// The corresponding libuv code is `UV_EAI_ADDRFAMILY`.
    public static let dnsAddressFamilyNotSupported = UVError(code: UV_EAI_ADDRFAMILY.rawValue)

    /// Temporary failure.
    ///
    /// The corresponding libuv code is `UV_EAI_AGAIN`.
    public static let dnsTemporaryFailure = UVError(code: UV_EAI_AGAIN.rawValue)

    /// Bad ai_flags value.
    ///
    /// The corresponding libuv code is `UV_EAI_BADFLAGS`.
    public static let dnsBadFlags = UVError(code: UV_EAI_BADFLAGS.rawValue)

    /// Invalid value for hints.
    ///
    /// The corresponding libuv code is `UV_EAI_BADHINTS`.
    public static let dnsBadHints = UVError(code: UV_EAI_BADHINTS.rawValue)

    /// Request canceled.
    ///
    /// The corresponding libuv code is `UV_EAI_CANCELED`.
    public static let dnsCancelled = UVError(code: UV_EAI_CANCELED.rawValue)

    /// Permanent failure.
    ///
    /// The corresponding libuv code is `UV_EAI_FAIL`.
    public static let dnsPermanentFailure = UVError(code: UV_EAI_FAIL.rawValue)

    /// Ai_family not supported.
    ///
    /// The corresponding libuv code is `UV_EAI_FAMILY`.
    public static let dnsFamilyNotSupported = UVError(code: UV_EAI_FAMILY.rawValue)

    /// Out of memory.
    ///
    /// The corresponding libuv code is `UV_EAI_MEMORY`.
    public static let dnsOutOfMemory = UVError(code: UV_EAI_MEMORY.rawValue)

    /// No address.
    ///
    /// The corresponding libuv code is `UV_EAI_NODATA`.
    public static let dnsNoAddress = UVError(code: UV_EAI_NODATA.rawValue)

    /// Unknown node or service.
    ///
    /// The corresponding libuv code is `UV_EAI_NONAME`.
    public static let dnsUnknownNode = UVError(code: UV_EAI_NONAME.rawValue)

    /// Argument buffer overflow.
    ///
    /// The corresponding libuv code is `UV_EAI_OVERFLOW`.
    public static let dnsBufferOverflow = UVError(code: UV_EAI_OVERFLOW.rawValue)

    /// Resolved protocol is unknown.
    ///
    /// The corresponding libuv code is `UV_EAI_PROTOCOL`.
    public static let dnsUnknownProtocol = UVError(code: UV_EAI_PROTOCOL.rawValue)

    /// Service not available for socket type.
    ///
    /// The corresponding libuv code is `UV_EAI_SERVICE`.
    public static let dnsServiceNotAvailable = UVError(code: UV_EAI_SERVICE.rawValue)

    /// Socket type not supported.
    ///
    /// The corresponding libuv code is `UV_EAI_SOCKTYPE`.
    public static let dnsSocketTypeNotSupported = UVError(code: UV_EAI_SOCKTYPE.rawValue)

    /// Connection already in progress.
    ///
    /// The corresponding libuv code is `UV_EALREADY`.
    public static let alreadyInProgress = UVError(code: UV_EALREADY.rawValue)

    /// Bad file descriptor.
    ///
    /// The corresponding libuv code is `UV_EBADF`.
    public static let badFileDescriptor = UVError(code: UV_EBADF.rawValue)

    /// Resource busy or locked.
    ///
    /// The corresponding libuv code is `UV_EBUSY`.
    public static let busy = UVError(code: UV_EBUSY.rawValue)

    /// Operation canceled.
    ///
    /// The corresponding libuv code is `UV_ECANCELED`.
    public static let cancelled = UVError(code: UV_ECANCELED.rawValue)

    /// Invalid Unicode character.
    ///
    /// The corresponding libuv code is `UV_ECHARSET`.
    public static let invalidCharacter = UVError(code: UV_ECHARSET.rawValue)

    /// Software caused connection abort.
    ///
    /// The corresponding libuv code is `UV_ECONNABORTED`.
    public static let connectionAborted = UVError(code: UV_ECONNABORTED.rawValue)

    /// Connection refused.
    ///
    /// The corresponding libuv code is `UV_ECONNREFUSED`.
    public static let connectionRefused = UVError(code: UV_ECONNREFUSED.rawValue)

    /// Connection reset by peer.
    ///
    /// The corresponding libuv code is `UV_ECONNRESET`.
    public static let connectionReset = UVError(code: UV_ECONNRESET.rawValue)

    /// Destination address required.
    ///
    /// The corresponding libuv code is `UV_EDESTADDRREQ`.
    public static let destinationAddressRequired = UVError(code: UV_EDESTADDRREQ.rawValue)

    /// File already exists.
    ///
    /// The corresponding libuv code is `UV_EEXIST`.
    public static let fileExists = UVError(code: UV_EEXIST.rawValue)

    /// Bad address in system call argument.
    ///
    /// The corresponding libuv code is `UV_EFAULT`.
    public static let badAddress = UVError(code: UV_EFAULT.rawValue)

    /// File too large.
    ///
    /// The corresponding libuv code is `UV_EFBIG`.
    public static let fileTooLarge = UVError(code: UV_EFBIG.rawValue)

    /// Host is unreachable.
    ///
    /// The corresponding libuv code is `UV_EHOSTUNREACH`.
    public static let hostUnreachable = UVError(code: UV_EHOSTUNREACH.rawValue)

    /// Interrupted system call.
    ///
    /// The corresponding libuv code is `UV_EINTR`.
    public static let interrupted = UVError(code: UV_EINTR.rawValue)

    /// Invalid argument.
    ///
    /// The corresponding libuv code is `UV_EINVAL`.
    public static let invalidArgument = UVError(code: UV_EINVAL.rawValue)

    /// I/o error.
    ///
    /// The corresponding libuv code is `UV_EIO`.
    public static let ioError = UVError(code: UV_EIO.rawValue)

    /// Socket is already connected.
    ///
    /// The corresponding libuv code is `UV_EISCONN`.
    public static let socketIsConnected = UVError(code: UV_EISCONN.rawValue)

    /// Illegal operation on a directory.
    ///
    /// The corresponding libuv code is `UV_EISDIR`.
    public static let isDirectory = UVError(code: UV_EISDIR.rawValue)

    /// Too many symbolic links encountered.
    ///
    /// The corresponding libuv code is `UV_ELOOP`.
    public static let tooManySymbolicLinks = UVError(code: UV_ELOOP.rawValue)

    /// Too many open files.
    ///
    /// The corresponding libuv code is `UV_EMFILE`.
    public static let tooManyOpenFiles = UVError(code: UV_EMFILE.rawValue)

    /// Message too long.
    ///
    /// The corresponding libuv code is `UV_EMSGSIZE`.
    public static let messageTooLong = UVError(code: UV_EMSGSIZE.rawValue)

    /// Name too long.
    ///
    /// The corresponding libuv code is `UV_ENAMETOOLONG`.
    public static let nameTooLong = UVError(code: UV_ENAMETOOLONG.rawValue)

    /// Network is down.
    ///
    /// The corresponding libuv code is `UV_ENETDOWN`.
    public static let networkDown = UVError(code: UV_ENETDOWN.rawValue)

    /// Network is unreachable.
    ///
    /// The corresponding libuv code is `UV_ENETUNREACH`.
    public static let networkUnreachable = UVError(code: UV_ENETUNREACH.rawValue)

    /// File table overflow.
    ///
    /// The corresponding libuv code is `UV_ENFILE`.
    public static let fileTableOverflow = UVError(code: UV_ENFILE.rawValue)

    /// No buffer space available.
    ///
    /// The corresponding libuv code is `UV_ENOBUFS`.
    public static let noBufferSpace = UVError(code: UV_ENOBUFS.rawValue)

    /// No such device.
    ///
    /// The corresponding libuv code is `UV_ENODEV`.
    public static let noSuchDevice = UVError(code: UV_ENODEV.rawValue)

    /// No such file or directory.
    ///
    /// The corresponding libuv code is `UV_ENOENT`.
    public static let noSuchFileOrDirectory = UVError(code: UV_ENOENT.rawValue)

    /// Not enough memory.
    ///
    /// The corresponding libuv code is `UV_ENOMEM`.
    public static let noMemory = UVError(code: UV_ENOMEM.rawValue)

    /// Machine is not on the network.
    ///
    /// The corresponding libuv code is `UV_ENONET`.
    public static let notOnNetwork = UVError(code: UV_ENONET.rawValue)

    /// Protocol not available.
    ///
    /// The corresponding libuv code is `UV_ENOPROTOOPT`.
    public static let protocolNotAvailable = UVError(code: UV_ENOPROTOOPT.rawValue)

    /// No space left on device.
    ///
    /// The corresponding libuv code is `UV_ENOSPC`.
    public static let noSpace = UVError(code: UV_ENOSPC.rawValue)

    /// Function not implemented.
    ///
    /// The corresponding libuv code is `UV_ENOSYS`.
    public static let notImplemented = UVError(code: UV_ENOSYS.rawValue)

    /// Socket is not connected.
    ///
    /// The corresponding libuv code is `UV_ENOTCONN`.
    public static let notConnected = UVError(code: UV_ENOTCONN.rawValue)

    /// Not a directory.
    ///
    /// The corresponding libuv code is `UV_ENOTDIR`.
    public static let notDirectory = UVError(code: UV_ENOTDIR.rawValue)

    /// Directory not empty.
    ///
    /// The corresponding libuv code is `UV_ENOTEMPTY`.
    public static let directoryNotEmpty = UVError(code: UV_ENOTEMPTY.rawValue)

    /// Socket operation on non-socket.
    ///
    /// The corresponding libuv code is `UV_ENOTSOCK`.
    public static let notSocket = UVError(code: UV_ENOTSOCK.rawValue)

    /// Operation not supported on socket.
    ///
    /// The corresponding libuv code is `UV_ENOTSUP`.
    public static let notSupported = UVError(code: UV_ENOTSUP.rawValue)

    /// Value too large for defined data type.
    ///
    /// The corresponding libuv code is `UV_EOVERFLOW`.
    public static let overflow = UVError(code: UV_EOVERFLOW.rawValue)

    /// Operation not permitted.
    ///
    /// The corresponding libuv code is `UV_EPERM`.
    public static let notPermitted = UVError(code: UV_EPERM.rawValue)

    /// Broken pipe.
    ///
    /// The corresponding libuv code is `UV_EPIPE`.
    public static let brokenPipe = UVError(code: UV_EPIPE.rawValue)

    /// Protocol error.
    ///
    /// The corresponding libuv code is `UV_EPROTO`.
    public static let protocolError = UVError(code: UV_EPROTO.rawValue)

    /// Protocol not supported.
    ///
    /// The corresponding libuv code is `UV_EPROTONOSUPPORT`.
    public static let protocolNotSupported = UVError(code: UV_EPROTONOSUPPORT.rawValue)

    /// Protocol wrong type for socket.
    ///
    /// The corresponding libuv code is `UV_EPROTOTYPE`.
    public static let protocolWrongType = UVError(code: UV_EPROTOTYPE.rawValue)

    /// Result too large.
    ///
    /// The corresponding libuv code is `UV_ERANGE`.
    public static let resultTooLarge = UVError(code: UV_ERANGE.rawValue)

    /// Read-only file system.
    ///
    /// The corresponding libuv code is `UV_EROFS`.
    public static let readOnlyFileSystem = UVError(code: UV_EROFS.rawValue)

    /// Cannot send after transport endpoint shutdown.
    ///
    /// The corresponding libuv code is `UV_ESHUTDOWN`.
    public static let transportShutDown = UVError(code: UV_ESHUTDOWN.rawValue)

    /// Invalid seek.
    ///
    /// The corresponding libuv code is `UV_ESPIPE`.
    public static let invalidSeek = UVError(code: UV_ESPIPE.rawValue)

    /// No such process.
    ///
    /// The corresponding libuv code is `UV_ESRCH`.
    public static let noSuchProcess = UVError(code: UV_ESRCH.rawValue)

    /// Connection timed out.
    ///
    /// The corresponding libuv code is `UV_ETIMEDOUT`.
    public static let timedOut = UVError(code: UV_ETIMEDOUT.rawValue)

    /// Text file is busy.
    ///
    /// The corresponding libuv code is `UV_ETXTBSY`.
    public static let textFileBusy = UVError(code: UV_ETXTBSY.rawValue)

    /// Cross-device link not permitted.
    ///
    /// The corresponding libuv code is `UV_EXDEV`.
    public static let crossDeviceLink = UVError(code: UV_EXDEV.rawValue)

    /// Unknown error.
    ///
    /// The corresponding libuv code is `UV_UNKNOWN`.
    public static let unknown = UVError(code: UV_UNKNOWN.rawValue)

    /// End of file.
    ///
    /// The corresponding libuv code is `UV_EOF`.
    public static let endOfFile = UVError(code: UV_EOF.rawValue)

    /// No such device or address.
    ///
    /// The corresponding libuv code is `UV_ENXIO`.
    public static let noSuchDeviceOrAddress = UVError(code: UV_ENXIO.rawValue)

    /// Too many links.
    ///
    /// The corresponding libuv code is `UV_EMLINK`.
    public static let tooManyLinks = UVError(code: UV_EMLINK.rawValue)

    /// Host is down.
    ///
    /// The corresponding libuv code is `UV_EHOSTDOWN`.
    public static let hostDown = UVError(code: UV_EHOSTDOWN.rawValue)

    /// Remote I/O error.
    ///
    /// The corresponding libuv code is `UV_EREMOTEIO`.
    public static let remoteIOError = UVError(code: UV_EREMOTEIO.rawValue)

    /// Inappropriate ioctl for device.
    ///
    /// The corresponding libuv code is `UV_ENOTTY`.
    public static let notATerminal = UVError(code: UV_ENOTTY.rawValue)

    /// Inappropriate file type or format.
    ///
    /// The corresponding libuv code is `UV_EFTYPE`.
    public static let inappropriateFileType = UVError(code: UV_EFTYPE.rawValue)

    /// Illegal byte sequence.
    ///
    /// The corresponding libuv code is `UV_EILSEQ`.
    public static let illegalByteSequence = UVError(code: UV_EILSEQ.rawValue)

    /// Socket type not supported.
    ///
    /// The corresponding libuv code is `UV_ESOCKTNOSUPPORT`.
    public static let socketTypeNotSupported = UVError(code: UV_ESOCKTNOSUPPORT.rawValue)
}
