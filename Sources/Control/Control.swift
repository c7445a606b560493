import VigilCore

/// Whether a reading may drive a control law or judge a limit. Only `.good` does: a stale value is
/// old by definition, and a bad one has no value. Callers that want another rule filter before.
func isUsable(_ reading: Reading) -> Bool {
    reading.quality.isGood && reading.value.isFinite
}
