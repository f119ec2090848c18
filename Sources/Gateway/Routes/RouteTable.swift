public import HTTPTypes
import Hummingbird

/// One route of the contract: its method, path, the credential kinds it accepts, and its handler.
public struct Route: Sendable {
    public let method: HTTPRequest.Method
    public let path: String
    /// Least privilege: only these kinds are even read from the request; others are ignored.
    public let accepts: Set<CredentialKind>
    /// Streams a file in: counts against the per-credential cap on concurrent uploads.
    public let isUpload: Bool
    /// The security event a successful call is logged as, if any.
    public let audit: SecurityEvent?
    let handler: @Sendable (Request, GatewayRequestContext, PresentedCredentials) async throws -> Response
}

extension Gateway {
    /// Every route, with the credentials it accepts. This is the table the authorization tests drive; a route
    /// that is not here is not served.
    public func routeTable() -> [Route] {
        let K: Set<CredentialKind> = [.apiKey]
        let KorBT: Set<CredentialKind> = [.apiKey, .buildToken]
        let WorVT: Set<CredentialKind> = [.worker, .vmToken]
        let W: Set<CredentialKind> = [.worker]
        let none: Set<CredentialKind> = []
        // The dashboard's cookie, or on sign-in the API key typed into its form: checked by its handlers.
        let session: Set<CredentialKind> = [.dashboardSession]
        func route(
            _ method: HTTPRequest.Method, _ path: String, _ accepts: Set<CredentialKind>, upload: Bool = false,
            audit: SecurityEvent? = nil,
            _ handler: @escaping @Sendable (Request, GatewayRequestContext, PresentedCredentials) async throws -> Response
        ) -> Route {
            Route(method: method, path: path, accepts: accepts, isUpload: upload, audit: audit, handler: handler)
        }
        return [
            // Public
            route(.get, "/health", none) { _, _, _ in try await health() },
            route(.get, "/api/health", none) { _, _, _ in try await health() },
            route(.get, "/api/stats", none) { _, _, _ in try await publicStats() },
            route(.get, "/public/stats", none) { _, _, _ in try await publicStats() },
            route(.get, "/api/openapi.yaml", none) { _, _, _ in openAPIDocument() },

            // Dashboard: the session cookie (from signing in with the API key on the form) is checked inside,
            // against the database; without it `/` is the sign-in page and nothing else.
            route(.get, "/", none) { request, _, _ in try await dashboardPage(request) },
            route(.post, "/dashboard/sign-in", session) { request, context, _ in try await dashboardSignIn(request, context.logger) },
            route(.post, "/dashboard/sign-out", session) { request, context, _ in try await dashboardSignOut(request, context.logger) },
            route(.get, "/dashboard/events", session) { request, context, _ in try await dashboardEvents(request, context.logger) },
            route(.get, "/dashboard/app.js", none) { _, _, _ in
                dashboardAsset(DashboardAssets.javaScript, contentType: "text/javascript; charset=utf-8")
            },
            route(.get, "/dashboard/app.css", none) { _, _, _ in
                dashboardAsset(DashboardAssets.css, contentType: "text/css; charset=utf-8")
            },
            route(.get, "/dashboard/icon.svg", none) { _, _, _ in
                dashboardAsset(DashboardAssets.icon, contentType: "image/svg+xml")
            },
            // Metrics: the API key here, or no credential on METRICS_PORT (`makeMetricsRouter`).
            route(.get, "/metrics", K) { _, _, credentials in
                try authenticator.requireAPIKey(credentials)
                return await metrics()
            },

            // Builds: the submitter and the operator
            route(.post, "/api/builds/submit", K, upload: true) { request, _, credentials in try await submit(request, credentials) },
            route(.post, "/api/builds", K, upload: true) { request, _, credentials in try await submit(request, credentials) },
            route(.get, "/api/builds", K) { request, _, credentials in try await listBuilds(request, credentials) },
            route(.get, "/api/builds/active", K) { _, _, credentials in try await activeBuilds(credentials) },
            route(.get, "/api/builds/statistics", K) { _, _, credentials in try await buildStatistics(credentials) },
            route(.get, "/api/builds/:id", K) { _, context, credentials in try await showBuild(context, credentials) },
            route(.get, "/api/builds/:id/status", KorBT) { _, context, credentials in
                try await buildStatus(context, credentials)
            },
            route(.get, "/api/builds/:id/logs", KorBT) { request, context, credentials in
                try await readLogs(request, context, credentials)
            },
            route(.get, "/api/builds/:id/download", KorBT) { request, context, credentials in
                try await download(request, context, credentials, type: "result")
            },
            route(.head, "/api/builds/:id/download", KorBT) { request, context, credentials in
                try await download(request, context, credentials, type: "result")
            },
            route(.get, "/api/builds/:id/download/:type", KorBT.union(WorVT)) { request, context, credentials in
                try await download(request, context, credentials, type: context.parameters.get("type") ?? "")
            },
            route(.head, "/api/builds/:id/download/:type", KorBT.union(WorVT)) { request, context, credentials in
                try await download(request, context, credentials, type: context.parameters.get("type") ?? "")
            },
            route(.post, "/api/builds/:id/cancel", KorBT) { _, context, credentials in try await cancel(context, credentials) },
            route(.post, "/api/builds/:id/retry", KorBT) { _, context, credentials in try await retry(context, credentials) },
            route(.get, "/api/builds/:id/vault-events", K) { _, context, credentials in try await vaultEvents(context, credentials) },

            // Builds: the worker or its VM, for the attempt they hold
            route(.get, "/api/builds/:id/source", WorVT) { request, context, credentials in
                try await downloadSourceAsHolder(request, context, credentials, accepts: WorVT)
            },
            route(.get, "/api/builds/:id/certs", WorVT, audit: .certRelease) { _, context, credentials in
                try await certsZip(context, credentials, accepts: WorVT)
            },
            route(.get, "/api/builds/:id/certs-secure", WorVT, audit: .certRelease) { _, context, credentials in
                try await certsSecure(context, credentials, accepts: WorVT)
            },
            route(.post, "/api/builds/:id/logs", WorVT) { request, context, credentials in
                try await postLogs(request, context, credentials, accepts: WorVT)
            },
            route(.post, "/api/builds/:id/telemetry", WorVT) { request, context, credentials in
                try await telemetry(request, context, credentials, accepts: WorVT)
            },
            route(.post, "/api/builds/:id/heartbeat", WorVT.union([.heartbeatToken])) { request, context, credentials in
                try await buildHeartbeat(request, context, credentials, accepts: WorVT.union([.heartbeatToken]))
            },
            route(.post, "/api/builds/:id/authenticate", [.otp]) { request, context, _ in
                try await authenticateVM(request, context)
            },
            route(.post, "/api/builds/:id/vm-ready", [.vmToken]) { _, context, credentials in
                try await vmReady(context, credentials)
            },
            route(.get, "/api/builds/:id/vm-status", none) { _, context, _ in try await vmStatus(context) },
            route(.post, "/api/builds/:id/artifact", [.vmToken], upload: true) { request, context, credentials in
                try await uploadArtifact(request, context, credentials)
            },

            // Workers
            route(.post, "/api/workers/register", K) { request, _, credentials in try await register(request, credentials) },
            route(.get, "/api/workers/poll", W) { request, _, credentials in try await poll(request, credentials) },
            route(.post, "/api/workers/upload", W, upload: true) { request, _, credentials in try await uploadResult(request, credentials) },
            route(.post, "/api/workers/result", W, upload: true) { request, _, credentials in try await uploadResult(request, credentials) },
            route(.post, "/api/workers/fail", W) { request, _, credentials in try await workerFail(request, credentials) },
            route(.post, "/api/workers/heartbeat", W) { request, _, credentials in
                try await workerHeartbeat(request, credentials)
            },
            route(.post, "/api/workers/abandon", W) { request, _, credentials in try await workerAbandon(request, credentials) },
            route(.post, "/api/workers/unregister", W) { _, _, credentials in try await unregisterSelf(credentials) },
            route(.post, "/api/workers/:id/unregister", K) { _, context, credentials in
                try await unregisterByOperator(context, credentials)
            },
            route(.get, "/api/workers/:id/stats", K) { _, context, credentials in try await workerStats(context, credentials) },
            route(.get, "/api/workers", K) { _, _, credentials in try await listWorkers(credentials) },
            route(.delete, "/api/workers/:id", K, audit: .revocation) { _, context, credentials in try await revokeWorker(context, credentials) },

            // Diagnostics
            route(.post, "/api/diagnostics/report", K) { request, _, credentials in
                try await storeDiagnostic(request, credentials)
            },
            route(.get, "/api/diagnostics/:worker_id", K) { request, context, credentials in
                try await diagnostics(request, context, credentials, latestOnly: false)
            },
            route(.get, "/api/diagnostics/:worker_id/latest", K) { request, context, credentials in
                try await diagnostics(request, context, credentials, latestOnly: true)
            },
        ]
    }
}

/// CORS for the routes a landing page reads from a browser (`/api/stats`, `/health`).
struct CORSForPublicRoutes<Context: RequestContext>: RouterMiddleware {
    static var publicPaths: Set<String> { ["/health", "/api/health", "/api/stats", "/public/stats"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let isPublic = Self.publicPaths.contains(request.uri.path)
        if isPublic, request.method == .options {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: "*", .accessControlAllowMethods: "GET, OPTIONS",
                .accessControlAllowHeaders: "Content-Type", .accessControlMaxAge: "86400",
            ])
        }
        var response = try await next(request, context)
        if isPublic { response.headers[.accessControlAllowOrigin] = "*" }
        return response
    }
}
