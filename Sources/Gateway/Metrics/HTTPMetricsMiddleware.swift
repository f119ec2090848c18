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
    private let cache = HTTPMetricsCache()

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
            cache.record(route: route, method: method, status: status, since: started)
            throw error
        }
        let status = Int(response.status.code)
        cache.record(route: route, method: method, status: status, since: started)
        if (200..<300).contains(status), request.method != .get, request.method != .head,
            let length = request.headers[.contentLength].flatMap(Int.init), length > 0
        {
            cache.bytes(route: route).received.increment(by: length)
        }
        let sent = cache.bytes(route: route).sent
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
}

/// The metric objects per label set, made once: creating one through the factory takes the registry's lock and
/// hashes its labels, which every request would otherwise pay.
final class HTTPMetricsCache: Sendable {
    private struct Key: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private let requests = Mutex<[Key: (count: Counter, duration: Metrics.Timer)]>([:])
    private let bodies = Mutex<[String: (received: Counter, sent: Counter)]>([:])

    func record(route: String, method: String, status: Int, since started: ContinuousClock.Instant) {
        let key = Key(route: route, method: method, status: status)
        let metrics = requests.withLock { cache in
            if let found = cache[key] { return found }
            let dimensions = [("route", route), ("method", method), ("status", String(status))]
            let made = (
                Counter(label: "fac_http_requests_total", dimensions: dimensions),
                Metrics.Timer(label: "fac_http_request_duration_seconds", dimensions: dimensions)
            )
            cache[key] = made
            return made
        }
        metrics.count.increment()
        metrics.duration.recordNanoseconds(Self.nanoseconds(ContinuousClock.now - started))
    }

    func bytes(route: String) -> (received: Counter, sent: Counter) {
        bodies.withLock { cache in
            if let found = cache[route] { return found }
            let made = (
                Counter(label: "fac_http_request_body_bytes_total", dimensions: [("route", route)]),
                Counter(label: "fac_http_response_body_bytes_total", dimensions: [("route", route)])
            )
            cache[route] = made
            return made
        }
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
