import Foundation
import VigilCore

/// A CSV file that could not be used as a replay, with where it went wrong.
public struct CSVReplayError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based line number (0 when the whole file is at fault).
    public var line: Int
    /// Column name or 1-based column number, when one column is at fault.
    public var column: String?
    public var reason: String

    public var description: String {
        var s = "\(file):\(line)"
        if let column { s += " column \(column)" }
        return s + ": " + reason
    }
}

/// Replays recorded values from a CSV file: a time column in seconds and columns mapped to points.
///
/// The file's time runs `rate` times faster than the simulation's (rate 2 plays a 60 s file in
/// 30 s). Before the first row the first value holds; after the last row the last value holds,
/// or the file starts again when `loops` is true.
public struct CSVReplay: Sendable {
    public enum Interpolation: String, Sendable, Hashable {
        /// Straight line between two rows.
        case linear
        /// Hold a row's value until the next row.
        case step
    }

    public let file: String
    public let rate: Double
    public let interpolation: Interpolation
    public let loops: Bool
    /// Row times in seconds, strictly increasing.
    public let times: [Double]
    /// Values per point, one per row.
    public let series: [PointKey: [Double]]

    /// Reads `url`. `mapping` maps CSV column names to points; columns not in it are ignored.
    public init(contentsOf url: URL, timeColumn: String = "time", mapping: [String: PointKey],
                rate: Double = 1, interpolation: Interpolation = .linear, loops: Bool = false) throws {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw CSVReplayError(file: url.path, line: 0, column: nil, reason: "cannot read file (\(error.localizedDescription))")
        }
        try self.init(text: text, file: url.path, timeColumn: timeColumn, mapping: mapping,
                      rate: rate, interpolation: interpolation, loops: loops)
    }

    /// Parses CSV text; `file` names it in errors.
    public init(text: String, file: String, timeColumn: String = "time", mapping: [String: PointKey],
                rate: Double = 1, interpolation: Interpolation = .linear, loops: Bool = false) throws {
        guard rate > 0, rate.isFinite else {
            throw CSVReplayError(file: file, line: 0, column: nil, reason: "rate must be a positive number, found \(rate)")
        }
        self.file = file
        self.rate = rate
        self.interpolation = interpolation
        self.loops = loops

        // "\r\n" is one Character in Swift, and a newline.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        guard let header = lines.first else {
            throw CSVReplayError(file: file, line: 1, column: nil, reason: "empty file: expected a header line")
        }
        let names = header.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let timeIndex = names.firstIndex(of: timeColumn) else {
            throw CSVReplayError(file: file, line: 1, column: timeColumn, reason: "no time column '\(timeColumn)' in header \(names)")
        }
        var columns: [(index: Int, key: PointKey)] = []
        for (column, key) in mapping.sorted(by: { $0.key < $1.key }) {
            guard let i = names.firstIndex(of: column) else {
                throw CSVReplayError(file: file, line: 1, column: column, reason: "mapped column not in header \(names)")
            }
            columns.append((i, key))
        }

        var times: [Double] = []
        var values = Array(repeating: [Double](), count: columns.count)
        for (n, line) in lines.enumerated().dropFirst() {
            let lineNumber = n + 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == names.count else {
                throw CSVReplayError(file: file, line: lineNumber, column: nil,
                                     reason: "expected \(names.count) fields as in the header, found \(fields.count)")
            }
            func number(_ i: Int) throws -> Double {
                guard let d = Double(fields[i]), d.isFinite else {
                    throw CSVReplayError(file: file, line: lineNumber, column: names[i], reason: "not a number: '\(fields[i])'")
                }
                return d
            }
            let t = try number(timeIndex)
            if let previous = times.last, t <= previous {
                throw CSVReplayError(file: file, line: lineNumber, column: timeColumn,
                                     reason: "time \(t) does not increase (previous row \(previous))")
            }
            times.append(t)
            for (c, column) in columns.enumerated() { values[c].append(try number(column.index)) }
        }
        guard !times.isEmpty else {
            throw CSVReplayError(file: file, line: 2, column: nil, reason: "no data rows after the header")
        }
        self.times = times
        var series: [PointKey: [Double]] = [:]
        for (c, column) in columns.enumerated() { series[column.key] = values[c] }
        self.series = series
    }

    /// Whether this replay drives the point.
    public func drives(_ key: PointKey) -> Bool { series[key] != nil }

    /// The replayed value of a point at `tNanoseconds` of simulation time, or nil if not mapped.
    public func value(of key: PointKey, atNanoseconds t: UInt64) -> Double? {
        guard let ys = series[key] else { return nil }
        var x = times[0] + Double(t) / 1e9 * rate
        let span = times[times.count - 1] - times[0]
        if loops, span > 0, x > times[times.count - 1] {
            x = times[0] + (x - times[0]).truncatingRemainder(dividingBy: span)
        }
        if x <= times[0] { return ys[0] }
        if x >= times[times.count - 1] { return ys[ys.count - 1] }
        // Last row with time <= x.
        var lo = 0, hi = times.count - 1
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if times[mid] <= x { lo = mid } else { hi = mid }
        }
        switch interpolation {
        case .step:
            return ys[lo]
        case .linear:
            let f = (x - times[lo]) / (times[hi] - times[lo])
            return ys[lo] + f * (ys[hi] - ys[lo])
        }
    }
}
