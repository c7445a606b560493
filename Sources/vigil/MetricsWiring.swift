import Logging
import Runtime
import VigilCore
import VigilMetrics

/// The version `vigil_build_info` reports.
let vigilVersion = "0.1.0"

/// A running Prometheus endpoint beside a controller.
struct MetricsEndpoint {
    let collector: MetricsCollector
    let server: MetricsServer
    /// Where to scrape, with the port actually bound.
    let url: String

    /// Closes the listener (open scrapes get at most a second) and detaches the cycle sink. Call
    /// after `controller.stop()`: outputs are safe before anything here runs.
    func stop() {
        server.stopBlocking(timeoutSeconds: 1)
        collector.detach()
    }
}

/// Starts the exporter of `metrics:`; nil (with an error logged) when it cannot: the controller
/// runs the plant whether or not it can be scraped.
func startMetrics(_ config: MetricsConfig, controller: Controller, logger: Logger) -> MetricsEndpoint? {
    do {
        let collector = try MetricsCollector(controller: controller, build: BuildInfo(version: vigilVersion))
        let server = try MetricsServer(collector: collector, config: config)
        collector.attach()
        do {
            let port = try server.startBlocking(timeoutSeconds: 5)
            var bound = config.listen
            bound.port = port
            logger.notice("metrics: Prometheus endpoint on http://\(bound)\(config.path)")
            return MetricsEndpoint(collector: collector, server: server, url: "http://\(bound)\(config.path)")
        } catch {
            collector.detach()
            throw error
        }
    } catch {
        logger.error("metrics: exporter not started: \(error); the controller runs without it")
        return nil
    }
}
