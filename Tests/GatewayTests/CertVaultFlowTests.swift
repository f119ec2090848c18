import ArtifactStore
import CertVault
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import Identifiers
import Logging
import NIOCore
import Orchestrator
import PostgresNIO
import TestSupport
import Testing

/// Signing certs through the whole controller: nothing readable at rest, release only to the live holder,
/// retry within grace, destruction with a tombstone and an audit trail.
@Suite struct CertVaultFlowTests {
    typealias F = GatewayFixture

    @Test(arguments: TestBackend.allCases)
    func fullBuild_leavesNoPlaintextInStoreOrDatabase_whileSealedOrAfter(storage: TestBackend) async throws {
        try await F.run(storage: storage) { f in
            let (id, token) = try await f.submit(platform: "ios", certs: true)
            #expect(try await f.storedObjects().filter { $0.hasPrefix("blobs/certs/") && $0.contains(id) }.count == 1)
            try await CertLeakScan.expectNothingFound(f, knownPresent: id)

            // The VM of the assigned worker fetches the bundle: still nothing readable at rest.
            let worker = try await f.registerWorker()
            let vmToken = try await f.assignAndAuthenticateVM(worker: worker.token, build: id)
            let secure = try await f.request(.get, "/api/builds/\(id)/certs-secure", headers: F.vmToken(vmToken))
            #expect(secure.status == .ok)
            #expect(try secure.object()["p12"] as? String == Data(ZipBuilder.p12Bytes).base64EncodedString())
            try await CertLeakScan.expectNothingFound(f, knownPresent: id)

            // Completed through the VM's /artifact: destroyed at once, blob and wrapped key gone.
            var artifact = MultipartBody()
            artifact.file("artifact", filename: "App.ipa", ZipBuilder.result("vm"))
            #expect(try await f.multipart("/api/builds/\(id)/artifact", headers: F.vmToken(vmToken), artifact).status == .ok)
            let certs = try #require(try await f.request(.get, "/api/builds/\(id)", headers: F.key).object()["certs"] as? [String: Any])
            #expect(certs["state"] as? String == "destroyed")
            #expect(certs["reason"] as? String == "build completed")
            #expect(try await f.gateway.store.size(of: BlobKey(build: BuildID(id)!, kind: .certs)) == nil)
            #expect(try await f.storedObjects().filter { $0.hasPrefix("blobs/certs/") }.isEmpty)
            #expect(try await f.orchestrator.build(id)?.certsWrappedKey == nil)
            try await CertLeakScan.expectNothingFound(f, knownPresent: id)

            // The audit trail, for the operator only.
            let trail = try await f.request(.get, "/api/builds/\(id)/vault-events", headers: F.key)
            #expect(trail.status == .ok)
            let object = try trail.object()
            #expect(object["build_id"] as? String == id)
            let events = try #require(object["events"] as? [[String: Any]])
            #expect(events.map { $0["event"] as? String } == ["sealed", "opened", "destroyed"])
            #expect(events[0]["key_version"] as? Int == 1)
            #expect(events[1]["attempt"] as? Int == 1)
            #expect(events[1]["reason"] as? String == "certs-secure")
            #expect(events[2]["reason"] as? String == "build completed")
            #expect(events.allSatisfy { ($0["at"] as? String)?.hasSuffix("Z") == true })
            #expect(try await f.request(.get, "/api/builds/\(id)/vault-events", headers: F.buildToken(token)).status == .unauthorized)
            let wrongKey: HTTPFields = [HTTPField.Name("X-API-Key")!: String(repeating: "x", count: 40)]
            #expect(try await f.request(.get, "/api/builds/\(id)/vault-events", headers: wrongKey).status == .forbidden)
            #expect(try await f.request(.get, "/api/builds/\(BuildID.random().rawValue)/vault-events", headers: F.key).status == .notFound)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func certs_onlyTheCurrentAttemptsHolderGetsThem(storage: TestBackend) async throws {
        try await F.run(storage: storage) { f in
            let (id, token) = try await f.submit(platform: "ios", certs: true)
            let (other, _) = try await f.submit(platform: "ios", certs: true)
            let a = try await f.registerWorker()
            let vmA = try await f.assignAndAuthenticateVM(worker: a.token, build: id)
            let c = try await f.registerWorker()
            let vmOther = try await f.assignAndAuthenticateVM(worker: c.token, build: other)
            let b = try await f.registerWorker()
            let path = "/api/builds/\(id)/certs-secure"

            #expect(try await f.request(.get, path, headers: F.workerToken(a.token)).status == .ok)
            #expect(try await f.request(.get, "/api/builds/\(id)/certs", headers: F.vmToken(vmA)).bytes == ZipBuilder.certs())
            // Anyone else: another worker, the submitter, the operator without a worker id, another build's VM.
            let stranger = try await f.request(.get, path, headers: F.workerToken(b.token))
            #expect(stranger.status == .forbidden)
            #expect(stranger.errorMessage == "Not assigned to this build")
            let idHeader: HTTPFields = F.key.merging([HTTPField.Name("X-Worker-Id")!: b.id])
            #expect(try await f.request(.get, path, headers: idHeader).status == .forbidden)
            #expect(try await f.request(.get, path, headers: F.buildToken(token)).status == .unauthorized)
            let keyAlone = try await f.request(.get, path, headers: F.key)
            #expect(keyAlone.status == .badRequest)
            #expect(keyAlone.errorMessage == "worker_id required")
            #expect(try await f.request(.get, path, headers: F.vmToken(vmOther)).status == .forbidden)

            // The lease lapses and B takes the build: A and A's VM hold a stale attempt.
            _ = try await f.orchestrator.sweep(now: Date().addingTimeInterval(2000))
            let poll = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(b.token)).object()
            #expect((poll["job"] as? [String: Any])?["id"] as? String == id)
            #expect(try await f.request(.get, path, headers: F.workerToken(a.token)).status == .conflict)
            let staleVM = try await f.request(.get, path, headers: F.vmToken(vmA))
            #expect(staleVM.status == .conflict, "\(staleVM.status) \(String(buffer: staleVM.body))")
            #expect(try await f.request(.get, path, headers: F.workerToken(b.token)).status == .ok)

            // Finished: nobody gets them, not even the holder that finished it.
            try await f.uploadResult(worker: b.token, build: id)
            let finished = try await f.request(.get, path, headers: F.workerToken(b.token))
            #expect(finished.status == .conflict)
            #expect(finished.errorMessage == "Build already finished")
            let opens = try await f.orchestrator.vaultEvents(build: id).filter { $0.event == "opened" }
            #expect(opens.map(\.attempt) == [1, 1, 2])
            #expect(opens.map(\.workerID) == [a.id, nil, b.id])
        }
    }

    @Test(arguments: TestBackend.allCases)
    func retry_withinGrace_movesTheSealedBundle_andTheOldOneStaysUntilGraceEnds(storage: TestBackend) async throws {
        // A grace far longer than any stall of a starved parallel suite (1 s was not: CI swept the bundle before
        // the retry); its end is simulated below by moving the build's completion back.
        try await F.run(storage: storage, gateway: { $0.certsGrace = .seconds(300) }) { f in
            let (id, _) = try await f.submit(platform: "ios", certs: true)
            let worker = try await f.registerWorker()
            _ = try await f.assignAndAuthenticateVM(worker: worker.token, build: id)
            var failure = MultipartBody()
            failure.field("build_id", id)
            failure.field("success", "false")
            failure.field("error_message", "xcodebuild exited 65")
            #expect(try await f.multipart("/api/workers/upload", headers: F.workerToken(worker.token), failure).status == .ok)
            // A failed build keeps its certs for a retry, even through a sweep.
            await f.gateway.destroyDueCerts()
            #expect(try await f.orchestrator.build(id)?.certsState == .sealed)

            let retry = try await f.request(.post, "/api/builds/\(id)/retry", headers: F.key)
            #expect(retry.status == .ok, "\(String(buffer: retry.body))")
            let newID = try #require(try retry.object()["id"] as? String)
            #expect(try await f.orchestrator.vaultEvents(build: newID).map(\.event) == ["resealed"])
            let poll = try await f.request(.get, "/api/workers/poll", headers: F.workerToken(worker.token)).object()
            #expect((poll["job"] as? [String: Any])?["id"] as? String == newID)
            let secure = try await f.request(.get, "/api/builds/\(newID)/certs-secure", headers: F.workerToken(worker.token))
            #expect(secure.status == .ok)
            #expect(try secure.object()["p12Password"] as? String == ZipBuilder.certsPassword)

            // The grace period ends (moved back rather than slept through): the old bundle goes, the new one stays.
            try await f.orchestrator.client.query(
                "UPDATE builds SET completed_at = completed_at - interval '600 seconds' WHERE id = \(id)", logger: f.logger)
            await f.gateway.destroyDueCerts()
            let old = try #require(try await f.orchestrator.build(id))
            #expect(old.certsState == .destroyed)
            #expect(old.certsDestroyReason == "grace period after failed build ended")
            #expect(try await f.gateway.store.size(of: BlobKey(build: BuildID(id)!, kind: .certs)) == nil)
            #expect(try await f.orchestrator.build(newID)?.certsState == .sealed)
            let certBlobs = try await f.storedObjects().filter { $0.hasPrefix("blobs/certs/") }
            #expect(certBlobs.count == 1 && certBlobs[0].contains(newID), "\(certBlobs)")
            let late = try await f.request(.post, "/api/builds/\(id)/retry", headers: F.key)
            #expect(late.status == .badRequest)
            #expect(late.errorMessage == "Original build certs no longer available. Please submit a new build.")

            // A cancelled build's certs move to its retry too.
            let (cancelled, _) = try await f.submit(platform: "ios", certs: true)
            #expect(try await f.request(.post, "/api/builds/\(cancelled)/cancel", headers: F.key).status == .ok)
            let again = try await f.request(.post, "/api/builds/\(cancelled)/retry", headers: F.key)
            #expect(again.status == .ok)
            let againID = try #require(try again.object()["id"] as? String)
            #expect(try await f.orchestrator.build(againID)?.certsState == .sealed)
            #expect(try await f.orchestrator.build(cancelled)?.certsState == .sealed)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func completedBuild_showsTheTombstone_andItsRetryIsRefused(storage: TestBackend) async throws {
        try await F.run(storage: storage) { f in
            let (id, token) = try await f.submit(platform: "ios", certs: true)
            let worker = try await f.registerWorker()
            _ = try await f.assignAndAuthenticateVM(worker: worker.token, build: id)
            try await f.uploadResult(worker: worker.token, build: id)
            let show = try await f.request(.get, "/api/builds/\(id)", headers: F.key).object()
            let certs = try #require(show["certs"] as? [String: Any])
            #expect(certs["state"] as? String == "destroyed")
            #expect((certs["destroyed_at"] as? String).flatMap { try? Date($0, strategy: .iso8601) } != nil)
            #expect(certs["reason"] as? String == "build completed")
            #expect(certs["key_version"] as? Int == 1)
            let retry = try await f.request(.post, "/api/builds/\(id)/retry", headers: F.buildToken(token))
            #expect(retry.status == .badRequest)
            #expect(retry.errorMessage == "Original build certs no longer available. Please submit a new build.")
            // A build without certs shows the empty state.
            let (plain, _) = try await f.submit(platform: "android")
            let none = try #require(try await f.request(.get, "/api/builds/\(plain)", headers: F.key).object()["certs"] as? [String: Any])
            #expect(none["state"] as? String == "none")
            #expect(none["key_version"] is NSNull)
        }
    }
}

extension GatewayFixture {
    var logger: Logger { Logger(label: "cert-vault-flow-test") }

    /// Polls as `worker` (which must then hold `build`), and exchanges the job's OTP for a VM token.
    func assignAndAuthenticateVM(worker token: String, build id: String) async throws -> String {
        let poll = try await request(.get, "/api/workers/poll", headers: Self.workerToken(token)).object()
        let job = try #require(poll["job"] as? [String: Any])
        try #require(job["id"] as? String == id)
        let otp = try #require(job["otp"] as? String)
        let auth = try await json(.post, "/api/builds/\(id)/authenticate", ["otp": otp])
        try #require(auth.status == .ok)
        return try #require(try auth.object()["vm_token"] as? String)
    }

    /// The worker's successful upload of a result.
    func uploadResult(worker token: String, build id: String) async throws {
        var upload = MultipartBody()
        upload.field("build_id", id)
        upload.field("success", "true")
        upload.file("result", filename: "app.ipa", ZipBuilder.result("ios"))
        let response = try await multipart("/api/workers/upload", headers: Self.workerToken(token), upload)
        try #require(response.status == .ok, "\(String(buffer: response.body))")
    }
}

/// Looks for the test bundle's secrets in everything the controller keeps at rest: every file under the
/// storage root or every object under the bucket prefix, and a `pg_dump` of the test's schema.
enum CertLeakScan {
    /// The p12, the password and the profile, raw and as the base64 that `certs-secure` sends.
    static var secrets: [(name: String, bytes: [UInt8])] {
        [
            ("p12", ZipBuilder.p12Bytes), ("password", Array(ZipBuilder.certsPassword.utf8)),
            ("profile", ZipBuilder.profileBytes),
            ("p12 base64", Array(Data(ZipBuilder.p12Bytes).base64EncodedString().utf8)),
            ("profile base64", Array(Data(ZipBuilder.profileBytes).base64EncodedString().utf8)),
        ]
    }

    /// Expects none of ``secrets`` anywhere at rest. `knownPresent` (the build id) must be found in the dump and
    /// the source's marker in the store, so that a scan that reads nothing cannot pass.
    static func expectNothingFound(_ f: GatewayFixture, knownPresent: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        // Unfinished multipart uploads (s3) cannot be read back: there must be none to skip.
        let unreadable = try await f.storedEverything().filter { $0.hasPrefix("upload:") }
        #expect(unreadable.isEmpty, "unfinished uploads the scan cannot read: \(unreadable)", sourceLocation: sourceLocation)
        let stored = try await f.storedContents()
        #expect(!stored.isEmpty, sourceLocation: sourceLocation)
        let files = stored.map(\.name)
        let storeBytes = stored.map(\.bytes)
        let dump = try pgDump(schema: f.database.schema)
        #expect(dump.range(of: Data(knownPresent.utf8)) != nil, "the dump does not even hold the build id", sourceLocation: sourceLocation)
        #expect(storeBytes.contains { $0.range(of: Data("package.json".utf8)) != nil }, "the store scan saw no source", sourceLocation: sourceLocation)
        for secret in secrets {
            let needle = Data(secret.bytes)
            for (index, bytes) in storeBytes.enumerated() {
                #expect(bytes.range(of: needle) == nil, "\(secret.name) found in stored file \(files[index])", sourceLocation: sourceLocation)
            }
            #expect(dump.range(of: needle) == nil, "\(secret.name) found in the database dump", sourceLocation: sourceLocation)
        }
    }

    /// `pg_dump --schema=<schema>` of the test database, as bytes.
    static func pgDump(schema: String) throws -> Data {
        let url = try #require(ProcessInfo.processInfo.environment[TestDatabase.environmentVariable])
        let process = Process()
        let pinned = "/usr/lib/postgresql/15/bin/pg_dump"
        if FileManager.default.isExecutableFile(atPath: pinned) {
            process.executableURL = URL(fileURLWithPath: pinned)
            process.arguments = ["--schema=\(schema)", "-d", url]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["pg_dump", "--schema=\(schema)", "-d", url]
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "pg_dump failed")
        return data
    }
}
