import FoundationEssentials

/// With Foundation imported, `error.localizedDescription` is the readable
/// message (`ENOENT: no such file or directory (fs.open("/tmp/missing"))`)
/// instead of Foundation's "The operation could not be completed."
/// `LocalizedError` lives in FoundationEssentials, which ships with the
/// toolchain: no package dependency, and no ICU.
extension UVError: LocalizedError {
    /// The same text as `description`.
    public var errorDescription: String? { description }
}
