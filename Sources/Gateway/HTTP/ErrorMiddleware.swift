import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import Orchestrator

/// Turns every error into `{"error": "..."}` with its status.
///
/// Unexpected errors are logged at `.error` with the request id (Hummingbird logs them at `.debug` only; the id is
/// in the logger's metadata, put there by ``RequestIDMiddleware``, which sits outside this one), by type and
/// redacted description: never a query, a path or a secret.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let (status, message, isUnexpected) = ErrorMapping.response(for: error)
            if isUnexpected {
                context.logger.error("request failed", metadata: [
                    "error": "\(DatabaseErrorSummary.describe(error))", "path": "\(request.uri.path)",
                ])
            } else if status.code >= 500 {
                context.logger.warning("request refused", metadata: ["status": "\(status.code)", "reason": "\(message)"])
            }
            response = Response.json(["error": .string(message)], status: status)
            if let limit = error as? AbuseLimitError { response.headers[.retryAfter] = "\(limit.retryAfterSeconds)" }
        }
        return response
    }
}

extension Response {
    /// A JSON response with `value` as its body.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        let text = value.serialized()
        var buffer = ByteBuffer()
        buffer.writeString(text)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .contentLength: "\(buffer.readableBytes)"],
            body: ResponseBody(byteBuffer: buffer))
    }
}
