import Foundation
import Orchestrator
import TestSupport
import Testing

/// The vault's SQL: the rewrap is guarded by the version it read, and the audit trail is kept in order.
@Suite struct VaultQueriesTests {
    @Test func replaceWrappedKey_changesOnlyARowStillSealedUnderTheVersionItRead() async throws {
        try await OrchestratorFixture.run { fixture in
            let orchestrator = fixture.orchestrator
            let sealed = try await fixture.submitBuild(withCerts: true)
            let destroyed = try await fixture.submitBuild(withCerts: true)
            let plain = try await fixture.submitBuild()
            try await orchestrator.markCertsDestroyed(destroyed, reason: "test")
            #expect(try await orchestrator.sealedCertsCountByKeyVersion() == [1: 1])

            // A stale read (the row is under version 1, the caller thinks 7) changes nothing.
            #expect(try await !orchestrator.replaceWrappedKey(build: sealed, oldVersion: 7, newKey: [9], newVersion: 8))
            // A destroyed bundle is never brought back.
            #expect(try await !orchestrator.replaceWrappedKey(build: destroyed, oldVersion: 1, newKey: [9], newVersion: 2))
            #expect(try await orchestrator.build(destroyed)?.certsWrappedKey == nil)
            #expect(try await !orchestrator.replaceWrappedKey(build: plain, oldVersion: 1, newKey: [9], newVersion: 2))

            #expect(try await orchestrator.replaceWrappedKey(build: sealed, oldVersion: 1, newKey: [4, 5], newVersion: 2))
            let record = try #require(try await orchestrator.build(sealed))
            #expect(record.certsWrappedKey == [4, 5])
            #expect(record.certsKeyVersion == 2)
            #expect(try await orchestrator.sealedCertsCountByKeyVersion() == [2: 1])
            // Replayed with the old version: already moved, so nothing happens and nothing is recorded twice.
            #expect(try await !orchestrator.replaceWrappedKey(build: sealed, oldVersion: 1, newKey: [6], newVersion: 2))
            let events = try await orchestrator.vaultEvents(build: sealed)
            #expect(events.map(\.event) == ["sealed", "rewrapped"])
            #expect(events.last?.keyVersion == 2)
            #expect(try await orchestrator.vaultEvents(build: destroyed).map(\.event) == ["sealed", "destroyed"])
            #expect(try await orchestrator.vaultEvents(build: plain).isEmpty)
        }
    }

    @Test func sealedCertsNotWrappedBy_pagesInIdOrder_andSkipsTheTargetVersion() async throws {
        try await OrchestratorFixture.run { fixture in
            let orchestrator = fixture.orchestrator
            var ids: [String] = []
            for _ in 0..<5 { ids.append(try await fixture.submitBuild(withCerts: true)) }
            _ = try await fixture.submitBuild()
            #expect(try await orchestrator.replaceWrappedKey(build: ids[0], oldVersion: 1, newKey: [7], newVersion: 2))
            var seen: [String] = []
            var after: String?
            while true {
                let page = try await orchestrator.sealedCertsNotWrappedBy(version: 2, after: after, limit: 2)
                #expect(page.count <= 2)
                #expect(page.allSatisfy { $0.keyVersion == 1 && $0.wrappedKey == [1, 2, 3] })
                seen += page.map(\.buildID)
                guard let last = page.last else { break }
                after = last.buildID
            }
            #expect(seen == ids.dropFirst().sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        }
    }
}
