/// Pads `s` to `width` columns (left-aligned, or right-aligned for numbers); a longer value keeps
/// one space after it so columns never run together.
func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    if s.count >= width { return s + " " }
    let fill = String(repeating: " ", count: width - s.count)
    return right ? fill + s : s + fill
}
