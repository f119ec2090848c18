import HTTPTypes
import Hummingbird
import Identifiers
import Logging
import NIOCore
import Orchestrator
import ServiceLifecycle

/// The dashboard's paths, in one place for the route table, the page and the tests.
enum DashboardRoutes {
    static let pagePath = "/"
    static let signInPath = "/dashboard/sign-in"
    static let signOutPath = "/dashboard/sign-out"
    static let eventsPath = "/dashboard/events"

    /// Strict: scripts, styles and the event stream from this host only; no inline code; no framing; forms post
    /// here only.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

/// The operator dashboard: `GET /` (the sign-in page until a session exists), sign-in and sign-out, the live
/// stream, and its two static files. The API key is read from the sign-in form only; afterwards the session
/// cookie is the credential, checked against the database on every request.
extension Gateway {
    /// `GET /`.
    func dashboardPage(_ request: Request) async throws -> Response {
        guard let session = try await liveDashboardSession(request) else {
            return htmlResponse(DashboardPage.signIn())
        }
        let snapshot = try await orchestrator.dashboardSnapshot()
        return htmlResponse(DashboardPage.dashboard(snapshot, csrfToken: session.csrfToken))
    }

    /// `POST /dashboard/sign-in`: the API key from the form, compared in constant time; a session on success.
    func dashboardSignIn(_ request: Request, _ logger: Logger) async throws -> Response {
        guard DashboardOrigin.isSameOrigin(request) else {
            logger.warning("dashboard sign-in refused: cross-origin form")
            return htmlResponse(DashboardPage.signIn(error: "Sign-in must come from this page."), status: .forbidden)
        }
        let fields = try await dashboardFormFields(request)
        guard let key = fields["api_key"], authenticator.isValidAPIKey(.token(key)) else {
            logger.notice("dashboard sign-in refused: wrong API key")
            return htmlResponse(DashboardPage.signIn(error: "That API key is not right."), status: .unauthorized)
        }
        let session = DashboardSession.generate(apiKey: configuration.apiKey)
        try await orchestrator.createDashboardSession(
            digest: session.digest, lifetime: configuration.dashboard.sessionLifetime)
        logger.info("dashboard sign-in")
        var response = redirectHome()
        response.setCookie(
            session.cookie(
                lifetime: configuration.dashboard.sessionLifetime,
                secure: secureCookies(request)))
        return response
    }

    /// `POST /dashboard/sign-out`: needs the session and its CSRF token; ends the session everywhere.
    func dashboardSignOut(_ request: Request, _ logger: Logger) async throws -> Response {
        guard DashboardOrigin.isSameOrigin(request) else {
            throw GatewayError.forbidden("Cross-origin request refused")
        }
        guard let session = try await liveDashboardSession(request) else { throw GatewayError.unauthorized() }
        let fields = try await dashboardFormFields(request)
        guard session.csrfMatches(fields["csrf"]) else { throw GatewayError.forbidden("Invalid CSRF token") }
        try await orchestrator.deleteDashboardSession(digest: session.digest)
        logger.info("dashboard sign-out")
        var response = redirectHome()
        response.setCookie(
            DashboardSession.expiredCookie(
                secure: secureCookies(request)))
        return response
    }

    /// `GET /dashboard/events`: server-sent events. A `snapshot` event carries the live part of the page, sent
    /// at once, then whenever any controller process notifies a change (coalesced), and at least every
    /// ``DashboardConfiguration/liveRefresh`` (a comment when nothing changed). `signed-out` when the session
    /// ends; the stream closes after ``DashboardConfiguration/streamMaxDuration`` or on shutdown, and the
    /// browser reconnects.
    func dashboardEvents(_ request: Request, _ logger: Logger) async throws -> Response {
        guard let session = try await liveDashboardSession(request) else { throw GatewayError.unauthorized() }
        let orchestrator = orchestrator
        let changes = changeSignal
        let settings = configuration.dashboard
        let body = ResponseBody { writer in
            let deadline = ContinuousClock.now + settings.streamMaxDuration
            var last = ""
            try await writer.write(ByteBuffer(string: "retry: 3000\n\n"))
            while true {
                let generation = changes.generation
                let live: Bool
                let html: String
                do {
                    live = try await orchestrator.dashboardSessionIsLive(digest: session.digest)
                    html = live ? DashboardPage.live(try await orchestrator.dashboardSnapshot()) : ""
                } catch {
                    // The browser reconnects after `retry`; the reconnection answers 503 while the database is down.
                    logger.warning(
                        "dashboard stream ended", metadata: ["error": "\(DatabaseErrorSummary.describe(error))"])
                    break
                }
                guard live else {
                    try await writer.write(ByteBuffer(string: "event: signed-out\ndata: \n\n"))
                    break
                }
                if html != last {
                    try await writer.write(ByteBuffer(string: ServerSentEvent.format(event: "snapshot", data: html)))
                    last = html
                } else {
                    try await writer.write(ByteBuffer(string: ": unchanged\n\n"))
                }
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero, !Task.isCancelled, !Task.isShuttingDownGracefully else { break }
                await withGracefulShutdownHandler {
                    await changes.wait(after: generation, timeout: min(remaining, settings.liveRefresh))
                } onGracefulShutdown: {
                    changes.signal()
                }
                guard !Task.isShuttingDownGracefully else { break }
                // A build submitted with certs notifies more than once in a few milliseconds: send one update.
                try? await Task.sleep(for: settings.coalesce)
            }
            try await writer.finish(nil)
        }
        var headers = Self.dashboardHeaders
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `GET /dashboard/app.js`, `/dashboard/app.css` and `/dashboard/icon.svg`: public (they hold no data),
    /// cacheable for an hour.
    func dashboardAsset(_ text: String, contentType: String) -> Response {
        let buffer = ByteBuffer(string: text)
        var headers = Self.dashboardHeaders
        headers[.contentType] = contentType
        headers[.cacheControl] = "public, max-age=3600"
        headers[.contentLength] = "\(buffer.readableBytes)"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: buffer))
    }

    // MARK: Helpers

    /// `Secure` cookies when the client reached us over TLS: served by us (`TLS_CERT_FILE`), declared
    /// (`DASHBOARD_SECURE_COOKIES`), or said by a proxy (`X-Forwarded-Proto: https`).
    private func secureCookies(_ request: Request) -> Bool {
        DashboardOrigin.isTLS(
            request, configured: configuration.dashboard.secureCookies || configuration.tlsCertificateFile != nil)
    }

    /// The request's session when the database knows it and it has not expired.
    func liveDashboardSession(_ request: Request) async throws -> DashboardSession? {
        guard let session = DashboardSession(request: request, apiKey: configuration.apiKey) else { return nil }
        return try await orchestrator.dashboardSessionIsLive(digest: session.digest) ? session : nil
    }

    private func dashboardFormFields(_ request: Request) async throws -> [String: String] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: DashboardForm.maxBytes)
        } catch is NIOTooManyBytesError {
            throw GatewayError.payloadTooLarge("Request body too large")
        }
        return DashboardForm.fields(String(buffer: buffer))
    }

    /// Headers of every dashboard response: the CSP and friends, and no caching of pages. `same-origin`, not
    /// `no-referrer`: under the latter browsers send `Origin: null` with our own forms, which the sign-in refuses.
    static var dashboardHeaders: HTTPFields {
        [
            HTTPField.Name("Content-Security-Policy")!: DashboardRoutes.contentSecurityPolicy,
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("Referrer-Policy")!: "same-origin",
            .cacheControl: "no-store",
        ]
    }

    private func htmlResponse(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        let buffer = ByteBuffer(string: html)
        var headers = Self.dashboardHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentLength] = "\(buffer.readableBytes)"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: buffer))
    }

    /// 303 to `/`: the browser follows with a GET, so a reload does not post the form again.
    private func redirectHome() -> Response {
        var headers = Self.dashboardHeaders
        headers[.location] = DashboardRoutes.pagePath
        headers[.contentLength] = "0"
        return Response(status: .seeOther, headers: headers)
    }
}

/// The `text/event-stream` framing.
enum ServerSentEvent {
    /// `event:` then one `data:` line per line of `data` (a line break inside would end the field).
    static func format(event: String, data: String) -> String {
        var out = "event: \(event)\n"
        for line in data.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline }) {
            out += "data: \(line)\n"
        }
        return out + "\n"
    }
}
