import Foundation
import SwiftUV
import Testing

/// Every public SwiftUV type, named unqualified in a file that also imports
/// Foundation. Foundation has `Timer`, `Stream`, `Pipe` and `Process`, so
/// SwiftUV's are `UVTimer`, `UVStream`, `UVPipe` and `UVProcess` (as
/// SwiftNIO names its `NIOFileHandle` and `NIOThreadPool`): a type name that
/// clashes again makes this file fail to compile.
@Suite("names beside Foundation")
struct FoundationNamesTests {
    @Test("every public type is usable unqualified with Foundation imported, and names itself")
    func unqualifiedNames() throws {
        let types: [Any.Type] = [
            AddressHints.self, AddressInfo.self, Async.self, AsyncSender.self, Backend.self, Check.self,
            Connections<TCP>.self, DNSRequest.self, Datagram.self, Directory.self, DirectoryEntry.self,
            FSEvent.self, FSPoll.self, FSRequest.self, FileStat.self, FileSystem.self, FileSystemStats.self,
            Handle.self, HandleType.self, Idle.self, Loop.self, LoopExecutor.self, LoopWatcher.self,
            OpenFlags.self, Poll.self, Prepare.self, ProcessOptions.self, RunMode.self, Signal.self,
            SocketAddress.self, StdioOption.self, StreamChunks.self, System.self, TCP.self, TTY.self, UDP.self,
            UVError.self, UVPipe.self, UVProcess.self, UVStream.self, UVTimer.self, Work.self,
        ]
        #expect(types.allSatisfy { String(reflecting: $0).hasPrefix("SwiftUV.") })
        // Foundation's own types stay reachable by their names in the same file.
        let foundation: [Any.Type] = [Foundation.Timer.self, Foundation.Stream.self, Foundation.Pipe.self, Foundation.Process.self]
        #expect(foundation.allSatisfy { String(reflecting: $0).hasPrefix("Foundation.") })

        let loop = try Loop(backend: .native)
        let timer: UVTimer = try UVTimer(loop: loop)
        var fired = false
        try timer.start(timeout: 0) { timer in
            fired = true
            try? timer.close()
        }
        try loop.run()
        try loop.close()
        #expect(fired)
    }

    @Test("localizedDescription is the readable message, context included")
    func localizedDescription() {
        let error: any Error = UVError.noSuchFileOrDirectory.with(context: "fs.open(\"/tmp/missing\")")
        #expect(error.localizedDescription == "ENOENT: no such file or directory (fs.open(\"/tmp/missing\"))")
    }
}
