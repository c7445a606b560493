// libFuzzer harness: the three fleet wire formats (feedback sample, signed model envelope, verdict
// report) on arbitrary bytes. The first byte chooses the decoder, the rest is its input (all three
// decoders see every input when it is 0xFF). Whatever decodes must encode to the same bytes and
// decode again to the same value; an envelope's signature check runs on whatever decoded.
// Built and run by scripts/fuzz.
import Fleet
import FuzzSupport

#if VIGIL_FUZZ
let fuzzKey = try! Ed25519PublicKey(raw: [UInt8](repeating: 7, count: 32))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let all = fuzzBytes(data, size)
    guard let first = all.first else { return 0 }
    let bytes = Array(all.dropFirst())
    if first % 3 == 0 || first == 0xFF, let s = try? FleetFeedbackSample.decode(bytes) {
        guard s.encode() == bytes else { fatalError("a feedback sample does not encode to the bytes it came from") }
        guard (try? FleetFeedbackSample.decode(s.encode())) != nil else { fatalError("an encoded feedback sample does not decode") }
    }
    if first % 3 == 1 || first == 0xFF, let e = try? FleetModelEnvelope.decode(bytes) {
        guard e.encode() == bytes else { fatalError("an envelope does not encode to the bytes it came from") }
        _ = e.verifies(with: fuzzKey)
        _ = e.header.summary
        _ = try? e.model()
    }
    if first % 3 == 2 || first == 0xFF, let v = try? FleetVerdictReport.decode(bytes) {
        guard v.encode() == bytes else { fatalError("a verdict report does not encode to the bytes it came from") }
        _ = v.description
    }
    return 0
}
#endif

@main struct FuzzFleet {
    static func main() { fuzzMain(FuzzFleet.self) }
}
