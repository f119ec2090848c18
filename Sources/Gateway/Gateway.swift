public import ArtifactStore
public import CertVault
public import Hummingbird
public import Logging
public import Orchestrator

/// The HTTP face of the controller: every route of the contract, its credentials, and the use-cases that span
/// the store, the vault and the Orchestrator.
public struct Gateway: Sendable {
    public let configuration: GatewayConfiguration
    public let orchestrator: Orchestrator
    public let store: ArtifactStore
    public let vault: CertVault
    public let queueSignal: QueueSignal
    /// Fired by the ``QueueListener`` on every notification: the dashboard's live stream waits on it.
    public let changeSignal: QueueSignal
    let logger: Logger
    let authenticator: Authenticator
    let storageUsage = StorageUsageCache()
    let routeGuard: RouteGuard
    /// The held long-polls' shared re-check of the queue (one query per process per ``GatewayConfiguration/longPollRecheck``).
    let pendingRecheck: PendingRecheck

    public init(
        configuration: GatewayConfiguration, orchestrator: Orchestrator, store: ArtifactStore, vault: CertVault,
        queueSignal: QueueSignal, changeSignal: QueueSignal = QueueSignal(), logger: Logger
    ) {
        self.configuration = configuration
        self.orchestrator = orchestrator
        self.store = store
        self.vault = vault
        self.queueSignal = queueSignal
        self.changeSignal = changeSignal
        self.logger = logger
        self.authenticator = Authenticator(apiKey: configuration.apiKey, orchestrator: orchestrator)
        self.routeGuard = RouteGuard(configuration: configuration)
        self.pendingRecheck = PendingRecheck(interval: configuration.longPollRecheck)
    }

    /// The router with every route of ``RouteTable``, behind the request-id and error middleware.
    public func makeRouter() -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        // Outermost: it times the whole request and sees the status the client gets.
        router.add(middleware: HTTPMetricsMiddleware())
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: LogContextMiddleware())
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: CORSForPublicRoutes())
        for route in routeTable() {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                let credentials = PresentedCredentials(
                    headers: request.headers, workerIDQuery: request.uri.queryParameters.get("worker_id"),
                    accepting: route.accepts)
                return try await routeGuard.run(route, request, context) {
                    try await route.handler(request, context, credentials)
                }
            }
        }
        return router
    }
}
