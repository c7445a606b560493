/// Attempts and outcomes of every repair strategy since the start.
struct RepairLedger: Sendable {
    private var records = [RepairRecord](repeating: RepairRecord(), count: RepairStrategy.allCases.count + 1)

    subscript(_ strategy: RepairStrategy) -> RepairRecord { records[Int(strategy.rawValue)] }

    mutating func attempted(_ strategy: RepairStrategy) { records[Int(strategy.rawValue)].attempted += 1 }
    mutating func verified(_ strategy: RepairStrategy) { records[Int(strategy.rawValue)].verified += 1 }
    mutating func failed(_ strategy: RepairStrategy) { records[Int(strategy.rawValue)].failed += 1 }
}
