import ArtifactStore
import CertVault
import Foundation
import Identifiers
import Orchestrator

/// Builds: the row, its source and result copied through the store, its certs sealed or tombstoned, its token
/// hashed (or a new one issued).
extension LegacyImporter {
    /// One build made ready for its page's transaction.
    struct PreparedBuild: Sendable {
        var record: ImportedBuild
        var notes: [LegacyNote]
        var issuedToken: SecretToken?
        var missing: [ImportReport.MissingFile] = []
        var filesCopied = 0
        var bytesCopied: Int64 = 0
        var checksumsVerified = 0
    }

    func importBuilds(_ database: LegacyDatabase, _ state: inout RunState, _ report: inout ImportReport) async throws {
        try await forEachPage(
            database, .builds, pageSize: configuration.buildPageSize, from: state.cursor(.builds), &report
        ) { rows, report in
            var mapped: [LegacyBuild] = []
            for row in rows {
                switch LegacyRowMapper.build(row.values) {
                case .success(var build):
                    if let worker = build.workerID, state.rejectedWorkers.contains(worker.rawValue) {
                        build.workerID = nil
                        build.notes.append(.danglingWorker)
                    }
                    mapped.append(build)
                case .failure(let rejection):
                    report.skip(.builds, rejection.summary, key: Self.key(row.rowid, row.values))
                    if case .text(let id) = row.values.first { state.unimportedBuilds.insert(id) }
                }
            }
            let existing = state.hasControllerTables ? try await orchestrator.existingBuildIDs(mapped.map(\.id.rawValue)) : []
            for build in mapped where existing.contains(build.id.rawValue) {
                report.skip(.builds, "a build with this id already exists here (left as it is)", key: build.id.rawValue)
                state.unimportedBuilds.insert(build.id.rawValue)
            }
            let prepared = try await prepareAll(mapped.filter { !existing.contains($0.id.rawValue) })
            let inserted: Set<String>
            if configuration.dryRun {
                inserted = Set(prepared.map(\.record.id))
            } else {
                do {
                    inserted = Set(
                        try await orchestrator.importLegacyBuilds(
                            prepared.map(\.record), table: LegacyTable.builds.rawValue, lastRowID: rows.last?.rowid ?? 0))
                } catch {
                    // Sealed blobs whose wrapped keys were not stored are useless; remove them (the re-run reseals).
                    for build in prepared {
                        if case .sealed = build.record.certs, let id = BuildID(build.record.id) { try? await vault?.destroy(for: id) }
                    }
                    throw error
                }
            }
            var issued: [ImportReport.IssuedToken] = []
            for build in prepared {
                guard inserted.contains(build.record.id) else {
                    report.skip(.builds, "a build with this id was created here meanwhile (left as it is)", key: build.record.id)
                    continue
                }
                report.figures(.builds) { $0.imported += 1 }
                for note in build.notes { report.note(note, build: build.record.id) }
                for file in build.missing { report.missing(file) }
                report.filesCopied += build.filesCopied
                report.bytesCopied += build.bytesCopied
                report.checksumsVerified += build.checksumsVerified
                switch build.record.certs {
                case .sealed: report.certsSealed += 1
                case .destroyed: report.certsDestroyed += 1
                case .none: break
                }
                if let token = build.issuedToken {
                    issued.append(ImportReport.IssuedToken(buildID: build.record.id, accessToken: token.reveal, reissued: false))
                } else {
                    report.tokensKept += 1
                }
            }
            report.tokensIssued += issued.count
            if !configuration.dryRun { try await deliver(issued, &report) }
        }
    }

    /// Prepares builds with at most ``Configuration/fileConcurrency`` at once, keeping their order.
    private func prepareAll(_ builds: [LegacyBuild]) async throws -> [PreparedBuild] {
        let nowMs = Date().millisecondsSince1970
        return try await withThrowingTaskGroup(of: (Int, PreparedBuild).self) { group in
            var results = [PreparedBuild?](repeating: nil, count: builds.count)
            var next = 0
            while next < min(max(1, configuration.fileConcurrency), builds.count) {
                let index = next
                group.addTask { (index, try await prepare(builds[index], nowMs: nowMs)) }
                next += 1
            }
            while let (index, build) = try await group.next() {
                results[index] = build
                if next < builds.count {
                    let index = next
                    group.addTask { (index, try await prepare(builds[index], nowMs: nowMs)) }
                    next += 1
                }
            }
            return results.compactMap { $0 }
        }
    }

    private func prepare(_ build: LegacyBuild, nowMs: Int64) async throws -> PreparedBuild {
        let issued = build.token == nil ? SecretToken.generate() : nil
        let token = build.token ?? issued!
        var record = ImportedBuild(
            id: build.id.rawValue, status: build.status, legacyStatus: build.legacyStatus, platform: build.platform,
            accessTokenDigest: token.digest.bytes, tokenIssued: issued != nil, submittedAtMs: build.submittedAtMs)
        record.startedAtMs = build.startedAtMs
        record.completedAtMs = build.completedAtMs
        record.errorMessage = build.errorMessage
        record.workerID = build.workerID?.rawValue
        var prepared = PreparedBuild(record: record, notes: build.notes, issuedToken: issued)
        let copier = LegacyFileCopier(
            store: store, storageRoot: configuration.storagePath, threadPool: configuration.threadPool,
            dryRun: configuration.dryRun)

        var hasSource = false
        for (path, kind) in [(build.sourcePath, LegacyFileKind.source), (build.resultPath, .result)] {
            guard let path else { continue }
            let key = BlobKey(build: build.id, kind: kind == .source ? .source : .result)
            switch try await copier.copy(path, kind: kind, to: key) {
            case .copied(let size, let sha256):
                hasSource = hasSource || kind == .source
                if kind == .source { prepared.record.source = (size, sha256) } else { prepared.record.result = (size, sha256) }
                prepared.filesCopied += 1
                prepared.bytesCopied += size
                prepared.checksumsVerified += 1
            case .found(let size):
                // Dry run: as if copied, so that the report's figures are the real run's.
                hasSource = hasSource || kind == .source
                prepared.filesCopied += 1
                prepared.bytesCopied += size
            case .missing(let reason):
                prepared.missing.append(.init(buildID: build.id.rawValue, kind: kind, storedPath: path, reason: reason))
            }
        }
        if build.status == .pending, !hasSource {
            // Nothing could ever build it: failed, at its last known time, rather than queued forever.
            prepared.record.status = .failed
            prepared.record.errorMessage = "Source file missing when imported from the old controller"
            prepared.record.completedAtMs = build.startedAtMs ?? build.submittedAtMs
            prepared.notes.append(.pendingWithoutSource)
        } else if build.wasInFlight {
            prepared.record.requeueNote =
                "Re-queued by import-legacy: the build was \(build.legacyStatus) when the old controller stopped, "
                + "and its worker cannot report to this controller"
        }
        if let path = build.certsPath {
            prepared.record.certs = try await certs(
                at: path, for: build.id, status: prepared.record.status, completedAtMs: prepared.record.completedAtMs,
                nowMs: nowMs, copier: copier, missing: &prepared.missing)
        }
        return prepared
    }

    /// The vault's policy applied at import: a completed build's certs are destroyed at once, a failed or
    /// cancelled one's once the grace period has passed, and the rest are sealed. A destroyed bundle is never
    /// read: its tombstone is all that is written.
    private func certs(
        at path: String, for build: BuildID, status: BuildStatus, completedAtMs: Int64?, nowMs: Int64,
        copier: LegacyFileCopier, missing: inout [ImportReport.MissingFile]
    ) async throws -> ImportedBuild.Certs {
        let graceMs = Int64(configuration.certsGrace.secondsDouble * 1000)
        if status == .completed {
            return .destroyed(reason: "build completed (certs not imported from the old controller)")
        }
        if status.isFinished, nowMs - (completedAtMs ?? 0) >= graceMs {
            return .destroyed(reason: "grace period after \(status.rawValue) build ended (certs not imported from the old controller)")
        }
        guard let vault else { return .sealed(SealedCertsReference(wrappedKey: [], keyVersion: 0)) }  // dry run
        switch try await copier.readCerts(path, limit: vault.maxBundleBytes) {
        case .failure(let unavailable):
            missing.append(.init(buildID: build.rawValue, kind: .certs, storedPath: path, reason: unavailable.reason))
            return .none
        case .success(var plaintext):
            defer { VaultMemory.wipe(&plaintext) }
            let wrapped = try await vault.seal(plaintext, for: build)
            return .sealed(SealedCertsReference(wrappedKey: wrapped.bytes, keyVersion: wrapped.keyVersion))
        }
    }
}
