/// The Sparkplug B 3.0 edge node as a value: the layout, the values last published (the reference
/// for report by exception), `bdSeq` and `seq`. No I/O and no clock: the caller publishes what it
/// returns, in the order returned, and passes timestamps in.
///
/// A session: `newSession` gives the NDEATH to register as the MQTT will (a new `bdSeq`); after
/// connecting, `birth` gives NBIRTH (`seq` 0) and the DBIRTHs; then `changes`, `monitorEvent` and
/// `alarmChange` give unsequenced NDATA/DDATA, which `sequenced` numbers when they are sent (kept in
/// between while the broker is unreachable). A host's rebirth request is answered with `birth` again.
public struct SparkplugEdgeNode: Sendable {
    public let layout: SparkplugLayout
    /// The birth/death sequence number of the current session (0–255).
    public private(set) var bdSeq: UInt8
    /// The `seq` the next sequenced message gets (0–255, wrapping).
    public private(set) var seq: UInt8 = 0
    private var nextBdSeq: UInt8
    private var sessionStarted = false
    private var nodeValues: [SparkplugValue]
    private var deviceValues: [[SparkplugValue]]
    /// Where `Events/Monitor` and `Events/Alarm` are in `layout.nodeMetrics`.
    private let monitorEventIndex: Int
    private let alarmEventIndex: Int

    /// `firstBdSeq`: the `bdSeq` of the first session (a restarted controller may continue its last one + 1).
    public init(layout: SparkplugLayout, firstBdSeq: UInt8 = 0) {
        self.layout = layout
        bdSeq = firstBdSeq
        nextBdSeq = firstBdSeq
        nodeValues = layout.nodeMetrics.map { Self.initialValue($0) }
        deviceValues = layout.devices.map { $0.metrics.map { Self.initialValue($0) } }
        // Every layout has both event metrics (SparkplugLayout.init).
        monitorEventIndex = layout.nodeMetrics.firstIndex { $0.role == .monitorEvent } ?? layout.nodeMetrics.count
        alarmEventIndex = layout.nodeMetrics.firstIndex { $0.role == .alarmEvent } ?? layout.nodeMetrics.count
    }

    private static func initialValue(_ metric: SparkplugMetric) -> SparkplugValue {
        switch metric.role {
        case .rebirth: return .boolean(false)
        case .monitorEvent, .alarmEvent: return .string("")
        default: return .null
        }
    }

    /// Starts a session (an MQTT connection): takes the next `bdSeq` and returns the NDEATH to
    /// register as the connection's will.
    public mutating func newSession(timestamp: UInt64) -> SparkplugMessage {
        bdSeq = nextBdSeq
        nextBdSeq &+= 1
        sessionStarted = true
        return death(timestamp: timestamp)
    }

    /// The NDEATH of the current session (also published on an orderly disconnect): `bdSeq` alone, no `seq`.
    public func death(timestamp: UInt64) -> SparkplugMessage {
        var payload = SparkplugPayload()
        payload.timestamp = timestamp
        payload.metrics = [bdSeqMetric(timestamp: timestamp, form: .death)]
        return SparkplugMessage(topic: layout.topic(.ndeath).string, payload: serialize(payload))
    }

    private func bdSeqMetric(timestamp: UInt64, form: SparkplugPayload.Metric.Form) -> SparkplugPayload.Metric {
        SparkplugPayload.Metric(layout.nodeMetrics[0], value: .int64(Int64(bdSeq)), timestamp: timestamp, form: form)
    }

    /// NBIRTH (`seq` 0, every node metric with its current value) then one DBIRTH per device, sequenced:
    /// after connecting, and again on a rebirth request (same `bdSeq`). The sample becomes the reference
    /// for report by exception. Without an earlier `newSession`, the first birth starts the first session.
    public mutating func birth(_ sample: EdgeSample) throws(SparkplugSampleError) -> [SparkplugMessage] {
        try sample.check(against: layout)
        if !sessionStarted {
            bdSeq = nextBdSeq
            nextBdSeq &+= 1
            sessionStarted = true
        }
        let t = sample.timestamp
        seq = 0
        for (i, metric) in layout.nodeMetrics.enumerated() {
            if let v = sample.value(of: metric.role) { nodeValues[i] = v }
        }
        var node = SparkplugPayload()
        node.timestamp = t
        node.metrics = layout.nodeMetrics.enumerated().map { i, metric in
            metric.role == .bdSeq ? bdSeqMetric(timestamp: t, form: .birth)
                : SparkplugPayload.Metric(metric, value: nodeValues[i], timestamp: t, form: .birth)
        }
        var out = [stamp(node, topic: layout.topic(.nbirth))]
        for (d, device) in layout.devices.enumerated() {
            for (i, metric) in device.metrics.enumerated() {
                if let v = sample.value(of: metric.role) { deviceValues[d][i] = v }
            }
            var payload = SparkplugPayload()
            payload.timestamp = t
            payload.metrics = device.metrics.enumerated().map { i, metric in
                SparkplugPayload.Metric(metric, value: deviceValues[d][i], timestamp: t, form: .birth)
            }
            out.append(stamp(payload, topic: layout.topic(.dbirth, device: device.id)))
        }
        return out
    }

    /// NDATA and DDATA (one per device with a change) for what changed since the last values
    /// published: a Double beyond its deadband (or to or from null), any other change; a sensor
    /// whose quality or health changed also reports its value.
    public mutating func changes(_ sample: EdgeSample) throws(SparkplugSampleError) -> [SparkplugUnsequenced] {
        try sample.check(against: layout)
        let t = sample.timestamp
        var out: [SparkplugUnsequenced] = []
        var nodeMetrics: [SparkplugPayload.Metric] = []
        for (i, metric) in layout.nodeMetrics.enumerated() {
            guard let v = sample.value(of: metric.role), Self.reports(v, over: nodeValues[i], deadband: metric.deadband) else { continue }
            nodeValues[i] = v
            nodeMetrics.append(SparkplugPayload.Metric(metric, value: v, timestamp: t, form: .data))
        }
        if !nodeMetrics.isEmpty { out.append(data(nodeMetrics, timestamp: t, topic: layout.topic(.ndata), alarm: false)) }
        for (d, device) in layout.devices.enumerated() {
            var forced = Set<Int>()
            for (i, metric) in device.metrics.enumerated() {
                switch metric.role {
                case .sensorQuality(let s), .sensorHealth(let s):
                    if let v = sample.value(of: metric.role), v != deviceValues[d][i] { forced.insert(s) }
                default: break
                }
            }
            var metrics: [SparkplugPayload.Metric] = []
            for (i, metric) in device.metrics.enumerated() {
                guard let v = sample.value(of: metric.role) else { continue }
                var report = Self.reports(v, over: deviceValues[d][i], deadband: metric.deadband)
                if case .sensorValue(let s) = metric.role, forced.contains(s) { report = true }
                guard report else { continue }
                deviceValues[d][i] = v
                metrics.append(SparkplugPayload.Metric(metric, value: v, timestamp: t, form: .data))
            }
            if !metrics.isEmpty { out.append(data(metrics, timestamp: t, topic: layout.topic(.ddata, device: device.id), alarm: false)) }
        }
        return out
    }

    /// An NDATA carrying one monitor event (detection, diagnosis, failover, repair, escalation) as `Events/Monitor`.
    public mutating func monitorEvent(_ text: String, timestamp: UInt64) -> SparkplugUnsequenced {
        event(text, role: .monitorEvent, timestamp: timestamp)
    }

    /// An NDATA carrying one alarm state change as `Events/Alarm` (`carriesAlarm` set).
    public mutating func alarmChange(_ text: String, timestamp: UInt64) -> SparkplugUnsequenced {
        event(text, role: .alarmEvent, timestamp: timestamp)
    }

    private mutating func event(_ text: String, role: SparkplugMetricRole, timestamp: UInt64) -> SparkplugUnsequenced {
        let i = role == .alarmEvent ? alarmEventIndex : monitorEventIndex
        nodeValues[i] = .string(text)
        let metric = SparkplugPayload.Metric(layout.nodeMetrics[i], value: .string(text), timestamp: timestamp, form: .data)
        return data([metric], timestamp: timestamp, topic: layout.topic(.ndata), alarm: role == .alarmEvent)
    }

    /// A DDEATH for a device of the layout (nil for an unknown device id).
    public func deviceDeath(_ deviceID: String, timestamp: UInt64) -> SparkplugUnsequenced? {
        guard layout.deviceIndex(deviceID) != nil else { return nil }
        var payload = SparkplugPayload()
        payload.timestamp = timestamp
        return SparkplugUnsequenced(topic: layout.topic(.ddeath, device: deviceID), carriesAlarm: false, payload: payload)
    }

    /// The message as sent now: the next `seq`; with `historical`, every metric marked `is_historical`
    /// (their original timestamps kept) for a backlog sent after reconnecting. `sentAt`, when given,
    /// replaces the payload timestamp (the metrics keep theirs).
    public mutating func sequenced(_ message: SparkplugUnsequenced, historical: Bool = false, sentAt: UInt64? = nil) -> SparkplugMessage {
        var payload = message.payload
        if historical {
            for i in payload.metrics.indices { payload.metrics[i].isHistorical = true }
        }
        if let sentAt { payload.timestamp = sentAt }
        return stamp(payload, topic: message.topic)
    }

    private mutating func stamp(_ payload: SparkplugPayload, topic: SparkplugTopic) -> SparkplugMessage {
        var payload = payload
        payload.seq = UInt64(seq)
        seq &+= 1
        return SparkplugMessage(topic: topic.string, payload: serialize(payload))
    }

    private func data(_ metrics: [SparkplugPayload.Metric], timestamp: UInt64, topic: SparkplugTopic, alarm: Bool) -> SparkplugUnsequenced {
        var payload = SparkplugPayload()
        payload.timestamp = timestamp
        payload.metrics = metrics
        return SparkplugUnsequenced(topic: topic, carriesAlarm: alarm, payload: payload)
    }

    /// Whether `new` is reported over the last published `old`.
    static func reports(_ new: SparkplugValue, over old: SparkplugValue, deadband: Double) -> Bool {
        switch (new, old) {
        case (.double(let a), .double(let b)): return abs(a - b) > deadband
        default: return new != old
        }
    }

    /// The value last published for a metric (node or device), by name.
    public func lastValue(_ name: String, device: String? = nil) -> SparkplugValue? {
        if let device {
            guard let d = layout.deviceIndex(device), let i = layout.devices[d].metrics.firstIndex(where: { $0.name == name }) else { return nil }
            return deviceValues[d][i]
        }
        return layout.nodeMetrics.firstIndex { $0.name == name }.map { nodeValues[$0] }
    }
}
