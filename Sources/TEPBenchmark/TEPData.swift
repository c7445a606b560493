import Foundation

/// Why a Tennessee Eastman data file could not be read; every case names the file, and the line
/// (1-based) and field (1-based) where one is at fault.
public enum TEPDataError: Error, Sendable, Hashable, CustomStringConvertible {
    case missingFile(path: String)
    case unreadable(path: String, reason: String)
    case notANumber(path: String, line: Int, field: Int, text: String)
    case notFinite(path: String, line: Int, field: Int)
    case wrongFieldCount(path: String, line: Int, found: Int, expected: Int)
    case wrongShape(path: String, rows: Int, columns: Int, expected: String)

    public var description: String {
        switch self {
        case .missingFile(let path): return "\(path): no such file"
        case let .unreadable(path, reason): return "\(path): cannot be read (\(reason))"
        case let .notANumber(path, line, field, text): return "\(path):\(line): field \(field) is not a number: \"\(text)\""
        case let .notFinite(path, line, field): return "\(path):\(line): field \(field) is not a finite number"
        case let .wrongFieldCount(path, line, found, expected):
            return "\(path):\(line): \(found) fields, expected \(expected) (as on the first data line)"
        case let .wrongShape(path, rows, columns, expected): return "\(path): \(rows) rows × \(columns) columns, expected \(expected)"
        }
    }
}

/// The Braatz Tennessee Eastman files: whitespace-separated numbers, one sample (or, in d00.dat, one
/// variable) per line. 52 variables: XMEAS(1…41), XMV(1…11). A sample every 3 minutes.
public struct TEPDataSet: Sendable {
    public static let variableCount = 52
    /// Faulty runs: the fault is introduced after this many normal samples (samples 161… are faulty).
    public static let faultOnset = 160
    public static let faultCount = 21
    public static let minutesPerSample = 3.0

    /// d00.dat, as samples × 52 (the file is 52 × 500, transposed; a file already 500 × 52 is taken as is).
    public var training: [[Double]]
    /// d00_te.dat: normal operation for testing.
    public var normal: [[Double]]
    /// d01_te.dat … d21_te.dat, index 0 is fault 1.
    public var faults: [[[Double]]]

    public init(training: [[Double]], normal: [[Double]], faults: [[[Double]]]) {
        self.training = training
        self.normal = normal
        self.faults = faults
    }

    /// The variable names, in column order.
    public static let variableNames: [String] = (1...41).map { "XMEAS(\($0))" } + (1...11).map { "XMV(\($0))" }

    /// Reads d00.dat, d00_te.dat and d01_te.dat … d21_te.dat from `directory`.
    public static func load(directory: String) throws(TEPDataError) -> TEPDataSet {
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        let training = try readTraining(path: path("d00.dat"))
        let normal = try readRun(path: path("d00_te.dat"))
        var faults: [[[Double]]] = []
        for f in 1...faultCount { faults.append(try readRun(path: path(String(format: "d%02d_te.dat", f)))) }
        return TEPDataSet(training: training, normal: normal, faults: faults)
    }

    /// d00.dat: 52 rows of samples (transposed) or samples × 52.
    public static func readTraining(path: String) throws(TEPDataError) -> [[Double]] {
        let table = try TEPTable.read(path: path)
        if table.columns == variableCount && table.rows != variableCount { return table.values }
        guard table.rows == variableCount, table.columns > variableCount else {
            throw .wrongShape(path: path, rows: table.rows, columns: table.columns,
                              expected: "52 rows (one per variable) of more than 52 samples, or samples × 52")
        }
        return (0..<table.columns).map { c in (0..<table.rows).map { r in table.values[r][c] } }
    }

    /// A test run dNN_te.dat: samples × 52, more than 160 samples.
    public static func readRun(path: String) throws(TEPDataError) -> [[Double]] {
        let table = try TEPTable.read(path: path)
        guard table.columns == variableCount, table.rows > faultOnset else {
            throw .wrongShape(path: path, rows: table.rows, columns: table.columns, expected: "more than 160 samples × 52 variables")
        }
        return table.values
    }
}

/// A rectangular table of finite numbers from a whitespace-separated text file.
public struct TEPTable: Sendable {
    public var values: [[Double]]
    public var rows: Int { values.count }
    public var columns: Int { values.first?.count ?? 0 }

    public static func read(path: String) throws(TEPDataError) -> TEPTable {
        guard FileManager.default.fileExists(atPath: path) else { throw .missingFile(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path, reason: "permission or I/O error") }
        return try parse([UInt8](data), path: path)
    }

    /// Parses whitespace-separated numbers (spaces, tabs; LF or CRLF lines; blank lines ignored).
    /// Every data line must have as many fields as the first.
    public static func parse(_ bytes: [UInt8], path: String) throws(TEPDataError) -> TEPTable {
        var values: [[Double]] = []
        var row: [Double] = []
        var line = 1, field = 0
        var expected: Int? = nil
        var i = 0
        let n = bytes.count
        func endLine() throws(TEPDataError) {
            if !row.isEmpty {
                if let e = expected, row.count != e { throw .wrongFieldCount(path: path, line: line, found: row.count, expected: e) }
                expected = row.count
                values.append(row)
                row = []
                row.reserveCapacity(expected ?? 0)
            }
            line += 1
            field = 0
        }
        while i < n {
            let b = bytes[i]
            if b == 0x0A { // \n
                try endLine()
                i += 1
            } else if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0B || b == 0x0C {
                i += 1
            } else {
                var j = i
                while j < n, !(bytes[j] == 0x20 || bytes[j] == 0x09 || bytes[j] == 0x0A || bytes[j] == 0x0D || bytes[j] == 0x0B || bytes[j] == 0x0C) {
                    j += 1
                }
                field += 1
                guard let x = parseNumber(bytes[i..<j]) else {
                    let text = String(decoding: bytes[i..<min(j, i + 40)], as: UTF8.self)
                    throw .notANumber(path: path, line: line, field: field, text: text)
                }
                guard x.isFinite else { throw .notFinite(path: path, line: line, field: field) }
                row.append(x)
                i = j
            }
        }
        try endLine()
        return TEPTable(values: values)
    }

    /// A decimal number in the C locale (`2.4987000e-01`, `-3`, `.5`); nil for anything else, `nan`
    /// and `inf` included (they parse, and are caught as not finite).
    static func parseNumber(_ bytes: ArraySlice<UInt8>) -> Double? {
        guard !bytes.isEmpty, bytes.count < 64 else { return nil }
        var buffer = [CChar](repeating: 0, count: bytes.count + 1)
        for (k, b) in bytes.enumerated() { buffer[k] = CChar(bitPattern: b) }
        return buffer.withUnsafeBufferPointer { p -> Double? in
            var end: UnsafeMutablePointer<CChar>? = nil
            let x = strtod(p.baseAddress!, &end)
            guard let end, end - UnsafeMutablePointer(mutating: p.baseAddress!) == bytes.count else { return nil }
            return x
        }
    }
}
