// libFuzzer harness: the simulated RTU server's framing (`RTUFraming`) on a byte stream cut into
// arbitrary chunks, some followed by a silence. Frames never hold more than the bytes fed, a frame
// cut by length has the length its function gives, the pending buffer stays bounded. Built and run
// by scripts/fuzz.
import FuzzSupport
import HIL

#if VIGIL_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    var buffer: [UInt8] = []
    var fed = 0, framed = 0, i = 0
    while i < bytes.count {
        // A control byte: chunk length (low 6 bits + 1) and whether a silence follows (bit 7).
        let control = bytes[i]
        let chunk = bytes[(i + 1)..<min(bytes.count, i + 2 + Int(control & 0x3F))]
        i += 1 + chunk.count
        buffer.append(contentsOf: chunk)
        fed += chunk.count
        for frame in RTUFraming.takeFrames(from: &buffer, silenceEnded: control & 0x80 != 0) {
            framed += frame.count
            // A known function's frame is cut at its length (only unknown ones go at a silence).
            if let length = RTUFraming.requestLength(frame), frame.count != length {
                fatalError("a frame of \(frame.count) bytes for a request of \(length)")
            }
            _ = RTUFraming.crcIsValid(frame)
        }
        if framed + buffer.count > fed { fatalError("frames hold more bytes than were fed") }
        if buffer.count > RTUFraming.maxFrame + 64 { fatalError("pending buffer of \(buffer.count) bytes") }
    }
    return 0
}
#endif

@main struct FuzzRTU {
    static func main() { fuzzMain(FuzzRTU.self) }
}
