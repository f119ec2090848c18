public import Hummingbird
import Metrics
import NIOCore
import Synchronization

/// Counts requests and times them per route *pattern* (`/api/builds/{id}/status`, never the raw path, so ids
/// do not explode the label set), method and status, and counts the body bytes that went in and out.
///
/// Sits outside ``ErrorMiddleware``, so the status is the one the client got, errors included. Bytes out are
/// counted as the body is written (a download cut short counts what was sent); bytes in are the
/// `Content-Length` of requests that were accepted (2xx), i.e. uploads that were stored.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {
        Observability.bootstrapMetrics()
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        let route = context.endpointPath ?? "unmatched"
        let method = request.method.rawValue
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Only reached for errors nothing inside turned into a response.
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            Self.record(route: route, method: method, status: status, since: started)
            throw error
        }
        let status = Int(response.status.code)
        Self.record(route: route, method: method, status: status, since: started)
        if (200..<300).contains(status), request.method != .get, request.method != .head,
            let length = request.headers[.contentLength].flatMap(Int.init), length > 0
        {
            Counter(label: "fac_http_request_body_bytes_total", dimensions: [("route", route)]).increment(by: length)
        }
        let sent = Counter(label: "fac_http_response_body_bytes_total", dimensions: [("route", route)])
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            try await body.write(
                writer.map { buffer in
                    sent.increment(by: buffer.readableBytes)
                    return buffer
                })
        }
        return response
    }

    private static func record(route: String, method: String, status: Int, since started: ContinuousClock.Instant) {
        let dimensions = [("route", route), ("method", method), ("status", String(status))]
        Counter(label: "fac_http_requests_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "fac_http_request_duration_seconds", dimensions: dimensions)
            .recordNanoseconds(Self.nanoseconds(ContinuousClock.now - started))
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
