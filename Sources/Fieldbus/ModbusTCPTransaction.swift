import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// Modbus TCP transactions on a connected socket: builds the request with its own transaction id,
/// reads the reply by its MBAP length with `poll` (any descriptor number; `select` aborts at 1024),
/// and checks it against the request (`ModbusTCPReply`) before decoding. Buffers are allocated
/// once; a transaction does not allocate. Belongs to its connection's thread.
final class ModbusTCPTransaction {
    private let request = UnsafeMutablePointer<UInt8>.allocate(capacity: ModbusTCPReply.maxADU)
    private let reply = UnsafeMutablePointer<UInt8>.allocate(capacity: ModbusTCPReply.maxADU)
    private var transactionID: UInt16 = 0
    private var responseMilliseconds: Int32 = 500
    private var byteMilliseconds: Int32 = 500

    init() {
        request.initialize(repeating: 0, count: ModbusTCPReply.maxADU)
        reply.initialize(repeating: 0, count: ModbusTCPReply.maxADU)
    }

    deinit {
        request.deallocate()
        reply.deallocate()
    }

    /// Response timeout (to the first byte of the reply) and byte timeout (between its bytes);
    /// a byte timeout of 0 keeps the current one.
    func setTimeouts(responseMilliseconds: Int, byteMilliseconds: Int) {
        self.responseMilliseconds = Int32(clamping: max(1, responseMilliseconds))
        if byteMilliseconds > 0 { self.byteMilliseconds = Int32(clamping: byteMilliseconds) }
    }

    /// Opens a TCP connection to `host:port` (a name or address, IPv4 or IPv6), waiting with
    /// `poll` up to the response timeout; returns the connected, non-blocking socket.
    func connect(host: String, port: Int) throws(ModbusError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else { throw .disconnected(errno: rc == EAI_SYSTEM ? errno : EHOSTUNREACH) }
        defer { freeaddrinfo(list) }
        var lastError = ECONNREFUSED
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let ai = next {
            next = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                            ai.pointee.ai_protocol)
            if fd < 0 { lastError = errno; continue }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) != 0 {
                guard errno == EINPROGRESS else { lastError = errno; Glibc.close(fd); continue }
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                var n: Int32
                repeat { n = poll(&p, 1, responseMilliseconds) } while n < 0 && errno == EINTR
                if n <= 0 { lastError = n == 0 ? ETIMEDOUT : errno; Glibc.close(fd); continue }
                var soError: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
                if soError != 0 { lastError = soError; Glibc.close(fd); continue }
            }
            return fd
        }
        // A connect that timed out is a device that does not answer: the link backs off as for any other.
        throw .disconnected(errno: lastError)
    }

    func readRegisters(socket: Int32, function: UInt8, unit: Int, address: Int, count: Int,
                       into buffer: UnsafeMutablePointer<UInt16>) throws(ModbusError) {
        guard (1...125).contains(count) else { throw .invalidRequest(errno: EINVAL) }
        let r = try begin(unit: unit, function: function, address: address, quantityOrValue: count, bodyLength: 0)
        try transact(socket: socket, r)
        for i in 0..<count { buffer[i] = UInt16(reply[9 + 2 * i]) << 8 | UInt16(reply[10 + 2 * i]) }
    }

    func readBits(socket: Int32, function: UInt8, unit: Int, address: Int, count: Int,
                  into buffer: UnsafeMutablePointer<UInt8>) throws(ModbusError) {
        guard (1...2000).contains(count) else { throw .invalidRequest(errno: EINVAL) }
        let r = try begin(unit: unit, function: function, address: address, quantityOrValue: count, bodyLength: 0)
        try transact(socket: socket, r)
        for i in 0..<count { buffer[i] = (reply[9 + i / 8] >> UInt8(i % 8)) & 1 }
    }

    /// Function 5 (value 0xFF00 or 0) or 6.
    func writeSingle(socket: Int32, function: UInt8, unit: Int, address: Int, value: UInt16) throws(ModbusError) {
        let r = try begin(unit: unit, function: function, address: address, quantityOrValue: Int(value), bodyLength: 0)
        try transact(socket: socket, r)
    }

    /// Function 15, at most 1968 coils (one byte, 0 or 1, per coil).
    func writeCoils(socket: Int32, unit: Int, address: Int, values: UnsafeBufferPointer<UInt8>) throws(ModbusError) {
        guard (1...1968).contains(values.count) else { throw .invalidRequest(errno: EINVAL) }
        let bytes = (values.count + 7) / 8
        let r = try begin(unit: unit, function: 15, address: address, quantityOrValue: values.count, bodyLength: 1 + bytes)
        request[12] = UInt8(bytes)
        for i in 0..<bytes { request[13 + i] = 0 }
        for (i, v) in values.enumerated() where v != 0 { request[13 + i / 8] |= 1 << UInt8(i % 8) }
        try transact(socket: socket, r)
    }

    /// Function 16, at most 123 registers.
    func writeRegisters(socket: Int32, unit: Int, address: Int, values: UnsafeBufferPointer<UInt16>) throws(ModbusError) {
        guard (1...123).contains(values.count) else { throw .invalidRequest(errno: EINVAL) }
        let r = try begin(unit: unit, function: 16, address: address, quantityOrValue: values.count, bodyLength: 1 + 2 * values.count)
        request[12] = UInt8(2 * values.count)
        for (i, v) in values.enumerated() {
            request[13 + 2 * i] = UInt8(v >> 8)
            request[14 + 2 * i] = UInt8(v & 0xFF)
        }
        try transact(socket: socket, r)
    }

    /// Writes the MBAP header and the first five PDU bytes (function, address, quantity or value)
    /// of the next request; `bodyLength` more PDU bytes follow.
    private func begin(unit: Int, function: UInt8, address: Int, quantityOrValue: Int, bodyLength: Int) throws(ModbusError) -> ModbusTCPRequest {
        guard (0...255).contains(unit), (0...65535).contains(address), (0...65535).contains(quantityOrValue) else {
            throw .invalidRequest(errno: EINVAL)
        }
        transactionID &+= 1
        let r = ModbusTCPRequest(transactionID: transactionID, unit: UInt8(unit), function: function,
                                 address: UInt16(address), quantityOrValue: UInt16(quantityOrValue))
        let length = 1 + 5 + bodyLength
        request[0] = UInt8(r.transactionID >> 8); request[1] = UInt8(r.transactionID & 0xFF)
        request[2] = 0; request[3] = 0
        request[4] = UInt8(length >> 8); request[5] = UInt8(length & 0xFF)
        request[6] = r.unit
        request[7] = function
        request[8] = UInt8(r.address >> 8); request[9] = UInt8(r.address & 0xFF)
        request[10] = UInt8(r.quantityOrValue >> 8); request[11] = UInt8(r.quantityOrValue & 0xFF)
        return r
    }

    /// Sends the request in `request` and receives and checks its reply into `reply`.
    private func transact(socket fd: Int32, _ r: ModbusTCPRequest) throws(ModbusError) {
        guard fd >= 0 else { throw .disconnected(errno: EBADF) }
        let length = 6 + (Int(request[4]) << 8 | Int(request[5]))
        try send(fd, length)
        // The header: the first byte within the response timeout, the rest within the byte timeout.
        // A late answer to an earlier request (one the client gave up on) is read and dropped,
        // and the wait for this one goes on within the same response timeout.
        let deadline = Self.monotonicMilliseconds() + Int64(responseMilliseconds)
        var total = 0
        var lateReplies = 0
        while total == 0 {
            let left = Int32(clamping: max(1, deadline - Self.monotonicMilliseconds()))
            try receive(fd, into: 0, count: ModbusTCPReply.headerLength, firstTimeout: lateReplies == 0 ? responseMilliseconds : left)
            let header = UnsafeBufferPointer(start: reply, count: ModbusTCPReply.headerLength)
            switch ModbusTCPReply.checkHeader(header, against: r) {
            case .total(let t):
                total = t
            case .defect(.transactionID) where lateReplies < 8 && ModbusTCPReply.isLateReply(header, to: r):
                lateReplies += 1
                let rest = (Int(reply[4]) << 8 | Int(reply[5])) - 1
                do throws(ModbusError) {
                    try receive(fd, into: ModbusTCPReply.headerLength, count: rest, firstTimeout: byteMilliseconds)
                } catch .timeout {
                    throw .malformedReply(.length)
                }
            case .defect(let defect):
                discardPending(fd)
                throw .malformedReply(defect)
            }
        }
        do throws(ModbusError) {
            try receive(fd, into: ModbusTCPReply.headerLength, count: total - ModbusTCPReply.headerLength, firstTimeout: byteMilliseconds)
        } catch .timeout {
            // The header promised bytes that never came.
            throw .malformedReply(.length)
        }
        switch ModbusTCPReply.check(UnsafeBufferPointer(start: reply, count: total), against: r) {
        case .good: return
        case .exception(let code): throw .exception(code)
        case .unexpectedException(let code): throw .unexpectedException(code)
        case .malformed(let defect):
            discardPending(fd)
            throw .malformedReply(defect)
        }
    }

    static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Drops what the peer sent beyond a malformed reply, so the next request starts clean.
    private func discardPending(_ fd: Int32) {
        while recv(fd, reply, ModbusTCPReply.maxADU, Int32(MSG_DONTWAIT)) > 0 {}
    }

    private func send(_ fd: Int32, _ length: Int) throws(ModbusError) {
        var sent = 0
        while sent < length {
            let n = Glibc.send(fd, request + sent, length - sent, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if n > 0 { sent += n; continue }
            let e = errno
            if n < 0 && e == EINTR { continue }
            if n < 0 && (e == EAGAIN || e == EWOULDBLOCK) {
                try wait(fd, events: Int16(POLLOUT), milliseconds: responseMilliseconds)
                continue
            }
            throw .disconnected(errno: n == 0 ? EPIPE : e)
        }
    }

    /// Reads exactly `count` bytes into `reply[offset...]`: the first within `firstTimeout`, each
    /// later one within the byte timeout.
    private func receive(_ fd: Int32, into offset: Int, count: Int, firstTimeout: Int32) throws(ModbusError) {
        var got = 0
        var timeout = firstTimeout
        while got < count {
            try wait(fd, events: Int16(POLLIN), milliseconds: timeout)
            let n = recv(fd, reply + offset + got, count - got, Int32(MSG_DONTWAIT))
            if n > 0 {
                got += n
                timeout = byteMilliseconds
                continue
            }
            let e = errno
            if n < 0 && (e == EINTR || e == EAGAIN || e == EWOULDBLOCK) { continue }
            throw .disconnected(errno: n == 0 ? ECONNRESET : e)
        }
    }

    private func wait(_ fd: Int32, events: Int16, milliseconds: Int32) throws(ModbusError) {
        var p = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let n = poll(&p, 1, milliseconds)
            if n > 0 { return }  // readable, writable, or hung up (the read or write says which)
            if n == 0 { throw .timeout }
            if errno != EINTR { throw .disconnected(errno: errno) }
        }
    }
}
