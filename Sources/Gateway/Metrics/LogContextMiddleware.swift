public import Hummingbird
import Identifiers
import Logging

/// Puts the build or worker a route names (`/api/builds/{id}/…`, `/api/workers/{id}/…`,
/// `/api/diagnostics/{worker_id}`) into the request logger's metadata as `build_id` / `worker_id`, so every line
/// logged for that request says which one it was about. Only ids of the valid shape are copied: a hostile path
/// cannot put arbitrary text into the logs.
public struct LogContextMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let route = context.endpointPath else { return try await next(request, context) }
        var context = context
        if route.hasPrefix("/api/builds/{id}"), let id = context.parameters.get("id").flatMap(BuildID.init) {
            context.logger[metadataKey: "build_id"] = .string(id.rawValue)
        } else if route.hasPrefix("/api/workers/{id}"), let id = context.parameters.get("id").flatMap(WorkerID.init) {
            context.logger[metadataKey: "worker_id"] = .string(id.rawValue)
        } else if route.hasPrefix("/api/diagnostics/{worker_id}"),
            let id = context.parameters.get("worker_id").flatMap(WorkerID.init)
        {
            context.logger[metadataKey: "worker_id"] = .string(id.rawValue)
        }
        return try await next(request, context)
    }
}
