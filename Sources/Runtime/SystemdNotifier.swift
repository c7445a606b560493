#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The `sd_notify` protocol without libsystemd: datagrams to the unix socket named by
/// `$NOTIFY_SOCKET` (a leading `@` means the abstract namespace). Does nothing when the variable
/// is unset (not started by systemd).
public final class SystemdNotifier: @unchecked Sendable {
    private let fd: Int32
    private var address = sockaddr_un()
    private let addressLength: socklen_t
    /// Half of `$WATCHDOG_USEC`, the ping interval systemd asks for; nil without a watchdog.
    public let watchdogIntervalNanoseconds: UInt64?

    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC` from `environment`; nil when not under systemd.
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < 108 else { return nil }
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            watchdogIntervalNanoseconds = usec * 1000 / 2
        } else {
            watchdogIntervalNanoseconds = nil
        }
    }

    deinit { close(fd) }

    /// Sends one state string (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=…`). Never blocks.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        var message = Array(state.utf8)
        return withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                sendto(fd, &message, message.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), sa, addressLength) == message.count
            }
        }
    }
}
