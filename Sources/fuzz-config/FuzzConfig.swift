// libFuzzer harness: the plant and board file parser and validator on arbitrary bytes. Any input
// is diagnostics or a plant, never a crash; every diagnostic names a line (or the whole file).
// Built and run by scripts/fuzz.
import Config
import FuzzSupport

#if VIGIL_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let text = String(validating: fuzzBytes(data, size), as: UTF8.self) else { return 0 }
    for d in ConfigChecker.check(text: text, path: "/nonexistent/fuzz/plant.yaml") where d.description.isEmpty {
        fatalError("a diagnostic without text")
    }
    return 0
}
#endif

@main struct FuzzConfig {
    static func main() { fuzzMain(FuzzConfig.self) }
}
