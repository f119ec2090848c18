import Identifiers
import Orchestrator

/// Tokens issued for builds that had none: handed to the operator through ``LegacyImporter/Event/tokensIssued(_:)``
/// as soon as their page commits, then marked delivered.
extension LegacyImporter {
    /// The page size of the re-issue walk.
    static let reissuePageSize = 500

    /// Tokens issued by an interrupted run that never printed them are gone (only digests are stored): each of
    /// those builds gets a fresh token, delivered now.
    func reissueUndeliveredTokens(_ report: inout ImportReport) async throws {
        while true {
            let ids = try await orchestrator.legacyBuildsWithUndeliveredTokens(limit: Self.reissuePageSize)
            guard !ids.isEmpty else { return }
            let tokens = ids.map { (id: $0, token: SecretToken.generate()) }
            let replaced = Set(
                try await orchestrator.replaceUndeliveredLegacyTokens(tokens.map { ($0.id, $0.token.digest.bytes) }))
            let issued = tokens.filter { replaced.contains($0.id) }.map {
                ImportReport.IssuedToken(buildID: $0.id, accessToken: $0.token.reveal, reissued: true)
            }
            report.tokensIssued += issued.count
            try await deliver(issued, &report)
            if replaced.isEmpty { return }
        }
    }

    /// Hands `tokens` to the caller, then records them as delivered.
    func deliver(_ tokens: [ImportReport.IssuedToken], _ report: inout ImportReport) async throws {
        guard !tokens.isEmpty else { return }
        events(.tokensIssued(tokens))
        report.issuedTokens.append(contentsOf: tokens)
        try await orchestrator.markLegacyTokensDelivered(tokens.map(\.buildID))
    }
}
