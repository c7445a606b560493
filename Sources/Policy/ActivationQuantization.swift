/// An asymmetric int8 encoding of one activation tensor: r = scale · (q − zeroPoint), q in [−128, 127].
public struct ActivationQuantization: Sendable, Hashable {
    public var scale: Float
    public var zeroPoint: Int32

    public init(scale: Float, zeroPoint: Int32) {
        precondition(scale > 0 && scale.isFinite, "an activation scale must be finite and > 0")
        precondition((-128...127).contains(zeroPoint), "an int8 zero point lies in −128…127")
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    /// The encoding that covers [min, max] (widened to include 0, so 0 is exact), as TFLite's
    /// calibration does: scale = (max − min) / 255, zero point = −128 − min / scale, rounded and nudged
    /// into range. A degenerate range (all zeros) gets scale 1.
    public init(calibratedMin: Float, max: Float) {
        let lo = Swift.min(calibratedMin, 0), hi = Swift.max(max, 0)
        let span = hi - lo
        let scale: Float = span > 0 && span.isFinite ? span / 255 : 1
        let zero = (-128 - lo / scale).rounded(.toNearestOrAwayFromZero)
        self.init(scale: scale, zeroPoint: Int32(Swift.min(Swift.max(zero, -128), 127)))
    }

    /// q = clamp(round(r / scale) + zeroPoint, −128, 127). NaN maps to the zero point (r = 0).
    @inline(__always)
    public func quantize(_ r: Float) -> Int8 {
        let v = (r / scale).rounded(.toNearestOrAwayFromZero)
        guard v.isFinite else { return v.isNaN ? Int8(zeroPoint) : (v > 0 ? 127 : -128) }
        let q = Int64(Swift.max(Swift.min(v, 1e9), -1e9)) + Int64(zeroPoint)
        return Int8(Swift.min(Swift.max(q, -128), 127))
    }

    @inline(__always)
    public func dequantize(_ q: Int8) -> Float { scale * Float(Int32(q) - zeroPoint) }
}
