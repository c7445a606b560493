#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` figures from /proc (Linux); nil where /proc does not answer.
enum ProcessFigures {
    /// Resident set size in bytes (`/proc/self/statm`, second field, in pages).
    static func residentBytes() -> Double? {
        guard let text = read("/proc/self/statm") else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let pages = Double(fields[1]) else { return nil }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Unix time the process started: boot time (`btime` of /proc/stat) plus the process's start in
    /// clock ticks after boot (field 22 of /proc/self/stat).
    static func startTimeSeconds() -> Double? {
        guard let stat = read("/proc/self/stat"), let close = stat.lastIndex(of: ")"),
              let system = read("/proc/stat") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields after the command: state is field 3, so starttime (22) is index 19 here.
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        guard let line = system.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let boot = Double(line.dropFirst(6).trimmingPrefix(while: { $0 == " " })) else { return nil }
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard hertz > 0 else { return nil }
        return boot + ticks / hertz
    }

    /// A small /proc file's text (procfs reports size 0, so read until end).
    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
