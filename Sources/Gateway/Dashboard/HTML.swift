import Foundation

/// Builds HTML text with everything from outside escaped. Only ``raw(_:)`` inserts markup, and only markup
/// written in this module.
struct HTML {
    private(set) var text = ""

    /// Escapes `&`, `<`, `>`, `"` and `'`: safe in element content and in quoted attribute values.
    static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\u{0}"..."\u{8}", "\u{B}", "\u{C}", "\u{E}"..."\u{1F}", "\u{7F}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    mutating func raw(_ markup: String) { text += markup }
    mutating func text(_ value: String) { text += Self.escape(value) }

    /// `<tag>escaped</tag>`.
    mutating func element(_ tag: String, _ value: String) {
        text += "<\(tag)>\(Self.escape(value))</\(tag)>"
    }

    /// `<tag attributes>escaped</tag>`; `attributes` is markup of ours.
    mutating func element(_ tag: String, attributes: String, _ value: String) {
        text += "<\(tag) \(attributes)>\(Self.escape(value))</\(tag)>"
    }
}

/// How the dashboard says times and durations: short, the same on every row.
enum HumanTime {
    /// `"9s"`, `"5m 2s"`, `"3h 5m"`, `"2d 3h"`.
    static func duration(_ seconds: TimeInterval) -> String {
        let total = max(0, Int(seconds.rounded(.down)))
        let (days, hours, minutes, secs) = (total / 86_400, total % 86_400 / 3600, total % 3600 / 60, total % 60)
        if days > 0 { return "\(days)d \(hours)h" }
        if hours > 0 { return "\(hours)h \(minutes)m" }
        if minutes > 0 { return "\(minutes)m \(secs)s" }
        return "\(secs)s"
    }

    /// ISO-8601 for `<time datetime>`.
    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// `<time datetime="…">5m 2s ago</time>`.
    static func ago(_ date: Date, now: Date) -> String {
        "<time datetime=\"\(iso(date))\">\(duration(now.timeIntervalSince(date))) ago</time>"
    }
}
