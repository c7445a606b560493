import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import VigilCore

/// Why the metrics endpoint did not start.
public enum MetricsServerError: Error, Sendable, CustomStringConvertible {
    case address(String)
    case listen(address: String, reason: String)
    case timedOut(address: String)

    public var description: String {
        switch self {
        case .address(let a): return "metrics: cannot use listen address \(a)"
        case .listen(let a, let reason): return "metrics: cannot listen on \(a): \(reason)"
        case .timedOut(let a): return "metrics: \(a) was not listening within the start-up wait"
        }
    }
}

/// `GET <path>` (a query string is ignored) answers the collector's text exposition; anything else is 404.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let collector: MetricsCollector
    private let path: String
    private var head: HTTPRequestHead?

    init(collector: MetricsCollector, path: String) {
        self.collector = collector
        self.path = path
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let request = head else { return }
            head = nil
            let target = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let found = request.method == .GET && target == path
            let body = found ? collector.collect() : Array("not found\n".utf8)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? MetricsServer.contentType : "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.count))
            let keepAlive = request.isKeepAlive
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                written.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// The HTTP endpoint: SwiftNIO's HTTP/1 server pipeline on one event-loop thread of its own, never
/// the cycle's; the same thread drains the cycle's timing samples every second. Start and stop have async forms and blocking forms (bounded waits) for plain threads.
public final class MetricsServer: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public let address: MetricsListenAddress
    private let collector: MetricsCollector
    private let path: String
    private let state = Mutex<(group: MultiThreadedEventLoopGroup?, channel: (any Channel)?, drain: RepeatedTask?)>((nil, nil, nil))

    public init(collector: MetricsCollector, config: MetricsConfig) throws(MetricsServerError) {
        address = config.listen
        guard (try? SocketAddress(ipAddress: address.host, port: Int(address.port))) != nil else {
            throw .address(address.description)
        }
        self.collector = collector
        path = config.path
    }

    /// Starts listening; returns the port bound (the one asked for, or the kernel's pick for port 0).
    @discardableResult
    public func start(timeoutSeconds: Double = 5) async throws(MetricsServerError) -> UInt16 {
        let (group, bound) = launch(timeoutSeconds: timeoutSeconds)
        do {
            return try finish(group: group, channel: try await bound.get())
        } catch let error as MetricsServerError {
            throw error
        } catch {
            try? await group.shutdownGracefully()
            throw failure(error)
        }
    }

    /// `start` for a thread outside Swift concurrency (blocks it at most `timeoutSeconds`).
    @discardableResult
    public func startBlocking(timeoutSeconds: Double = 5) throws(MetricsServerError) -> UInt16 {
        let (group, bound) = launch(timeoutSeconds: timeoutSeconds)
        do {
            return try finish(group: group, channel: try bound.wait())
        } catch let error as MetricsServerError {
            throw error
        } catch {
            try? group.syncShutdownGracefully()
            throw failure(error)
        }
    }

    private func launch(timeoutSeconds: Double) -> (MultiThreadedEventLoopGroup, EventLoopFuture<any Channel>) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let collector = collector, path = path
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(collector: collector, path: path))
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
        // The first of the bind's outcome and the deadline: start-up never waits longer than asked.
        let loop = group.next()
        let outcome = loop.makePromise(of: (any Channel).self)
        let description = address.description
        let deadline = loop.scheduleTask(in: .milliseconds(Int64(timeoutSeconds * 1000))) {
            outcome.fail(MetricsServerError.timedOut(address: description))
        }
        bootstrap.bind(host: address.host, port: Int(address.port)).hop(to: loop).whenComplete { result in
            deadline.cancel()
            switch result {
            case .success(let channel): outcome.succeed(channel)
            case .failure(let error): outcome.fail(error)
            }
        }
        return (group, outcome.futureResult)
    }

    private func finish(group: MultiThreadedEventLoopGroup, channel: any Channel) throws(MetricsServerError) -> UInt16 {
        guard let port = channel.localAddress?.port, port >= 0, port <= Int(UInt16.max) else {
            channel.close(promise: nil)
            try? group.syncShutdownGracefully()
            throw .listen(address: address.description, reason: "no listening address")
        }
        let collector = collector
        let drain = group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            collector.drainCycleSamples()
        }
        state.withLock { $0 = (group, channel, drain) }
        return UInt16(port)
    }

    private func failure(_ error: any Error) -> MetricsServerError {
        if let io = error as? IOError { return .listen(address: address.description, reason: io.description) }
        return .listen(address: address.description, reason: "\(error)")
    }

    /// Closes the listening socket and its connections, and ends the event-loop thread.
    public func stop(timeoutSeconds: Double = 1) async {
        guard let (group, channel) = take() else { return }
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    /// `stop` for a thread outside Swift concurrency.
    public func stopBlocking(timeoutSeconds: Double = 1) {
        guard let (group, channel) = take() else { return }
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    private func take() -> (MultiThreadedEventLoopGroup, any Channel)? {
        state.withLock { s -> (MultiThreadedEventLoopGroup, any Channel)? in
            defer { s = (nil, nil, nil) }
            s.drain?.cancel()
            guard let g = s.group, let c = s.channel else { return nil }
            return (g, c)
        }
    }
}
