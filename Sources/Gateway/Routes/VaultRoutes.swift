import Foundation
import Hummingbird
import Orchestrator

/// The operator's view of a build's vault audit trail.
extension Gateway {
    /// `GET /api/builds/:id/vault-events` (API key only): every seal, reseal, rewrap, open and destruction of the
    /// build's certs, oldest first. Names who opened them (attempt, worker) and why, never anything secret.
    func vaultEvents(_ context: GatewayRequestContext, _ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        let build = try await existingBuild(pathBuildID(context))
        let events = try await orchestrator.vaultEvents(build: build.id)
        return .json([
            "build_id": .string(build.id),
            "events": .array(events.map { event in
                [
                    "event": .string(event.event), "attempt": .int(event.attempt.map(Int64.init)),
                    "worker_id": .string(event.workerID), "reason": .string(event.reason),
                    "key_version": .int(event.keyVersion.map(Int64.init)), "at": .string(ISO8601.format(event.at)),
                ]
            }),
        ])
    }
}
