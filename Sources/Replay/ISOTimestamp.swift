/// ISO 8601 date-times as nanoseconds since 1970-01-01T00:00:00Z, from bytes and back.
///
/// Reads `YYYY-MM-DD`, then `T` or a space, then `hh:mm:ss` with an optional fraction (`.` or `,`,
/// nanosecond resolution; further digits are dropped) and an optional zone: `Z`, `±hh:mm`, `±hhmm`
/// or `±hh`. Without a zone the time is read as UTC. No leap seconds; times within ±9.2 × 10⁹ s
/// of 1970 (years 1679–2261), what 64-bit nanoseconds hold.
enum ISOTimestamp {
    /// Nil when `bytes[start..<end]` is not such a time.
    static func nanoseconds(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
        var i = start
        func number(_ width: Int) -> Int? {
            guard end - i >= width else { return nil }
            var n = 0
            for _ in 0..<width {
                guard let d = DecimalText.digit(bytes[i]) else { return nil }
                n = n * 10 + Int(d)
                i += 1
            }
            return n
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < end, bytes[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(UInt8(ascii: "-")), let month = number(2), expect(UInt8(ascii: "-")),
              let day = number(2) else { return nil }
        guard i < end, bytes[i] == UInt8(ascii: "T") || bytes[i] == UInt8(ascii: "t") || bytes[i] == UInt8(ascii: " ") else { return nil }
        i += 1
        guard let hour = number(2), expect(UInt8(ascii: ":")), let minute = number(2), expect(UInt8(ascii: ":")),
              let second = number(2) else { return nil }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysInMonth(year, month),
              hour < 24, minute < 60, second < 60 else { return nil }
        var fraction: Int64 = 0
        if i < end && (bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: ",")) {
            i += 1
            var digits = 0
            while i < end, let d = DecimalText.digit(bytes[i]) {
                if digits < 9 { fraction = fraction * 10 + Int64(d) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 9)..<9 { fraction *= 10 }
        }
        var offsetSeconds = 0
        if i < end {
            if bytes[i] == UInt8(ascii: "Z") || bytes[i] == UInt8(ascii: "z") {
                i += 1
            } else if bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                let sign = bytes[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let h = number(2), h < 24 else { return nil }
                var m = 0
                if i < end {
                    _ = expect(UInt8(ascii: ":"))
                    guard let minutes = number(2), minutes < 60 else { return nil }
                    m = minutes
                }
                offsetSeconds = sign * (h * 3600 + m * 60)
            }
        }
        guard i == end else { return nil }
        let days = Int64(daysFromCivil(year: year, month: month, day: day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        guard abs(seconds) <= 9_200_000_000 else { return nil }
        return seconds * 1_000_000_000 + fraction
    }

    /// `2026-03-01T12:00:00.250Z` (milliseconds shown when `decimals` is 3; 0…9 decimals).
    static func text(nanoseconds: Int64, decimals: Int = 3) -> String {
        var s = ScratchBytes()
        put(nanoseconds: nanoseconds, decimals: decimals, into: &s)
        return s.string
    }

    static func put(nanoseconds: Int64, decimals: Int, into s: inout ScratchBytes) {
        let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        let fraction = nanoseconds - seconds * 1_000_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = UInt64(seconds - days * 86_400)
        let (y, m, d) = civilFromDays(Int(days))
        DecimalFormat.putDigits(UInt64(max(0, y)), minimumCount: 4, into: &s)
        s.put(UInt8(ascii: "-"))
        DecimalFormat.putDigits(UInt64(m), minimumCount: 2, into: &s)
        s.put(UInt8(ascii: "-"))
        DecimalFormat.putDigits(UInt64(d), minimumCount: 2, into: &s)
        s.put(UInt8(ascii: "T"))
        DecimalFormat.putDigits(secondOfDay / 3600, minimumCount: 2, into: &s)
        s.put(UInt8(ascii: ":"))
        DecimalFormat.putDigits(secondOfDay / 60 % 60, minimumCount: 2, into: &s)
        s.put(UInt8(ascii: ":"))
        DecimalFormat.putDigits(secondOfDay % 60, minimumCount: 2, into: &s)
        let places = min(max(decimals, 0), 9)
        if places > 0 {
            var scaled = UInt64(fraction)
            for _ in places..<9 { scaled /= 10 }
            s.put(UInt8(ascii: "."))
            DecimalFormat.putDigits(scaled, minimumCount: places, into: &s)
        }
        s.put(UInt8(ascii: "Z"))
    }

    static func isLeapYear(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return isLeapYear(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day since 1970-01-01 (`civil_from_days`).
    static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
