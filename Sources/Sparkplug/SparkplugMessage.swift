import SwiftProtobuf

/// The generated Sparkplug B payload (Sources/Sparkplug/Generated, from Proto/sparkplug_b.proto).
public typealias SparkplugPayload = Org_Eclipse_Tahu_Protobuf_Payload

/// A message ready to publish: its topic and encoded payload.
public struct SparkplugMessage: Sendable, Hashable {
    public var topic: String
    public var payload: [UInt8]

    public init(topic: String, payload: [UInt8]) {
        self.topic = topic
        self.payload = payload
    }
}

/// Why stored bytes are not an unsequenced message.
public enum SparkplugStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Shorter than its header or its topic length says.
    case truncated(length: Int)
    case badTopic(SparkplugTopicError)
    /// A topic the edge node never sequences (births, deaths, commands, STATE).
    case notDataTopic(String)
    case malformedPayload(String)

    public var description: String {
        switch self {
        case .truncated(let length): return "stored message of \(length) bytes is truncated"
        case .badTopic(let error): return "stored message: \(error)"
        case .notDataTopic(let topic): return "stored message for '\(topic)': only NDATA, DDATA and DDEATH are stored"
        case .malformedPayload(let why): return "stored message: malformed payload (\(why))"
        }
    }
}

/// An NDATA, DDATA or DDEATH without its `seq`: what the edge node produces for changes, kept
/// (`encoded()`) while the broker is unreachable and given its `seq` when sent (`SparkplugEdgeNode.sequenced`).
public struct SparkplugUnsequenced: Sendable, Hashable {
    public let topic: SparkplugTopic
    /// Whether it carries an alarm state change (`Events/Alarm`): an outbox keeps these longest.
    public let carriesAlarm: Bool
    let payload: SparkplugPayload

    init(topic: SparkplugTopic, carriesAlarm: Bool, payload: SparkplugPayload) {
        self.topic = topic
        self.carriesAlarm = carriesAlarm
        self.payload = payload
    }

    /// The payload's timestamp: when the change was sampled, ms since the Unix epoch.
    public var timestamp: UInt64 { payload.timestamp }

    /// The number of metrics it carries (0 for DDEATH).
    public var metricCount: Int { payload.metrics.count }

    /// Bytes to keep: `[topic length: UInt16 big-endian][topic UTF-8][flags: 1 = alarm][payload protobuf, no seq]`.
    public func encoded() -> [UInt8] {
        let topicBytes = Array(topic.string.utf8)
        var out: [UInt8] = [UInt8(topicBytes.count >> 8), UInt8(topicBytes.count & 0xFF)]
        out += topicBytes
        out.append(carriesAlarm ? 1 : 0)
        out += serialize(payload)
        return out
    }

    /// Reads bytes made by `encoded()`.
    public init(encoded bytes: [UInt8]) throws(SparkplugStoreError) {
        guard bytes.count >= 3 else { throw .truncated(length: bytes.count) }
        let length = Int(bytes[0]) << 8 | Int(bytes[1])
        guard bytes.count >= 3 + length else { throw .truncated(length: bytes.count) }
        let topicText = String(decoding: bytes[2 ..< 2 + length], as: UTF8.self)
        let topic: SparkplugTopic
        do { topic = try SparkplugTopic(parsing: topicText) } catch { throw .badTopic(error) }
        guard [.ndata, .ddata, .ddeath].contains(topic.messageType) else { throw .notDataTopic(topicText) }
        do {
            let payload = try SparkplugPayload(serializedBytes: Array(bytes[(3 + length)...]))
            self.init(topic: topic, carriesAlarm: bytes[2 + length] & 1 == 1, payload: payload)
        } catch {
            throw .malformedPayload("\(error)")
        }
    }
}

/// The protobuf encoding of a payload built in this module (no required fields, so it cannot fail).
func serialize(_ payload: SparkplugPayload) -> [UInt8] {
    do { return try payload.serializedBytes() } catch {
        preconditionFailure("Sparkplug payload encoding failed: \(error)")
    }
}

extension SparkplugPayload.Metric {
    /// How a metric is sent: in a BIRTH (name, alias, datatype, properties), in DATA (alias alone,
    /// no datatype: specification 6.4.4), or in NDEATH (`bdSeq` by name and datatype).
    enum Form { case birth, data, death }

    init(_ metric: SparkplugMetric, value: SparkplugValue, timestamp: UInt64, form: Form) {
        self.init()
        if form != .data { name = metric.name }
        if form != .death { alias = metric.alias }
        self.timestamp = timestamp
        if form != .data { datatype = metric.type.rawValue }
        switch value {
        case .null: isNull = true
        case .boolean(let b): booleanValue = b
        case .int32(let i): intValue = UInt32(bitPattern: i)
        case .int64(let i): longValue = UInt64(bitPattern: i)
        case .double(let d): doubleValue = d
        case .string(let s): stringValue = s
        }
        guard form == .birth else { return }
        var properties = SparkplugPayload.PropertySet()
        func add(_ key: String, _ value: SparkplugPayload.PropertyValue) {
            properties.keys.append(key)
            properties.values.append(value)
        }
        if let unit = metric.unit {
            var v = SparkplugPayload.PropertyValue()
            v.type = SparkplugMetricType.string.rawValue
            v.stringValue = unit
            add("engUnit", v)
        }
        for (key, bound) in [("engLow", metric.low), ("engHigh", metric.high)] {
            guard let bound, bound.isFinite else { continue }
            var v = SparkplugPayload.PropertyValue()
            v.type = SparkplugMetricType.double.rawValue
            v.doubleValue = bound
            add(key, v)
        }
        if case .outputValue = metric.role {
            var v = SparkplugPayload.PropertyValue()
            v.type = SparkplugMetricType.boolean.rawValue
            v.booleanValue = metric.writable
            add("writable", v)
        }
        if !properties.keys.isEmpty { self.properties = properties }
    }
}
