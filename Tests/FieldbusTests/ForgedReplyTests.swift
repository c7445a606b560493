import Foundation
import Testing
import VigilCore
@testable import Fieldbus
#if canImport(Glibc)
import Glibc
#endif

/// A Modbus TCP peer on a real loopback socket that answers every request with whatever `forge`
/// makes of it (the request's bytes in, the reply's bytes out): a misbehaving or hostile device.
final class ForgingPeer: @unchecked Sendable {
    let listener = SilentListener()
    var port: Int { listener.port }
    private let forge: @Sendable ([UInt8]) -> [UInt8]
    private var thread: Thread?

    init(forge: @escaping @Sendable ([UInt8]) -> [UInt8]) {
        self.forge = forge
        let fd = listener.fd
        let t = Thread { [forge] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                Thread.detachNewThread { ForgingPeer.serve(c, forge) }
            }
        }
        t.start()
        thread = t
    }

    deinit { shutdown(listener.fd, Int32(SHUT_RDWR)) }

    private static func readExactly(_ fd: Int32, _ n: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = out.withUnsafeMutableBufferPointer { recv(fd, $0.baseAddress! + got, n - got, 0) }
            if r <= 0 { return nil }
            got += r
        }
        return out
    }

    private static func serve(_ fd: Int32, _ forge: ([UInt8]) -> [UInt8]) {
        defer { close(fd) }
        while let header = readExactly(fd, 7) {
            let length = Int(header[4]) << 8 | Int(header[5])
            guard length >= 1, let rest = readExactly(fd, length - 1) else { return }
            let reply = forge(header + rest)
            _ = reply.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }
}

/// A forged variant of a good reply to "read N holding registers".
struct Forgery: Sendable, CustomStringConvertible {
    var name: String
    var expected: BadReason?
    var make: @Sendable (_ request: [UInt8]) -> [UInt8]
    var description: String { name }

    /// The honest reply to a read request: registers 0x002A, 0x0007, 0x0102, 0x0304, ...
    static func goodReply(_ request: [UInt8], transaction: [UInt8]? = nil, protocolID: [UInt8] = [0, 0],
                          length: [UInt8]? = nil, unit: UInt8? = nil, function: UInt8? = nil, byteCount: UInt8? = nil) -> [UInt8] {
        let count = Int(request[10]) << 8 | Int(request[11])
        var data: [UInt8] = []
        for i in 0..<count { data += i == 0 ? [0x00, 0x2A] : i == 1 ? [0x00, 0x07] : [UInt8(2 * i - 3), UInt8(2 * i - 2)] }
        let pdu = [function ?? request[7], byteCount ?? UInt8(2 * count)] + data
        let len = pdu.count + 1
        return (transaction ?? [request[0], request[1]]) + protocolID + (length ?? [UInt8(len >> 8), UInt8(len & 0xFF)])
            + [unit ?? request[6]] + pdu
    }

    static func exception(_ request: [UInt8], code: UInt8) -> [UInt8] {
        [request[0], request[1], 0, 0, 0, 3, request[6], request[7] | 0x80, code]
    }

    /// Every forged header or PDU the issue names, and the reason each must be reported with.
    static let all: [Forgery] = [
        Forgery(name: "wrong unit id", expected: .malformedReply(.unitID)) { goodReply($0, unit: $0[6] &+ 1) },
        Forgery(name: "MBAP length 0", expected: .malformedReply(.length)) { goodReply($0, length: [0, 0]) },
        Forgery(name: "MBAP length 65535", expected: .malformedReply(.length)) { goodReply($0, length: [0xFF, 0xFF]) },
        Forgery(name: "MBAP length one short", expected: .malformedReply(.length)) {
            let r = goodReply($0); let len = r.count - 7; return goodReply($0, length: [0, UInt8(len)])
        },
        Forgery(name: "MBAP length longer than what follows", expected: .malformedReply(.length)) {
            let r = goodReply($0); let len = r.count - 6 + 4; return goodReply($0, length: [0, UInt8(len)])
        },
        Forgery(name: "protocol id 1", expected: .malformedReply(.protocolID)) { goodReply($0, protocolID: [0, 1]) },
        Forgery(name: "protocol id 0x0100", expected: .malformedReply(.protocolID)) { goodReply($0, protocolID: [1, 0]) },
        Forgery(name: "wrong transaction id", expected: .malformedReply(.transactionID)) { goodReply($0, transaction: [$0[0], $0[1] &+ 1]) },
        Forgery(name: "transaction id far behind", expected: .malformedReply(.transactionID)) {
            let t = (UInt16($0[0]) << 8 | UInt16($0[1])) &- 1000
            return goodReply($0, transaction: [UInt8(t >> 8), UInt8(t & 0xFF)])
        },
        Forgery(name: "wrong function code", expected: .malformedReply(.function)) { goodReply($0, function: 4) },
        Forgery(name: "wrong byte count", expected: .malformedReply(.byteCount)) { goodReply($0, byteCount: 2) },
        Forgery(name: "exception code 0", expected: .unexpectedException(code: 0)) { exception($0, code: 0) },
        Forgery(name: "exception code 9", expected: .unexpectedException(code: 9)) { exception($0, code: 9) },
        Forgery(name: "exception code 12", expected: .unexpectedException(code: 12)) { exception($0, code: 12) },
        Forgery(name: "exception code 255", expected: .unexpectedException(code: 255)) { exception($0, code: 255) },
        Forgery(name: "exception with a data byte too many", expected: .malformedReply(.length)) {
            [$0[0], $0[1], 0, 0, 0, 4, $0[6], $0[7] | 0x80, 2, 0]
        },
    ]
}

/// Vigil's TCP client against a peer that forges replies, over real sockets: every forged header
/// or PDU is a bad reading with its own reason, never good data (libmodbus 3.1.6 alone took the
/// wrong unit id, the MBAP lengths and protocol id 0x0001/0x0100 as good data).
@Suite("Forged Modbus TCP replies", .serialized)
struct ForgedReplyTests {
    static func device(_ port: Int) -> DeviceConfig {
        DeviceConfig(id: "forged", transport: .tcp(host: "127.0.0.1", port: port), unitID: 1,
                     responseTimeoutMilliseconds: 300, byteTimeoutMilliseconds: 200, points: [
            PointConfig(id: "a", function: .holding, address: 0, type: .uint16),
            PointConfig(id: "b", function: .holding, address: 1, type: .uint16),
        ])
    }

    func poll(_ forgery: Forgery) throws -> (DevicePoller, [Reading]) {
        let peer = ForgingPeer(forge: forgery.make)
        let clock = SystemMonotonicClock()
        let connection = try ModbusConnection(tcpHost: "127.0.0.1", port: peer.port)
        let poller = DevicePoller(device: Self.device(peer.port), link: ModbusLink(connection: connection, clock: clock), clock: clock)
        poller.poll()
        return (withExtendedLifetime(peer) { poller }, poller.readings)
    }

    @Test func anHonestReplyIsGoodData() throws {
        let (_, readings) = try poll(Forgery(name: "honest", expected: nil) { Forgery.goodReply($0) })
        #expect(readings.map(\.quality) == [.good, .good])
        #expect(readings.map(\.value) == [42, 7])
    }

    @Test(arguments: Forgery.all)
    func everyForgedReplyIsABadReadingWithItsReason(_ forgery: Forgery) throws {
        let (poller, readings) = try poll(forgery)
        #expect(readings.allSatisfy { $0.quality == .bad(forgery.expected!) }, "\(forgery.name): \(readings.map(\.quality))")
        #expect(readings.allSatisfy { $0.value.isNaN }, "\(forgery.name): no value may come from a forged reply")
        #expect(poller.statistics.crcOrFramingErrors == 0, "TCP has no CRC: \(forgery.name) must not be counted as one")
        #expect(poller.statistics.disconnects == 0)
    }

    @Test func forgedRepliesAcceptedAsGoodDataCount() throws {
        var accepted: [String] = []
        for forgery in Forgery.all {
            let (_, readings) = try poll(forgery)
            if readings.contains(where: { $0.quality.isGood }) { accepted.append(forgery.name) }
        }
        print("forged reply variants accepted as good data: \(accepted.count) of \(Forgery.all.count) \(accepted)")
        #expect(accepted.isEmpty)
    }

    @Test func aWriteThatIsNotEchoedIsAMalformedReply() throws {
        let peer = ForgingPeer { r in [r[0], r[1], 0, 0, 0, 6, r[6], r[7], r[8], r[9] &+ 1, r[10], r[11]] }
        let connection = try ModbusConnection(tcpHost: "127.0.0.1", port: peer.port)
        connection.setTimeouts(responseMilliseconds: 300, byteMilliseconds: 200)
        try connection.connect()
        #expect(throws: ModbusError.malformedReply(.echo)) { try connection.writeRegister(unit: 1, address: 5, value: 9) }
        withExtendedLifetime(peer) {}
    }

    /// A late answer to the request before (it timed out) arrives ahead of this one's: it is
    /// dropped and this request still reads good; a late answer alone is this request's timeout.
    @Test func aLateAnswerToAnEarlierRequestIsDroppedNotTakenForThisOne() throws {
        let (poller, readings) = try poll(Forgery(name: "late then right", expected: nil) { r in
            var late = Forgery.goodReply(r, transaction: [r[0], r[1] &- 1])
            late[10] = 0x66  // the stale value must not be read
            return late + Forgery.goodReply(r)
        })
        #expect(readings.map(\.quality) == [.good, .good])
        #expect(readings.map(\.value) == [42, 7])
        #expect(poller.statistics.malformedReplies == 0)
        let (_, alone) = try poll(Forgery(name: "late only", expected: nil) { r in Forgery.goodReply(r, transaction: [r[0], r[1] &- 1]) })
        #expect(alone.allSatisfy { $0.quality == .bad(.timeout) }, "\(alone.map(\.quality))")
    }

    @Test func aValidExceptionIsStillAnException() throws {
        let (_, readings) = try poll(Forgery(name: "exception 2", expected: nil) { Forgery.exception($0, code: 2) })
        #expect(readings.allSatisfy { $0.quality == .bad(.exception(.illegalDataAddress)) })
    }
}

/// The reply check as a pure function of bytes (what a fuzzer drives).
@Suite struct ModbusTCPReplyCheckTests {
    let request = ModbusTCPRequest(transactionID: 0x1234, unit: 7, function: 3, address: 10, quantityOrValue: 2)

    func check(_ bytes: [UInt8]) -> ModbusTCPReplyVerdict {
        bytes.withUnsafeBufferPointer { ModbusTCPReply.check($0, against: request) }
    }

    @Test func verdicts() {
        let good: [UInt8] = [0x12, 0x34, 0, 0, 0, 7, 7, 3, 4, 0, 1, 0, 2]
        #expect(check(good) == .good)
        #expect(check(Array(good.dropLast())) == .malformed(.length))
        #expect(check(good + [0]) == .malformed(.length))
        #expect(check([]) == .malformed(.length))
        #expect(check([0x12, 0x34, 0, 0, 0, 3, 7, 0x83, 6]) == .exception(.serverDeviceBusy))
        #expect(check([0x12, 0x34, 0, 0, 0, 3, 7, 0x83, 0]) == .unexpectedException(0))
        #expect(check([0x12, 0x34, 0, 0, 0, 3, 7, 0x84, 2]) == .malformed(.function))
        var wrongUnit = good
        wrongUnit[6] = 8
        #expect(check(wrongUnit) == .malformed(.unitID))
        let write = ModbusTCPRequest(transactionID: 1, unit: 1, function: 5, address: 3, quantityOrValue: 0xFF00)
        let echoed: [UInt8] = [0, 1, 0, 0, 0, 6, 1, 5, 0, 3, 0xFF, 0]
        #expect(echoed.withUnsafeBufferPointer { ModbusTCPReply.check($0, against: write) } == .good)
        let bits = ModbusTCPRequest(transactionID: 1, unit: 1, function: 1, address: 0, quantityOrValue: 9)
        let twoBytes: [UInt8] = [0, 1, 0, 0, 0, 5, 1, 1, 2, 0xFF, 1]
        #expect(twoBytes.withUnsafeBufferPointer { ModbusTCPReply.check($0, against: bits) } == .good)
    }

    /// Every byte string up to 9 bytes long over a small alphabet: never a crash, and `.good`
    /// only for a reply that carries exactly the requested registers.
    @Test func shortRandomRepliesNeverPassAsData() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let n = Int.random(in: 0...16, using: &generator)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if n >= 7, Bool.random(using: &generator) { bytes[0] = 0x12; bytes[1] = 0x34; bytes[2] = 0; bytes[3] = 0; bytes[6] = 7 }
            if check(bytes) == .good { #expect(bytes.count == 13 && bytes[7] == 3 && bytes[8] == 4) }
        }
    }
}
