/// The operator dashboard's settings.
public struct DashboardConfiguration: Sendable {
    public static let sessionLifetimeDefault: Duration = .seconds(12 * 3600)
    public static let liveRefreshDefault: Duration = .seconds(15)
    public static let streamMaxDurationDefault: Duration = .seconds(1800)

    /// `DASHBOARD_SESSION_SECONDS`: how long a sign-in lasts. Defaults to 12 h.
    public var sessionLifetime: Duration = Self.sessionLifetimeDefault
    /// `DASHBOARD_SECURE_COOKIES`: mark the session cookie `Secure`. Set it when the controller is served over
    /// TLS (directly or behind a proxy that terminates it); a request whose `X-Forwarded-Proto` is `https` gets
    /// a `Secure` cookie either way. Defaults to `false`.
    public var secureCookies = false
    /// An open page re-reads the farm this often even without a notification (ages, last-seen times), and the
    /// stream proves it is alive. Defaults to 15 s.
    public var liveRefresh: Duration = Self.liveRefreshDefault
    /// A live stream ends after this long and the browser reconnects (re-checking the session). Defaults to 30 min.
    public var streamMaxDuration: Duration = Self.streamMaxDurationDefault
    /// Bursts of notifications within this window become one update.
    public var coalesce: Duration = .milliseconds(150)

    public init() {}
}
