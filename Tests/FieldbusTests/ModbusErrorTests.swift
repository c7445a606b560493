#if canImport(Glibc)
import Glibc
#endif
import Testing
import VigilCore
@testable import Fieldbus

@Suite struct ModbusErrorTests {
    let base = ModbusError.errnoBase

    @Test func exceptionCodesAreSplitFromTransportErrors() {
        #expect(ModbusError(errno: base + 2) == .exception(.illegalDataAddress))
        #expect(ModbusError(errno: base + 6) == .exception(.serverDeviceBusy))
        #expect(ModbusError(errno: base + 11) == .exception(.gatewayTargetFailedToRespond))
        #expect(ModbusError(errno: base + 2).badReason == .exception(.illegalDataAddress))
    }

    @Test func crcAndMismatchedAnswersAreFramingErrors() {
        #expect(ModbusError(errno: base + 12) == .badCRC)
        #expect(ModbusError(errno: base + 12).badReason == .crcOrFraming)
        #expect(ModbusError(errno: base + 13).badReason == .crcOrFraming) // EMBBADDATA
        #expect(ModbusError(errno: base + 17).badReason == .crcOrFraming) // EMBBADSLAVE
    }

    /// libmodbus reports exception code 0 as `MODBUS_ENOBASE` itself and 9 as base + 9: neither
    /// is a defined exception, neither means the connection is down.
    @Test func undefinedExceptionCodesAreUnexpectedExceptionsNotDisconnects() {
        #expect(ModbusError(errno: base) == .unexpectedException(0))
        #expect(ModbusError(errno: base).badReason == .unexpectedException(code: 0))
        #expect(!ModbusError(errno: base).needsReconnect)
        #expect(ModbusError(errno: base + 9).badReason == .unexpectedException(code: 9))
        #expect(ModbusError.malformedReply(.unitID).badReason == .malformedReply(.unitID))
        #expect(BadReason.malformedReply(.unitID).description == "malformed reply (wrong unit id)")
    }

    @Test func socketAndPortFailuresMeanDisconnectedAndReconnect() {
        for code in [ECONNRESET, ECONNREFUSED, EPIPE, EIO, EBADF, ENOENT] {
            let e = ModbusError(errno: code)
            #expect(e.badReason == .disconnected)
            #expect(e.needsReconnect)
        }
        #expect(!ModbusError(errno: ETIMEDOUT).needsReconnect)
        #expect(ModbusError(errno: ETIMEDOUT).badReason == .timeout)
    }

    @Test func descriptionsAreReadable() {
        #expect(ModbusError(errno: base + 2).description == "Modbus exception 2 (illegal data address)")
        #expect(ModbusError(errno: ECONNREFUSED).description == "disconnected (Connection refused)")
    }
}

@Suite struct BackoffTests {
    @Test func delaysGrowExponentiallyWithinJitterAndStayBounded() {
        var b = Backoff(policy: BackoffPolicy(initialMilliseconds: 100, multiplier: 2, maximumMilliseconds: 1_000, jitterFraction: 0.2), seed: 7)
        let ms = (0..<8).map { _ in Double(b.nextDelayNanoseconds()) / 1e6 }
        for (i, nominal) in [100.0, 200, 400, 800, 1000, 1000, 1000, 1000].enumerated() {
            #expect(ms[i] >= nominal * 0.8 && ms[i] <= nominal * 1.2, "attempt \(i): \(ms[i]) ms vs nominal \(nominal)")
        }
    }

    @Test func sameSeedSameDelaysAndResetStartsOver() {
        var a = Backoff(seed: 42), b = Backoff(seed: 42)
        let sa = (0..<5).map { _ in a.nextDelayNanoseconds() }
        let sb = (0..<5).map { _ in b.nextDelayNanoseconds() }
        #expect(sa == sb)
        a.reset()
        #expect(a.failures == 0)
        let first = a.nextDelayNanoseconds()
        #expect(first >= 80_000_000 && first <= 120_000_000)
    }

    @Test func jitterSpreadsDevicesThatFailedTogether() {
        let firsts = (0..<10).map { seed -> UInt64 in var b = Backoff(seed: UInt64(seed)); return b.nextDelayNanoseconds() }
        #expect(Set(firsts).count == 10)
    }
}
