import UVDemoKit

#if canImport(Glibc)
import Glibc
#endif

// `uvdemo --help` explains; `make demo` runs `uvdemo compare book`.
exit(UVDemo.execute(Array(CommandLine.arguments.dropFirst())))
