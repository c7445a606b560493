// libFuzzer harness: the policy model file and learning-set readers on arbitrary bytes. A model
// that decodes must encode to a file that decodes again. Built and run by scripts/fuzz.
import FuzzSupport
import Policy

#if VIGIL_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    if let model = try? ModelFile.decode(bytes), (try? ModelFile.decode(ModelFile.encode(model))) == nil {
        fatalError("a decoded model does not decode again after encoding")
    }
    _ = try? LearningSetFile.decode(bytes)
    return 0
}
#endif

@main struct FuzzModel {
    static func main() { fuzzMain(FuzzModel.self) }
}
