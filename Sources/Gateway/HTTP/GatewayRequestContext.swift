public import Hummingbird
public import NIOCore

/// The Gateway's per-request state: Hummingbird's core storage, the peer's address (abuse limits key on it),
/// and the request id that ``RequestIDMiddleware`` assigns.
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer. `nil` for in-process test channels; a proxy in front makes it the proxy's address.
    public let remoteAddress: SocketAddress?
    /// The request's id, also in the logger's `request_id` metadata and in the `X-Request-Id` response header.
    /// Empty until ``RequestIDMiddleware`` has run.
    public var requestID: String = ""

    /// Made by Hummingbird for each request, from its channel (for the peer's address) and logger.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
