public import CertVault
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Identifiers
public import Logging
public import Orchestrator

/// Master-key rotation, for the executable's `vault` commands: it spans the key file, the vault and the
/// database, so it lives with the other use-cases and the tests drive the very code the commands run.
///
/// The procedure (see `docs/security.md`): ``rotate(rewrap:)`` appends a new version to the key file and
/// rewraps every live data key under it; ``rewrapAll()`` finishes or resumes that; ``retire(version:)``
/// removes an old version once no sealed bundle uses it. Blobs are never touched: only the wrapped data keys
/// in PostgreSQL change, each update guarded by the version it read.
public struct VaultKeyMaintenance: Sendable {
    /// Rows per page of the rewrap walk. Defaults to 100.
    public static let batchSizeDefault = 100

    /// What a rewrap walk did.
    public struct RewrapReport: Sendable, Equatable {
        /// The version every live key should now be wrapped by.
        public var targetVersion: Int
        /// Keys rewrapped to ``targetVersion``.
        public var rewrapped = 0
        /// Rows destroyed or rewrapped by someone else between the read and the guarded update.
        public var skipped = 0
        /// Keys the ring could not open (unknown version, corrupt): left as they were, and logged.
        public var failed = 0
        /// Sealed bundles per key version once the walk ended.
        public var sealedByVersion: [Int: Int] = [:]
    }

    /// Versions of the ring and what the database still needs of them, for `vault status`.
    public struct Status: Sendable, Equatable {
        public var versions: [Int]
        public var currentVersion: Int
        public var sealedByVersion: [Int: Int]
        /// Versions that sealed bundles use but the ring lacks: those bundles cannot be opened.
        public var missingVersions: [Int] { sealedByVersion.keys.filter { !versions.contains($0) }.sorted() }
    }

    /// The key file this works on (`VAULT_MASTER_KEY_FILE`).
    public let keyFilePath: String
    public let orchestrator: Orchestrator
    /// Rows per page of the rewrap walk.
    public var batchSize: Int
    let logger: Logger

    public init(keyFilePath: String, orchestrator: Orchestrator, logger: Logger, batchSize: Int = Self.batchSizeDefault) {
        self.keyFilePath = keyFilePath
        self.orchestrator = orchestrator
        self.logger = logger
        self.batchSize = max(1, batchSize)
    }

    /// The key file named by the environment. Rotation rewrites the file, so a key given directly in
    /// `VAULT_MASTER_KEY` is refused with what to do instead.
    public static func keyFilePath(environment: [String: String]) throws(GatewayError) -> String {
        let file = environment[KeyRing.fileVariable].flatMap { $0.isEmpty ? nil : $0 }
        let direct = environment[KeyRing.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        switch (file, direct) {
        case (let file?, nil): return file
        case (_?, _?):
            throw GatewayError(.badRequest, "both VAULT_MASTER_KEY and VAULT_MASTER_KEY_FILE are set; set only VAULT_MASTER_KEY_FILE")
        case (nil, _?):
            throw GatewayError(
                .badRequest,
                "key rotation needs VAULT_MASTER_KEY_FILE: move the key from VAULT_MASTER_KEY into a file (one line "
                    + "1:<base64>, mode 0600), set VAULT_MASTER_KEY_FILE to it, unset VAULT_MASTER_KEY, restart, then rotate")
        case (nil, nil):
            throw GatewayError(.badRequest, "VAULT_MASTER_KEY_FILE is required for key rotation")
        }
    }

    /// Appends a new master-key version to the key file (atomically), then, unless `rewrap` is `false`,
    /// rewraps every live data key under it. Returns the new version and the rewrap's report.
    ///
    /// Refuses, changing nothing, when the file is missing or invalid, when sealed bundles use a version the
    /// file lacks, or when the file's keys do not open the database's wrapped keys (the wrong file).
    public func rotate(rewrap: Bool = true) async throws -> (newVersion: Int, report: RewrapReport?) {
        let ring = try loadRing()
        try await checkRingOpensDatabase(ring)
        var text = try readKeyFileText()
        let rotated = try KeyRing.rotatedKeyFile(from: text)
        text = ""
        try KeyFileWriter.replace(atPath: keyFilePath, with: rotated.text, expectingVersions: ring.versions + [rotated.newVersion])
        logger.notice("vault master key rotated", metadata: ["new_version": "\(rotated.newVersion)"])
        guard rewrap else { return (rotated.newVersion, nil) }
        return (rotated.newVersion, try await rewrapAll())
    }

    /// Rewraps every sealed bundle's data key that the file's current version does not wrap yet, in pages.
    /// Safe to run again (after a crash, or after processes still on the old ring sealed new bundles).
    public func rewrapAll() async throws -> RewrapReport {
        let ring = try loadRing()
        let vault = CertVault(keyRing: ring, storage: NoBlobStorage())
        var report = RewrapReport(targetVersion: ring.currentVersion)
        var after: String?
        while true {
            let page = try await orchestrator.sealedCertsNotWrappedBy(version: ring.currentVersion, after: after, limit: batchSize)
            for row in page {
                guard let build = BuildID(row.buildID) else {
                    report.failed += 1
                    logger.error("rewrap failed: malformed build id in the database")
                    continue
                }
                do {
                    let fresh = try vault.rewrap(WrappedDataKey(keyVersion: row.keyVersion, bytes: row.wrappedKey), for: build)
                    let changed = try await orchestrator.replaceWrappedKey(
                        build: row.buildID, oldVersion: row.keyVersion, newKey: fresh.bytes, newVersion: fresh.keyVersion)
                    if changed { report.rewrapped += 1 } else { report.skipped += 1 }
                } catch let error as VaultError {
                    report.failed += 1
                    logger.error("rewrap failed", metadata: ["build_id": "\(row.buildID)", "error": "\(String(reflecting: error))"])
                }
            }
            guard page.count == batchSize, let last = page.last else { break }
            after = last.buildID
        }
        report.sealedByVersion = try await orchestrator.sealedCertsCountByKeyVersion()
        return report
    }

    /// Removes `version` from the key file (atomically). Refused while it is the current version, while any
    /// sealed bundle still uses it, or when the file does not hold it.
    public func retire(version: Int) async throws {
        let ring = try loadRing()
        guard ring.versions.contains(version) else {
            throw GatewayError(.badRequest, "key version \(version) is not in VAULT_MASTER_KEY_FILE")
        }
        guard version != ring.currentVersion else {
            throw GatewayError(.conflict, "key version \(version) is the current version; rotate to a new one first")
        }
        let inUse = try await orchestrator.sealedCertsCountByKeyVersion()[version] ?? 0
        guard inUse == 0 else {
            throw GatewayError(
                .conflict, "\(inUse) sealed bundle(s) still use key version \(version); run `vault rewrap` first")
        }
        let text = try readKeyFileText()
        let kept = KeyFileWriter.removingVersion(version, from: text)
        try KeyFileWriter.replace(atPath: keyFilePath, with: kept, expectingVersions: ring.versions.filter { $0 != version })
        logger.notice("vault master key retired", metadata: ["version": "\(version)"])
    }

    /// The ring's versions and the database's use of them.
    public static func status(ring: KeyRing, orchestrator: Orchestrator) async throws -> Status {
        Status(
            versions: ring.versions, currentVersion: ring.currentVersion,
            sealedByVersion: try await orchestrator.sealedCertsCountByKeyVersion())
    }

    private func loadRing() throws -> KeyRing {
        try KeyRing.load(environmentValue: nil, filePath: keyFilePath)
    }

    private func readKeyFileText() throws -> String {
        guard let data = FileManager.default.contents(atPath: keyFilePath) else {
            throw GatewayError(.badRequest, "VAULT_MASTER_KEY_FILE cannot be read")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Refuses to rotate with a file that cannot open what the database holds: a rotation would then write a
    /// new version beside the wrong keys and every rewrap would fail.
    private func checkRingOpensDatabase(_ ring: KeyRing) async throws {
        let counts = try await orchestrator.sealedCertsCountByKeyVersion()
        let missing = counts.keys.filter { !ring.versions.contains($0) }.sorted()
        guard missing.isEmpty else {
            throw GatewayError(
                .conflict, "sealed bundles use key version(s) \(missing) that VAULT_MASTER_KEY_FILE lacks; is it the right file?")
        }
        let vault = CertVault(keyRing: ring, storage: NoBlobStorage())
        // One sample per walk is enough to tell the wrong file: every key of a version was wrapped by one master key.
        for row in try await orchestrator.sealedCertsNotWrappedBy(version: 0, after: nil, limit: 1) {
            guard let build = BuildID(row.buildID) else { continue }
            do {
                _ = try vault.rewrap(WrappedDataKey(keyVersion: row.keyVersion, bytes: row.wrappedKey), for: build)
            } catch {
                throw GatewayError(.conflict, "VAULT_MASTER_KEY_FILE does not open the database's wrapped keys; is it the right file?")
            }
        }
    }
}

/// Rewrapping never reads or writes a blob; a vault built for it gets storage that refuses everything.
private struct NoBlobStorage: SealedBlobStorage {
    struct Unused: Error {}
    func putSealed(_ bytes: [UInt8], for build: BuildID) async throws { throw Unused() }
    func getSealed(for build: BuildID, maxBytes: Int) async throws -> [UInt8] { throw Unused() }
    func removeSealed(for build: BuildID) async throws { throw Unused() }
}

/// Writing the key file: whole or not at all, never readable by others, and checked before it replaces the old.
enum KeyFileWriter {
    /// Replaces the file at `path` with `text`: a temporary file (mode 0600) in the same folder, written and
    /// `fsync`ed, loaded as a key ring to check it holds exactly `expectingVersions`, renamed over the old file,
    /// and the folder `fsync`ed so the rename survives a crash. On any failure the old file is untouched.
    static func replace(atPath path: String, with text: String, expectingVersions: [Int]) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/." + url.lastPathComponent + ".\(UUID().uuidString).tmp"
        var bytes = Array(text.utf8)
        defer { VaultMemory.wipe(&bytes) }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw GatewayError(.unavailable, "cannot create a temporary key file beside VAULT_MASTER_KEY_FILE") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(descriptor) }
            // The mode given to open() is masked by the umask; make sure of 0600 whatever the umask.
            guard fchmod(descriptor, 0o600) == 0 else { throw GatewayError(.unavailable, "cannot set the key file's mode") }
            var written = 0
            while written < bytes.count {
                let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
                if result < 0, errno == EINTR { continue }
                guard result > 0 else { throw GatewayError(.unavailable, "cannot write the temporary key file") }
                written += result
            }
            guard fsync(descriptor) == 0 else { throw GatewayError(.unavailable, "cannot fsync the temporary key file") }
        }
        let check = try KeyRing.load(environmentValue: nil, filePath: temporary)
        guard check.versions == expectingVersions.sorted() else {
            throw GatewayError(.unavailable, "the new key file does not hold the expected versions; nothing was changed")
        }
        guard rename(temporary, path) == 0 else { throw GatewayError(.unavailable, "cannot replace VAULT_MASTER_KEY_FILE") }
        renamed = true
        let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            _ = fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// `text` without the key lines of `version` (a bare base64 line is version 1); comments are kept.
    static func removingVersion(_ version: Int, from text: String) -> String {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        let kept = lines.filter { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { return true }
            guard let colon = trimmed.firstIndex(of: ":") else { return version != 1 }
            return Int(trimmed[..<colon].trimmingCharacters(in: .whitespaces)) != version
        }
        var result = kept.joined(separator: "\n")
        if !result.hasSuffix("\n") { result += "\n" }
        return result
    }
}
