import Foundation

/// The repository root, for scenario and config files.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func scenarioPath(_ name: String) -> String { repositoryRoot.appendingPathComponent("hil/scenarios/\(name)").path }
