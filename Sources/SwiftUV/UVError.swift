import CUV
import NativeLoop

/// An error from libuv or from the native backend: libuv's negative error
/// code, with its name (`ENOENT`) and message (`no such file or directory`).
///
/// Both backends report the same codes for the same conditions. Errors that
/// SwiftUV raises itself to keep a misuse away from libuv (a second close, a
/// call on a closed handle) carry a `context` that says what was refused.
/// Two errors are equal when their codes are, whatever their context.
public struct UVError: Error, Hashable, Sendable, CustomStringConvertible {
    /// libuv's error code (negative, `UV_E*`).
    public let code: Int32
    /// What SwiftUV was doing, when it raised the error itself.
    public let context: String?

    /// The error of libuv's code `code` (negative), with no context.
    public init(code: Int32) {
        self.code = code
        self.context = nil
    }

    /// The error of `code` with a note on what failed.
    public init(code: Int32, context: String?) {
        self.code = code
        self.context = context
    }

    init(_ native: NativeError) {
        self.init(code: native.code)
    }

    /// The same code with a note on what was refused.
    public func with(context: String) -> UVError { UVError(code: code, context: context) }

    /// The error's name, as `uv_err_name` (`"EINVAL"`).
    public var name: String {
        var buffer = [CChar](repeating: 0, count: 64)
        return buffer.withUnsafeMutableBufferPointer { p in
            String(cString: uv_err_name_r(code, p.baseAddress, p.count))
        }
    }

    /// The error's message, as `uv_strerror` (`"invalid argument"`).
    public var message: String {
        var buffer = [CChar](repeating: 0, count: 256)
        return buffer.withUnsafeMutableBufferPointer { p in
            String(cString: uv_strerror_r(code, p.baseAddress, p.count))
        }
    }

    /// `"EINVAL: invalid argument"`, followed by the context when there is one.
    public var description: String {
        if let context { return "\(name): \(message) (\(context))" }
        return "\(name): \(message)"
    }

    /// Whether the codes are the same, whatever the contexts.
    public static func == (lhs: UVError, rhs: UVError) -> Bool { lhs.code == rhs.code }
    /// Hashes the code only, as `==` compares it only.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// Lets `catch UVError.invalidArgument` and `case .busy` match by code.
    public static func ~= (pattern: UVError, value: any Error) -> Bool {
        (value as? UVError)?.code == pattern.code
    }
}

/// Turns a libuv status into a thrown error.
@inline(__always)
func check(_ status: Int32) throws(UVError) {
    if status < 0 { throw UVError(code: status) }
}

/// Turns a libuv status into a thrown error that says what failed
/// (`TCP.bind(127.0.0.1:80)`).
@inline(__always)
func check(_ status: Int32, _ context: @autoclosure () -> String) throws(UVError) {
    if status < 0 { throw UVError(code: status).with(context: context()) }
}
