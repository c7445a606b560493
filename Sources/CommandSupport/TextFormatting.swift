/// Pads `s` to `width` columns (left-aligned, or right-aligned for numbers); a longer value keeps
/// one space after it so columns never run together.
public func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    if s.count >= width { return s + " " }
    let fill = String(repeating: " ", count: width - s.count)
    return right ? fill + s : s + fill
}

/// The median of `xs` (NaN when empty), for benchmark rounds.
public func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
