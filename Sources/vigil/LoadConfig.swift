import VigilCore

/// Reads a plant configuration (`configs/*.yaml`).
///
/// INTEGRATOR: replace the body with the real YAML loader from the `Config` target once it lands
/// (decode + validate, with file/line in errors). Until then every command that needs a plant
/// config fails with this clear message instead of guessing.
func loadPlantConfig(path: String) throws -> PlantConfig {
    throw LoadConfigError.loaderNotIntegrated(path: path)
}

enum LoadConfigError: Error, CustomStringConvertible {
    case loaderNotIntegrated(path: String)

    var description: String {
        switch self {
        case .loaderNotIntegrated(let path):
            return "cannot read \(path): YAML loader not yet integrated (Sources/vigil/LoadConfig.swift)"
        }
    }
}
