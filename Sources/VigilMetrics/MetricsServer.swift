import FoundationEssentials
import Synchronization
import FlyingFox
import FlyingSocks
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

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

/// `GET <path>` answers the collector's text exposition; anything else is 404.
struct MetricsHandler: HTTPHandler {
    let collector: MetricsCollector
    let path: String

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard request.method == .GET, request.target.path() == path else {
            return HTTPResponse(statusCode: .notFound, headers: [.contentType: "text/plain; charset=utf-8"], body: Data("not found\n".utf8))
        }
        return HTTPResponse(statusCode: .ok, headers: [.contentType: MetricsServer.contentType], body: Data(collector.collect()))
    }
}

/// The HTTP endpoint: a FlyingFox server on Swift concurrency's threads, never the cycle's. Start
/// and stop have async forms and blocking forms (bounded waits) for plain threads.
public final class MetricsServer: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let server: HTTPServer
    public let address: MetricsListenAddress
    private let run = Mutex<Task<Void, Never>?>(nil)
    private let outcome = Mutex<Result<UInt16, MetricsServerError>?>(nil)

    public init(collector: MetricsCollector, config: MetricsConfig) throws(MetricsServerError) {
        address = config.listen
        let socketAddress: any SocketAddress
        do {
            socketAddress = address.isIPv6 ? try sockaddr_in6.inet6(ip6: address.host, port: address.port)
                                           : try sockaddr_in.inet(ip4: address.host, port: address.port)
        } catch {
            throw .address(address.description)
        }
        server = HTTPServer(address: socketAddress, timeout: 15, logger: .disabled,
                            handler: MetricsHandler(collector: collector, path: config.path))
    }

    /// Starts listening; returns the port bound (the one asked for, or the kernel's pick for port 0).
    @discardableResult
    public func start(timeoutSeconds: Double = 5) async throws(MetricsServerError) -> UInt16 {
        launch(timeoutSeconds: timeoutSeconds)
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1000))
        while ContinuousClock.now < deadline {
            if let result = outcome.withLock({ $0 }) { return try result.get() }
            try? await Task.sleep(for: .milliseconds(2))
        }
        await stop(timeoutSeconds: 1)
        throw .timedOut(address: address.description)
    }

    /// `start` for a thread outside Swift concurrency (blocks it, polling, at most `timeoutSeconds`).
    @discardableResult
    public func startBlocking(timeoutSeconds: Double = 5) throws(MetricsServerError) -> UInt16 {
        launch(timeoutSeconds: timeoutSeconds)
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1000))
        while ContinuousClock.now < deadline {
            if let result = outcome.withLock({ $0 }) { return try result.get() }
            usleep(2_000)
        }
        stopBlocking(timeoutSeconds: 1)
        throw .timedOut(address: address.description)
    }

    private func launch(timeoutSeconds: Double) {
        let task = Task.detached { [self] in
            let waiter = Task { [self] in
                guard (try? await server.waitUntilListening(timeout: timeoutSeconds)) != nil else { return }
                switch await server.listeningAddress {
                case .ip4(_, let port)?, .ip6(_, let port)?: outcome.withLock { $0 = $0 ?? .success(port) }
                default: outcome.withLock { $0 = $0 ?? .failure(.listen(address: address.description, reason: "no listening address")) }
                }
            }
            do {
                try await server.run()
            } catch {
                outcome.withLock { $0 = $0 ?? .failure(.listen(address: address.description, reason: "\(error)")) }
            }
            waiter.cancel()
        }
        run.withLock { $0 = task }
    }

    /// Closes the listening socket and gives open connections at most `timeoutSeconds`.
    public func stop(timeoutSeconds: Double = 1) async {
        guard let task = run.withLock({ t -> Task<Void, Never>? in defer { t = nil }; return t }) else { return }
        await server.stop(timeout: timeoutSeconds)
        task.cancel()
    }

    /// `stop` for a thread outside Swift concurrency: waits at most `timeoutSeconds` + 1 s, then returns.
    public func stopBlocking(timeoutSeconds: Double = 1) {
        let done = DoneFlag()
        Task.detached { [self] in
            await stop(timeoutSeconds: timeoutSeconds)
            done.value.store(true, ordering: .releasing)
        }
        let deadline = ContinuousClock.now + .milliseconds(Int((timeoutSeconds + 1) * 1000))
        while !done.value.load(ordering: .acquiring) && ContinuousClock.now < deadline { usleep(1_000) }
    }
}

private final class DoneFlag: Sendable {
    let value = Atomic<Bool>(false)
}
