import VigilCore
import Yams

extension PlantDecoder {
    /// A device's second path: `backup: {host, port}` on a TCP device (a second gateway; either
    /// key defaults to the primary's), `backup_port:` on an RTU device (a second serial line with
    /// the primary's line settings). A key of the other transport is reported.
    static func decodeBackup(_ map: MappingReader, primary: DeviceTransport?) -> DeviceTransport? {
        switch primary {
        case .tcp(let host, let port)?:
            if let node = map.node("backup_port", expected: "") {
                map.sink.report(.unknownKey, at: node.mark, map.path.key("backup_port"), found: "key \"backup_port\" on a tcp device",
                                expected: "backup: {host, port} on tcp devices (backup_port only on rtu devices)")
            }
            guard map.has("backup"),
                  let backup = MappingReader(map.node("backup", expected: ""), path: map.path.key("backup"), allowed: tcpKeys, sink: map.sink)
            else { return nil }
            let backupHost = backup.string("host", expected: "a host name or IP address")
            let backupPort = backup.int("port", in: 1...65_535)
            if !backup.has("host") && !backup.has("port") {
                map.sink.report(.missingKey, at: backup.mark, backup.path.key("host"), found: "nothing",
                                expected: "host, port or both of the backup gateway")
                return nil
            }
            // A bad value was reported: no backup, rather than a second error about the fallback.
            if (backup.has("host") && backupHost == nil) || (backup.has("port") && backupPort == nil) { return nil }
            return .tcp(host: backupHost ?? host, port: backupPort ?? port)
        case .rtu(let settings)?:
            if let node = map.node("backup", expected: "") {
                map.sink.report(.unknownKey, at: node.mark, map.path.key("backup"), found: "key \"backup\" on an rtu device",
                                expected: "backup_port: on rtu devices (backup: {host, port} only on tcp devices)")
            }
            guard let port = map.string("backup_port", expected: "a serial port name from the board file or a /dev/... path")
            else { return nil }
            var backup = settings
            backup.port = port
            return .rtu(backup)
        case nil:
            return nil
        }
    }
}
