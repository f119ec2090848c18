import Foundation

/// The two UTC forms of the signing time: `yyyyMMdd` for the scope and `yyyyMMdd'T'HHmmss'Z'` for `x-amz-date`.
///
/// Written out by hand from the seconds since 1970: a `DateFormatter` depends on locale and calendar settings
/// (a Buddhist calendar or a 12-hour locale would silently produce a date AWS rejects).
struct SigningDate: Sendable, Equatable {
    /// `yyyyMMdd`, the first part of the credential scope.
    var dateStamp: String
    /// `yyyyMMdd'T'HHmmss'Z'`, the value of `x-amz-date` / `X-Amz-Date`.
    var timestamp: String

    init(_ date: Date) {
        // Whole seconds: SigV4 has no sub-second precision, and flooring keeps times before 1970 right too.
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Self.civilDate(daysSince1970: days)
        let dateStamp = Self.pad(year, 4) + Self.pad(month, 2) + Self.pad(day, 2)
        let time =
            Self.pad(secondOfDay / 3600, 2) + Self.pad(secondOfDay % 3600 / 60, 2) + Self.pad(secondOfDay % 60, 2)
        self.dateStamp = dateStamp
        self.timestamp = dateStamp + "T" + time + "Z"
    }

    /// The proleptic Gregorian date of a day count (Howard Hinnant's `civil_from_days`).
    private static func civilDate(daysSince1970: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSince1970 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // March is 0, so that February's length does not matter
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
