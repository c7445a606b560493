import VigilCore
import CMosquitto
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `MQTTClient` over libmosquitto: one libmosquitto instance per connection, run by its own network
/// thread (`mosquitto_loop_start`).
///
/// libmosquitto's own reconnection is never used: when a connection ends, its instance stops, and
/// the next `connect(to:will:)` first joins and destroys it, then starts a fresh instance with a clean
/// session. So a QoS 1 message queued on a lost connection is never resent behind the caller's back;
/// one without a `.delivered` event was not acknowledged and is the caller's to send again.
///
/// `connect` resolves a host name on the caller's thread (`getaddrinfo`); the TCP connect, TLS
/// handshake and everything after happen on the network thread. libmosquitto waits with `select()`:
/// a connection whose socket gets descriptor 1024 or above ends its loop at once, which shows as
/// `.connectionRefused(reason: .timedOut)` after the connect timeout.
public final class MosquittoClient: MQTTClient, @unchecked Sendable {
    private let core: MosquittoCore

    /// A client that reports to `events` (see `MQTTEventHandler`: called on the network thread, must not block).
    public init(options: MQTTConnectOptions, events: @escaping MQTTEventHandler) {
        _ = MosquittoLibrary.initialised
        core = MosquittoCore(options: options, handler: events)
    }

    deinit { core.destroy() }

    public var options: MQTTConnectOptions { core.options }

    /// The libmosquitto version linked, e.g. "2.0.11".
    public static var libraryVersion: String {
        var major: Int32 = 0, minor: Int32 = 0, revision: Int32 = 0
        _ = mosquitto_lib_version(&major, &minor, &revision)
        return "\(major).\(minor).\(revision)"
    }

    public func connect(to broker: MQTTBrokerAddress, will: MQTTWill?) throws(MQTTClientError) {
        try core.connect(to: broker, will: will)
    }

    public func publish(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool) throws(MQTTClientError) -> MQTTMessageID {
        try core.publish(topic: topic, payload: payload, qos: qos, retain: retain)
    }

    public func subscribe(to filter: String, qos: MQTTQoS) throws(MQTTClientError) -> MQTTMessageID {
        try core.subscribe(to: filter, qos: qos)
    }

    public func disconnect(sendingWill: Bool) throws(MQTTClientError) {
        try core.disconnect(sendingWill: sendingWill)
    }

    /// From inside the event handler the instance is released on another thread, after the handler returns.
    public func destroy() { core.destroy() }
}

/// `mosquitto_lib_init`, once per process (never cleaned up: instances may live until exit).
enum MosquittoLibrary {
    static let initialised: Bool = mosquitto_lib_init() == MOSQ_ERR_SUCCESS.rawValue
}

/// One libmosquitto instance: one connection attempt and, if accepted, its session.
final class MosquittoConnection: @unchecked Sendable {
    let broker: MQTTBrokerAddress
    let core: MosquittoCore
    /// The instance; nil once destroyed. Calls into it hold this lock, so none runs after `mosquitto_destroy`.
    let handle: Mutex<OpaquePointer?>
    /// Whether the network thread runs, and whether teardown has begun: both only under `handle`'s lock,
    /// so a teardown racing a connect either stops the thread the connect started or keeps it from starting.
    var loopStarted = false
    var retired = false
    /// True once the broker accepted this connection (so teardown says goodbye with a DISCONNECT).
    let established = Mutex(false)
    /// The first TLS error libmosquitto logged for this connection (e.g. "certificate verify failed").
    let tlsError = Mutex<String?>(nil)

    init(broker: MQTTBrokerAddress, core: MosquittoCore, mosq: sending OpaquePointer) {
        self.broker = broker
        self.core = core
        handle = Mutex(mosq)
    }

    static func from(_ userdata: UnsafeMutableRawPointer?) -> MosquittoConnection {
        Unmanaged<MosquittoConnection>.fromOpaque(userdata!).takeUnretainedValue()
    }

    var userdata: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// Keeps libmosquitto's network loop from reconnecting this instance: it stops once the socket is gone.
    func stopReconnecting() {
        handle.withLock { h in
            if let h { _ = mosquitto_disconnect(h) }
        }
    }

    /// Ends the connection at once, without DISCONNECT (a pending TCP connect included): the loop
    /// sees the socket fail and stops. The descriptor stays libmosquitto's; `shutdown` only ends the
    /// connection, so libmosquitto still closes it once.
    func abort() {
        handle.withLock { h in
            guard let h else { return }
            _ = mosquitto_disconnect(h)
            let fd = mosquitto_socket(h)
            if fd >= 0 { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }
}

/// The state shared by the owner's calls and the network thread's callbacks.
final class MosquittoCore: @unchecked Sendable {
    enum Phase: Equatable {
        case idle
        case connecting
        case connected
        case disconnecting(sendingWill: Bool)
        case ended
        case destroyed
    }

    struct State {
        var phase: Phase = .idle
        var connection: MosquittoConnection?
    }

    let options: MQTTConnectOptions
    private let handler: MQTTEventHandler
    private let state = Mutex(State())
    /// Threads currently inside `handler`: connect and destroy refuse to wait for the network from there.
    private let handlerThreads = Mutex<[pthread_t]>([])

    init(options: MQTTConnectOptions, handler: @escaping MQTTEventHandler) {
        self.options = options
        self.handler = handler
    }

    // MARK: Owner calls

    func connect(to broker: MQTTBrokerAddress, will: MQTTWill?) throws(MQTTClientError) {
        guard !onHandlerThread() else { throw .calledFromEventHandler }
        try validate(will: will)
        // Take the previous (ended) connection out, and claim the client for the new one.
        let previous = try state.withLock { s throws(MQTTClientError) -> MosquittoConnection? in
            switch s.phase {
            case .destroyed: throw .destroyed
            case .connecting, .connected, .disconnecting: throw .alreadyConnected
            case .idle, .ended:
                s.phase = .connecting
                let p = s.connection
                s.connection = nil
                return p
            }
        }
        if let previous { teardown(previous) }
        do {
            let connection = try makeConnection(to: broker, will: will)
            state.withLock { $0.connection = connection }
            start(connection)
        } catch {
            state.withLock { s in if s.phase == .connecting { s.phase = .ended } }
            throw error
        }
    }

    func publish(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool) throws(MQTTClientError) -> MQTTMessageID {
        if let why = MQTTTopic.problem(withTopicName: topic) { throw .invalidTopic(topic, reason: why) }
        if payload.count > 268_435_455 { throw .payloadTooLarge(bytes: payload.count) }
        let connection = try connectedConnection()
        var mid: Int32 = 0
        let rc = connection.handle.withLock { h -> Int32 in
            guard let h else { return Int32(MOSQ_ERR_NO_CONN.rawValue) }
            return payload.withUnsafeBytes { bytes in
                mosquitto_publish(h, &mid, topic, Int32(bytes.count), bytes.baseAddress, Int32(qos.rawValue), retain)
            }
        }
        switch rc {
        case MOSQ_ERR_SUCCESS.rawValue: return MQTTMessageID(rawValue: mid)
        case MOSQ_ERR_NO_CONN.rawValue: throw .notConnected
        case MOSQ_ERR_PAYLOAD_SIZE.rawValue, MOSQ_ERR_OVERSIZE_PACKET.rawValue: throw .payloadTooLarge(bytes: payload.count)
        case MOSQ_ERR_MALFORMED_UTF8.rawValue: throw .invalidTopic(topic, reason: "not valid UTF-8")
        default: throw Self.libraryError("mosquitto_publish", rc)
        }
    }

    func subscribe(to filter: String, qos: MQTTQoS) throws(MQTTClientError) -> MQTTMessageID {
        if let why = MQTTTopic.problem(withFilter: filter) { throw .invalidTopic(filter, reason: why) }
        let connection = try connectedConnection()
        var mid: Int32 = 0
        let rc = connection.handle.withLock { h -> Int32 in
            guard let h else { return Int32(MOSQ_ERR_NO_CONN.rawValue) }
            return mosquitto_subscribe(h, &mid, filter, Int32(qos.rawValue))
        }
        switch rc {
        case MOSQ_ERR_SUCCESS.rawValue: return MQTTMessageID(rawValue: mid)
        case MOSQ_ERR_NO_CONN.rawValue: throw .notConnected
        case MOSQ_ERR_MALFORMED_UTF8.rawValue: throw .invalidTopic(filter, reason: "not valid UTF-8")
        default: throw Self.libraryError("mosquitto_subscribe", rc)
        }
    }

    func disconnect(sendingWill: Bool) throws(MQTTClientError) {
        let connection = try state.withLock { s throws(MQTTClientError) -> MosquittoConnection in
            switch s.phase {
            case .destroyed: throw .destroyed
            case .connected:
                guard let c = s.connection else { throw .notConnected }
                s.phase = .disconnecting(sendingWill: sendingWill)
                return c
            default: throw .notConnected
            }
        }
        if sendingWill && options.protocolVersion == .v311 {
            // MQTT 3.1.1 has no "disconnect with will": end the connection without DISCONNECT.
            connection.handle.withLock { h in
                guard let h else { return }
                let fd = mosquitto_socket(h)
                if fd >= 0 { _ = shutdown(fd, Int32(SHUT_RDWR)) }
            }
            return
        }
        let reason: Int32 = sendingWill ? Int32(MQTT_RC_DISCONNECT_WITH_WILL_MSG.rawValue) : 0
        _ = connection.handle.withLock { h -> Int32 in
            guard let h else { return 0 }
            return mosquitto_disconnect_v5(h, reason, nil)
        }
    }

    func destroy() {
        let connection = state.withLock { s -> MosquittoConnection? in
            s.phase = .destroyed
            let c = s.connection
            s.connection = nil
            return c
        }
        guard let connection else { return }
        if onHandlerThread() {
            DispatchQueue.global().async { self.teardown(connection) }
        } else {
            teardown(connection)
        }
    }

    // MARK: Connection lifetime

    private func validate(will: MQTTWill?) throws(MQTTClientError) {
        let keepAlive = BrokerRotation.nanoseconds(options.keepAlive) / 1_000_000_000
        if keepAlive != 0 && (keepAlive < 5 || keepAlive > 65_535) {
            throw .invalidOptions("keepalive must be 0 (off) or 5...65535 s, not \(keepAlive) s")
        }
        if let will, let why = MQTTTopic.problem(withTopicName: will.topic) { throw .invalidTopic(will.topic, reason: why) }
        if options.clientID.utf8.count > 65_535 { throw .invalidOptions("client id longer than 65535 bytes") }
        if let tls = options.tls, (tls.certificateFile == nil) != (tls.keyFile == nil) {
            throw .invalidOptions("TLS client certificate and key go together")
        }
    }

    /// A configured instance with its callbacks; not yet connecting.
    private func makeConnection(to broker: MQTTBrokerAddress, will: MQTTWill?) throws(MQTTClientError) -> MosquittoConnection {
        let id: String? = options.clientID.isEmpty ? nil : options.clientID
        guard let mosq = mosquitto_new(id, true, nil) else {
            throw .library(call: "mosquitto_new", code: errno, detail: String(cString: strerror(errno)))
        }
        let connection = MosquittoConnection(broker: broker, core: self, mosq: mosq)
        let configured = connection.handle.withLock { h -> Result<Void, MQTTClientError> in
            guard let m = h else { return .success(()) }
            mosquitto_user_data_set(m, connection.userdata)
            do throws(MQTTClientError) {
                try configure(m, broker: broker, will: will)
                return .success(())
            } catch {
                mosquitto_destroy(m)
                h = nil
                return .failure(error)
            }
        }
        try configured.get()
        return connection
    }

    private func configure(_ mosq: OpaquePointer, broker: MQTTBrokerAddress, will: MQTTWill?) throws(MQTTClientError) {
        let version = options.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        try check(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, version), "mosquitto_int_option(PROTOCOL_VERSION)")
        try check(mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1), "mosquitto_int_option(TCP_NODELAY)")
        if let will {
            let rc = will.payload.withUnsafeBytes { bytes in
                mosquitto_will_set(mosq, will.topic, Int32(bytes.count), bytes.baseAddress, Int32(will.qos.rawValue), will.retain)
            }
            if rc == MOSQ_ERR_PAYLOAD_SIZE.rawValue { throw .payloadTooLarge(bytes: will.payload.count) }
            try check(rc, "mosquitto_will_set")
        }
        if let credentials = options.credentials {
            try check(mosquitto_username_pw_set(mosq, credentials.username, credentials.password), "mosquitto_username_pw_set")
        }
        if broker.usesTLS {
            let tls = options.tls ?? MQTTTLSOptions()
            if let ca = tls.caFile {
                let rc = mosquitto_tls_set(mosq, ca, nil, tls.certificateFile, tls.keyFile, nil)
                if rc == MOSQ_ERR_INVAL.rawValue {
                    throw .invalidOptions("TLS files cannot be read (CA \(ca)\(tls.certificateFile.map { ", certificate \($0)" } ?? "")\(tls.keyFile.map { ", key \($0)" } ?? ""))")
                }
                try check(rc, "mosquitto_tls_set")
            } else {
                try check(mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "mosquitto_int_option(TLS_USE_OS_CERTS)")
                if tls.certificateFile != nil {
                    let rc = mosquitto_tls_set(mosq, nil, "/etc/ssl/certs", tls.certificateFile, tls.keyFile, nil)
                    if rc == MOSQ_ERR_INVAL.rawValue { throw .invalidOptions("TLS client certificate or key cannot be read") }
                    try check(rc, "mosquitto_tls_set")
                }
            }
        }
        // Callbacks run on the network thread, which teardown joins before destroying the instance: the
        // `mosq` they get is alive, and they never take the handle lock (an owner's call may hold it
        // while it waits for one of libmosquitto's own locks).
        mosquitto_connect_with_flags_callback_set(mosq) { mosq, userdata, rc, _ in
            let c = MosquittoConnection.from(userdata)
            c.core.didConnect(c, mosq: mosq!, code: rc)
        }
        mosquitto_disconnect_callback_set(mosq) { mosq, userdata, rc in
            let e = errno
            let c = MosquittoConnection.from(userdata)
            c.core.didDisconnect(c, mosq: mosq!, code: rc, errno: e)
        }
        mosquitto_publish_v5_callback_set(mosq) { _, userdata, mid, reason, _ in
            let c = MosquittoConnection.from(userdata)
            let id = MQTTMessageID(rawValue: mid)
            c.core.deliver(c, reason >= 0x80 ? .publishRefused(id, reasonCode: UInt8(truncatingIfNeeded: reason)) : .delivered(id))
        }
        mosquitto_message_callback_set(mosq) { _, userdata, message in
            guard let m = message?.pointee, let topic = m.topic else { return }
            let c = MosquittoConnection.from(userdata)
            let payload: [UInt8] = m.payloadlen > 0 && m.payload != nil
                ? Array(UnsafeRawBufferPointer(start: m.payload, count: Int(m.payloadlen)))
                : []
            let qos = MQTTQoS(rawValue: Int(m.qos)) ?? .atMostOnce
            c.core.deliver(c, .message(MQTTMessage(topic: String(cString: topic), payload: payload, qos: qos, retain: m.retain)))
        }
        // libmosquitto sometimes ends its loop on a failed TLS handshake without a disconnect
        // callback; its error log is then the only sign, and says why.
        mosquitto_log_callback_set(mosq) { _, userdata, level, text in
            guard level == MOSQ_LOG_ERR, let text else { return }
            let c = MosquittoConnection.from(userdata)
            c.core.didLogError(c, String(cString: text))
        }
        mosquitto_subscribe_callback_set(mosq) { _, userdata, mid, count, granted in
            let c = MosquittoConnection.from(userdata)
            var list: [MQTTQoS?] = []
            for i in 0..<Int(max(0, count)) {
                let g = granted?[i] ?? 0x80
                list.append(g < 0x80 ? MQTTQoS(rawValue: Int(g)) : nil)
            }
            c.core.deliver(c, .subscribed(MQTTMessageID(rawValue: mid), granted: list))
        }
    }

    /// Starts connecting and the network thread; a connect that fails at once is reported like any refusal.
    private func start(_ connection: MosquittoConnection) {
        let keepAlive = Int32(BrokerRotation.nanoseconds(options.keepAlive) / 1_000_000_000)
        var failure: (code: Int32, errno: Int32)?
        connection.handle.withLock { h in
            guard let h, !connection.retired else { return }
            let rc = mosquitto_connect_bind_async(h, connection.broker.host, Int32(connection.broker.port), keepAlive, nil)
            let e = errno
            if rc != MOSQ_ERR_SUCCESS.rawValue {
                failure = (rc, e)
                return
            }
            let loop = mosquitto_loop_start(h)
            if loop == MOSQ_ERR_SUCCESS.rawValue {
                connection.loopStarted = true
            } else {
                failure = (loop, errno)
            }
        }
        if let failure {
            // Reported from another thread, as the network thread would: the caller may hold locks the handler needs.
            let refusal = Self.refusal(fromError: failure.code, errno: failure.errno)
            DispatchQueue.global().async { self.giveUp(connection, refusal) }
            return
        }
        let timeout = BrokerRotation.nanoseconds(options.connectTimeout)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(min(timeout, UInt64(Int.max))))) {
            self.giveUp(connection, .timedOut)
        }
    }

    /// Reports `refusal` if `connection` is still connecting, and stops it.
    private func giveUp(_ connection: MosquittoConnection, _ refusal: MQTTRefusal) {
        let stillConnecting = state.withLock { s -> Bool in
            guard s.connection === connection, s.phase == .connecting else { return false }
            s.phase = .ended
            return true
        }
        guard stillConnecting else { return }
        connection.abort()
        emit(.connectionRefused(broker: connection.broker, reason: refusal))
    }

    /// Joins the network thread and destroys the instance; no callback of it runs afterwards.
    private func teardown(_ connection: MosquittoConnection) {
        let (mosq, loopStarted) = connection.handle.withLock { h -> (OpaquePointer?, Bool) in
            connection.retired = true
            return (h, connection.loopStarted)
        }
        guard let mosq else { return }
        if loopStarted {
            if connection.established.withLock({ $0 }) {
                // A clean DISCONNECT (the will is discarded); the loop stops once it is written.
                connection.stopReconnecting()
            } else {
                // A connect in progress is cut off (a TCP connect could otherwise take minutes to fail).
                connection.abort()
            }
            _ = mosquitto_loop_stop(mosq, false)
        }
        connection.handle.withLock { h in
            if let h { mosquitto_destroy(h) }
            h = nil
        }
    }

    // MARK: Network thread callbacks

    fileprivate func didConnect(_ connection: MosquittoConnection, mosq: OpaquePointer, code: Int32) {
        let event = state.withLock { s -> MQTTEvent? in
            guard s.connection === connection, s.phase == .connecting else { return nil }
            if code == 0 {
                s.phase = .connected
                return .connected(broker: connection.broker)
            }
            s.phase = .ended
            return .connectionRefused(broker: connection.broker, reason: Self.refusal(fromConnack: code, version: options.protocolVersion))
        }
        if code == 0 { connection.established.withLock { $0 = true } }
        if code != 0 || event == nil {
            // Refused, or accepted after the attempt was given up: this instance ends here.
            _ = mosquitto_disconnect(mosq)
        }
        if let event { emit(event) }
    }

    fileprivate func didDisconnect(_ connection: MosquittoConnection, mosq: OpaquePointer, code: Int32, errno e: Int32) {
        let event = state.withLock { s -> MQTTEvent? in
            guard s.connection === connection else { return nil }
            switch s.phase {
            case .connecting:
                s.phase = .ended
                if let tls = connection.tlsError.withLock({ $0 }) {
                    return .connectionRefused(broker: connection.broker, reason: .tlsFailure(tls))
                }
                return .connectionRefused(broker: connection.broker, reason: Self.refusal(fromError: code, errno: e))
            case .connected:
                s.phase = .ended
                return .disconnected(broker: connection.broker, reason: Self.disconnectReason(code, errno: e))
            case .disconnecting(let will):
                s.phase = .ended
                return .disconnected(broker: connection.broker, reason: .requested(sentWill: will))
            case .idle, .ended, .destroyed:
                return nil
            }
        }
        // Keeps libmosquitto's loop from reconnecting this instance: it stops once the socket is gone.
        _ = mosquitto_disconnect(mosq)
        if let event { emit(event) }
    }

    fileprivate func didLogError(_ connection: MosquittoConnection, _ text: String) {
        let prefix = "OpenSSL Error"
        guard text.hasPrefix(prefix) else { return }
        let detail = text.split(separator: ":").last.map { String($0.drop(while: { $0 == " " })) } ?? text
        let first = connection.tlsError.withLock { e -> Bool in
            guard e == nil else { return false }
            e = detail
            return true
        }
        let connecting = state.withLock { s in s.connection === connection && s.phase == .connecting }
        // giveUp takes the handle lock, which the network thread must not: reported from another thread.
        if first && connecting {
            DispatchQueue.global().async { self.giveUp(connection, .tlsFailure(detail)) }
        }
    }

    fileprivate func deliver(_ connection: MosquittoConnection, _ event: MQTTEvent) {
        let current = state.withLock { s in s.connection === connection && s.phase != .destroyed }
        if current { emit(event) }
    }

    // MARK: Helpers

    private func connectedConnection() throws(MQTTClientError) -> MosquittoConnection {
        try state.withLock { s throws(MQTTClientError) -> MosquittoConnection in
            switch s.phase {
            case .destroyed: throw .destroyed
            case .connected:
                guard let c = s.connection else { throw .notConnected }
                return c
            default: throw .notConnected
            }
        }
    }

    private func emit(_ event: MQTTEvent) {
        let me = pthread_self()
        handlerThreads.withLock { $0.append(me) }
        handler(event)
        handlerThreads.withLock { threads in
            if let i = threads.firstIndex(where: { pthread_equal($0, me) != 0 }) { threads.remove(at: i) }
        }
    }

    private func onHandlerThread() -> Bool {
        let me = pthread_self()
        return handlerThreads.withLock { threads in threads.contains { pthread_equal($0, me) != 0 } }
    }

    private func check(_ rc: Int32, _ call: String) throws(MQTTClientError) {
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw Self.libraryError(call, rc) }
    }

    static func libraryError(_ call: String, _ rc: Int32) -> MQTTClientError {
        .library(call: call, code: rc, detail: String(cString: mosquitto_strerror(rc)))
    }

    /// A CONNACK refusal: MQTT 3.1.1 return codes 1–5, MQTT 5 reason codes ≥ 0x80.
    static func refusal(fromConnack code: Int32, version: MQTTProtocolVersion) -> MQTTRefusal {
        switch (version, code) {
        case (.v311, 1), (_, 0x84): return .unsupportedProtocolVersion
        case (.v311, 2), (_, 0x85): return .clientIDRejected
        case (.v311, 3), (_, 0x88), (_, 0x89): return .serverUnavailable
        case (.v311, 4), (_, 0x86): return .badCredentials
        case (.v311, 5), (_, 0x87), (_, 0x8A): return .notAuthorized
        default:
            let text = version == .v5 ? String(cString: mosquitto_reason_string(code)) : String(cString: mosquitto_connack_string(code))
            return .other("refused by the broker: \(text) (code \(code))")
        }
    }

    /// A connection that failed before CONNACK, from libmosquitto's error code.
    static func refusal(fromError code: Int32, errno e: Int32) -> MQTTRefusal {
        switch code {
        case MOSQ_ERR_ERRNO.rawValue:
            return .unreachable(String(cString: strerror(e)))
        case MOSQ_ERR_EAI.rawValue, MOSQ_ERR_LOOKUP.rawValue:
            return .unreachable("host name not found")
        case MOSQ_ERR_TLS.rawValue, MOSQ_ERR_TLS_HANDSHAKE.rawValue:
            return .tlsFailure(String(cString: mosquitto_strerror(code)))
        case MOSQ_ERR_CONN_LOST.rawValue, MOSQ_ERR_SUCCESS.rawValue:
            return .other("the broker closed the connection before accepting it")
        default:
            return .other(String(cString: mosquitto_strerror(code)))
        }
    }

    /// Why an established connection ended: libmosquitto's error code, or an MQTT 5 DISCONNECT reason.
    static func disconnectReason(_ code: Int32, errno e: Int32) -> MQTTDisconnectReason {
        if code >= 0x80 { return .brokerDisconnected(reasonCode: UInt8(truncatingIfNeeded: code)) }
        switch code {
        case MOSQ_ERR_SUCCESS.rawValue: return .connectionLost("closed by the broker")
        case MOSQ_ERR_ERRNO.rawValue: return .connectionLost(String(cString: strerror(e)))
        case MOSQ_ERR_KEEPALIVE.rawValue: return .connectionLost("keepalive expired")
        default: return .connectionLost(String(cString: mosquitto_strerror(code)))
        }
    }
}
