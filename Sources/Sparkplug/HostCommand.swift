import SwiftProtobuf

/// A command from a Sparkplug host application that the layout allows. Whether the controller
/// carries a write out (kernel checks, interlocks, audit) is decided after this.
public enum HostCommand: Sendable, Hashable {
    /// NCMD `Node Control/Rebirth` = true: publish NBIRTH and the DBIRTHs again.
    case rebirth
    /// DCMD to an output the plant file lets hosts write.
    case writeOutput(device: String, output: String, value: Double)
}

/// Why a command was refused.
public enum HostCommandError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not an NCMD or DCMD topic of this edge node (or not a topic at all).
    case wrongTopic(String)
    /// A DCMD for a device the edge node does not have.
    case unknownDevice(String)
    /// The payload is not a Sparkplug B protobuf payload.
    case malformedPayload(String)
    /// A payload with no metric.
    case noMetrics
    /// No metric of that name or alias on the node or device addressed (name nil: an alias only; alias nil: a name only).
    case unknownMetric(name: String?, alias: UInt64?)
    /// A metric whose value is missing or of a datatype the metric does not accept (the datatype number as sent).
    case wrongDataType(metric: String, datatype: UInt32)
    /// A metric a host may not write (a reading, or an output the plant file does not enable for writes).
    case notWritable(metric: String)
    /// A write of NaN or ±infinity.
    case notFinite(metric: String)
    /// `Node Control/Rebirth` sent as false.
    case rebirthNotRequested

    public var description: String {
        switch self {
        case .wrongTopic(let topic): return "'\(topic)' is not a command topic of this edge node"
        case .unknownDevice(let id): return "no device '\(id)'"
        case .malformedPayload(let why): return "malformed Sparkplug payload: \(why)"
        case .noMetrics: return "command without metrics"
        case .unknownMetric(let name, let alias):
            return "unknown metric \(name.map { "'\($0)'" } ?? "")\(alias.map { " (alias \($0))" } ?? "")"
        case .wrongDataType(let metric, let datatype): return "'\(metric)': datatype \(datatype) or its value not accepted"
        case .notWritable(let metric): return "'\(metric)' is not writable by a host"
        case .notFinite(let metric): return "'\(metric)': value not finite"
        case .rebirthNotRequested: return "Node Control/Rebirth must be true"
        }
    }
}

extension SparkplugLayout {
    /// Decodes an NCMD or DCMD addressed to this edge node into commands, one per metric, or refuses
    /// the whole message at its first bad metric. Metrics are found by name or alias; a DCMD's
    /// value may be Boolean (0/1), an integer type, Float or Double; a datatype left out means the
    /// metric's own (Double for outputs, Boolean for rebirth).
    public func decodeCommand(topic: String, payload: [UInt8]) throws(HostCommandError) -> [HostCommand] {
        let parsed: SparkplugTopic
        do { parsed = try SparkplugTopic(parsing: topic) } catch { throw .wrongTopic(topic) }
        guard parsed.groupID == groupID, parsed.edgeNodeID == edgeNodeID,
              parsed.messageType == .ncmd || parsed.messageType == .dcmd else { throw .wrongTopic(topic) }
        let metrics: [SparkplugMetric]
        if let deviceID = parsed.deviceID {
            guard let d = deviceIndex(deviceID) else { throw .unknownDevice(deviceID) }
            metrics = devices[d].metrics
        } else {
            metrics = nodeMetrics
        }
        let decoded: SparkplugPayload
        do { decoded = try SparkplugPayload(serializedBytes: payload) } catch { throw .malformedPayload("\(error)") }
        guard !decoded.metrics.isEmpty else { throw .noMetrics }

        var commands: [HostCommand] = []
        for sent in decoded.metrics {
            let name = sent.hasName ? sent.name : nil
            let alias = sent.hasAlias ? sent.alias : nil
            let found = metrics.first { m in
                if let name, m.name != name { return false }
                if let alias, m.alias != alias { return false }
                return name != nil || alias != nil
            }
            guard let metric = found else { throw .unknownMetric(name: name, alias: alias) }
            guard metric.writable else { throw .notWritable(metric: metric.name) }
            let datatype = sent.hasDatatype ? sent.datatype : metric.type.rawValue
            switch metric.role {
            case .rebirth:
                guard datatype == SparkplugMetricType.boolean.rawValue, !sent.isNull, case .booleanValue(let on)? = sent.value else {
                    throw .wrongDataType(metric: metric.name, datatype: datatype)
                }
                guard on else { throw .rebirthNotRequested }
                commands.append(.rebirth)
            case .outputValue(let o):
                guard !sent.isNull, let value = Self.number(sent.value, datatype: datatype) else {
                    throw .wrongDataType(metric: metric.name, datatype: datatype)
                }
                guard value.isFinite else { throw .notFinite(metric: metric.name) }
                guard let deviceID = parsed.deviceID else { throw .notWritable(metric: metric.name) }
                commands.append(.writeOutput(device: deviceID, output: outputIDs[o], value: value))
            default:
                throw .notWritable(metric: metric.name)
            }
        }
        return commands
    }

    /// The numeric value of a command metric whose value field matches its datatype (Sparkplug 3.0
    /// 6.4.16 encodings: signed integers in two's complement in `int_value`/`long_value`).
    static func number(_ value: SparkplugPayload.Metric.OneOf_Value?, datatype: UInt32) -> Double? {
        switch (datatype, value) {
        case (1, .intValue(let v)?): return Double(Int8(truncatingIfNeeded: v))
        case (2, .intValue(let v)?): return Double(Int16(truncatingIfNeeded: v))
        case (3, .intValue(let v)?): return Double(Int32(bitPattern: v))
        case (4, .longValue(let v)?): return Double(Int64(bitPattern: v))
        case (5, .intValue(let v)?): return Double(UInt8(truncatingIfNeeded: v))
        case (6, .intValue(let v)?): return Double(UInt16(truncatingIfNeeded: v))
        case (7, .intValue(let v)?): return Double(v)
        case (8, .longValue(let v)?): return Double(v)
        case (9, .floatValue(let v)?): return Double(v)
        case (10, .doubleValue(let v)?): return v
        case (11, .booleanValue(let v)?): return v ? 1 : 0
        default: return nil
        }
    }
}
