import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Identifiers

/// The dashboard's sign-in session: a random token in an `HttpOnly`, `SameSite=Strict` cookie, stored only as a
/// SHA-256 in PostgreSQL, so any controller process can check it and a database leak reveals no session.
struct DashboardSession: Sendable {
    static let cookieName = "fac_session"

    let token: SecretToken
    /// What the database stores: the SHA-256 of the token bound to the API key it was signed in with, so
    /// rotating `CONTROLLER_API_KEY` ends every session (their digests no longer match).
    let digest: [UInt8]

    init(token: SecretToken, apiKey: String) {
        self.token = token
        let bound = "free-agent-controller dashboard session\u{0}\(apiKey)\u{0}\(token.reveal)"
        self.digest = Array(SHA256.hash(data: Array(bound.utf8)))
    }

    /// The session the request's cookie names, if it is shaped like one (whether it is live is the database's
    /// call).
    init?(request: Request, apiKey: String) {
        guard let value = request.cookies[Self.cookieName]?.value, let token = SecretToken(presented: value) else {
            return nil
        }
        self.init(token: token, apiKey: apiKey)
    }

    static func generate(apiKey: String) -> DashboardSession { DashboardSession(token: .generate(), apiKey: apiKey) }

    /// The sign-out form's CSRF token: derived from the session token, so it needs no storage, differs per
    /// session, and cannot be computed by a page that does not hold the (HttpOnly) cookie.
    var csrfToken: String {
        let digest = SHA256.hash(data: Array("free-agent-controller dashboard csrf\u{0}\(token.reveal)".utf8))
        return Base64URL.encode(Array(digest))
    }

    func csrfMatches(_ presented: String?) -> Bool {
        guard let presented else { return false }
        return ConstantTime.equals(presented, csrfToken)
    }

    /// The `Set-Cookie` that starts the session.
    func cookie(lifetime: Duration, secure: Bool) -> Cookie {
        Cookie(
            name: Self.cookieName, value: token.reveal, maxAge: Int(lifetime.components.seconds), path: "/",
            secure: secure, httpOnly: true, sameSite: .strict)
    }

    /// The `Set-Cookie` that ends it in the browser.
    static func expiredCookie(secure: Bool) -> Cookie {
        Cookie(name: cookieName, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }
}

/// The small `application/x-www-form-urlencoded` bodies of the sign-in and sign-out forms.
enum DashboardForm {
    /// The most a form body may hold; the forms carry one short field.
    static let maxBytes = 4096

    static func fields(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]) else { continue }
            let value = parts.count > 1 ? decode(parts[1]) : ""
            if let value, fields[name] == nil { fields[name] = value }
        }
        return fields
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}

/// Cross-site checks for the dashboard's POSTs, on top of `SameSite=Strict`.
enum DashboardOrigin {
    /// A POST is same-origin when its `Origin` names this host, or, when a browser sent no `Origin`, its
    /// `Sec-Fetch-Site` (if any) says `same-origin`. `Origin: null` (sandboxed frames, some redirects) is refused.
    static func isSameOrigin(_ request: Request) -> Bool {
        if let origin = request.headers[.origin] {
            guard let components = URLComponents(string: origin), let host = components.host,
                let scheme = components.scheme, scheme == "http" || scheme == "https",
                let authority = request.head.authority
            else { return false }
            let named = components.port.map { "\(host):\($0)" } ?? host
            return named.lowercased() == authority.lowercased()
        }
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] {
            return site == "same-origin" || site == "none"
        }
        return true
    }

    /// Whether the client reached us over TLS, directly (a setting) or through a proxy that says so.
    static func isTLS(_ request: Request, configured: Bool) -> Bool {
        configured || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }
}
