import ArtifactStore
import CertVault
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Orchestrator
import Testing

/// `vault rotate-key`, `rewrap` and `retire-key`, run through ``VaultKeyMaintenance`` (what the commands call)
/// against the fixture's database, with certs opened over HTTP by controllers on each ring.
@Suite struct KeyRotationFlowTests {
    typealias F = GatewayFixture

    @Test func rotation_rewrapsEveryLiveKey_andRetireIsRefusedWhileAVersionIsInUse() async throws {
        let folder = try KeyFileFolder()
        defer { folder.remove() }
        let path = try folder.write("key", "1:\(KeyFileFolder.randomKey())\n")
        let ring = try KeyRing.load(environmentValue: nil, filePath: path)
        try await F.run(keyRing: ring) { f in
            let (id, _) = try await f.submit(platform: "ios", certs: true)
            _ = try await f.submit(platform: "ios", certs: true)
            _ = try await f.submit(platform: "ios", certs: true)
            let worker = try await f.registerWorker()
            let vmToken = try await f.assignAndAuthenticateVM(worker: worker.token, build: id)
            // Batches of one, so the walk pages.
            let maintenance = VaultKeyMaintenance(keyFilePath: path, orchestrator: f.orchestrator, logger: f.logger, batchSize: 1)

            await #expect(throws: GatewayError.self) { try await maintenance.retire(version: 1) }  // the current one
            let (version, skipped) = try await maintenance.rotate(rewrap: false)
            #expect(version == 2)
            #expect(skipped == nil)
            #expect(try KeyRing.load(environmentValue: nil, filePath: path).versions == [1, 2])
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
            #expect(try folder.entries() == ["key"])  // no temporary file left behind
            let inUse = await #expect(throws: GatewayError.self) { try await maintenance.retire(version: 1) }
            #expect(inUse?.message == "3 sealed bundle(s) still use key version 1; run `vault rewrap` first")

            let report = try await maintenance.rewrapAll()
            #expect(report.rewrapped == 3)
            #expect(report.failed == 0)
            #expect(report.sealedByVersion == [2: 3])
            #expect(try await f.orchestrator.vaultEvents(build: id).last?.event == "rewrapped")
            #expect(try await f.orchestrator.vaultEvents(build: id).last?.keyVersion == 2)
            let shown = try #require(try await f.request(.get, "/api/builds/\(id)", headers: F.key).object()["certs"] as? [String: Any])
            #expect(shown["key_version"] as? Int == 2)
            // The controller still on the old ring can no longer open them: the rows really changed.
            #expect(try await f.request(.get, "/api/builds/\(id)/certs-secure", headers: F.vmToken(vmToken)).status == .internalServerError)

            try await maintenance.retire(version: 1)
            let retired = try KeyRing.load(environmentValue: nil, filePath: path)
            #expect(retired.versions == [2])
            try await Self.expectCertsOpen(f, ring: retired, build: id, vmToken: vmToken)

            // The one-step form: a new version and every key rewrapped under it.
            let (third, full) = try await maintenance.rotate()
            #expect(third == 3)
            #expect(full?.rewrapped == 3)
            #expect(full?.sealedByVersion == [3: 3])
            try await Self.expectCertsOpen(f, ring: try KeyRing.load(environmentValue: nil, filePath: path), build: id, vmToken: vmToken)
        }
    }

    @Test func rotation_refusesTheWrongKeyFile_andAKeyGivenInTheEnvironment() async throws {
        let folder = try KeyFileFolder()
        defer { folder.remove() }
        let path = try folder.write("key", "1:\(KeyFileFolder.randomKey())\n")
        let wrong = try folder.write("other", "1:\(KeyFileFolder.randomKey())\n")
        try await F.run(keyRing: try KeyRing.load(environmentValue: nil, filePath: path)) { f in
            _ = try await f.submit(platform: "ios", certs: true)
            let before = try String(contentsOfFile: wrong, encoding: .utf8)
            let maintenance = VaultKeyMaintenance(keyFilePath: wrong, orchestrator: f.orchestrator, logger: f.logger)
            await #expect(throws: GatewayError.self) { _ = try await maintenance.rotate() }
            #expect(try String(contentsOfFile: wrong, encoding: .utf8) == before)
        }
        let direct = #expect(throws: GatewayError.self) {
            _ = try VaultKeyMaintenance.keyFilePath(environment: ["VAULT_MASTER_KEY": KeyFileFolder.randomKey()])
        }
        #expect(direct?.message.contains("move the key from VAULT_MASTER_KEY into a file") == true)
        #expect(try VaultKeyMaintenance.keyFilePath(environment: ["VAULT_MASTER_KEY_FILE": path]) == path)
    }

    /// Opens `build`'s certs over HTTP through a second controller on the same database and store with `ring`.
    static func expectCertsOpen(_ f: GatewayFixture, ring: KeyRing, build id: String, vmToken: String) async throws {
        let gateway = Gateway(
            configuration: GatewayConfiguration(apiKey: F.apiKey), orchestrator: f.orchestrator, store: f.gateway.store,
            vault: CertVault(keyRing: ring, storage: f.gateway.store), queueSignal: QueueSignal(), logger: f.logger)
        try await Application(router: gateway.makeRouter()).test(.router) { client in
            let response = try await client.execute(uri: "/api/builds/\(id)/certs-secure", method: .get, headers: F.vmToken(vmToken))
            #expect(response.status == .ok)
            let object = try response.object()
            #expect(object["p12"] as? String == Data(ZipBuilder.p12Bytes).base64EncodedString())
        }
    }
}

/// A private temporary folder for key files.
struct KeyFileFolder {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("fac-keys-\(UUID().uuidString)").path

    init() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    static func randomKey() -> String { Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() }

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        return file
    }

    func entries() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
