/// The classes and actions of Vigil's policy model, in logit order. The model file carries its own
/// lists; these are what `vigil model dataset/train` produce and what the monitor integration reads.
public enum PolicyLabels {
    /// What is wrong with the sensor. `bias` is a constant offset (a calibration error), `drift` a
    /// growing one; `dropout` covers missing and bad-quality readings (comms); `excursion` means the
    /// plant really changed and the sensor is right.
    public static let diagnoses = ["healthy", "stuck", "drift", "bias", "spike", "noise", "dropout", "excursion"]
    /// What to do about it: keep using the sensor, fail the group over to a backup, hold the last good
    /// value (stale), or ask an operator.
    public static let actions = ["trust", "fail_over", "hold", "escalate"]

    public static func diagnosis(_ name: String) -> Int? { diagnoses.firstIndex(of: name) }
    public static func action(_ name: String) -> Int? { actions.firstIndex(of: name) }
}
