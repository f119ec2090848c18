import Foundation
import PostgresNIO

/// The columns every build read selects, in one place so a new column is added once.
enum BuildColumns {
    /// A constant, spliced with `unescaped:`; every value in the queries that use it is a bind parameter.
    static let select = """
        SELECT b.id, b.status::text, b.platform, b.worker_id, w.name, b.submitted_at, b.started_at, b.completed_at,
               b.error_message, b.attempt, b.lease_expires_at, b.vm_ready_at, b.source_size, b.source_sha256,
               b.result_size, b.result_sha256, b.artifacts_purged_at, b.certs_state, b.certs_wrapped_key,
               b.certs_key_version, b.certs_destroyed_at, b.certs_destroy_reason, b.original_build_id
        FROM builds b LEFT JOIN workers w ON w.id = b.worker_id
        """

    static func decode(_ row: PostgresRow) throws -> BuildRecord {
        let cells = row.makeRandomAccess()
        func cell<T: PostgresDecodable>(_ index: Int, _ type: T.Type = T.self) throws -> T {
            try cells[index].decode(T.self, context: .default)
        }
        let status = try cell(1, String.self)
        let certsState = try cell(17, String.self)
        let wrappedKey: ByteBuffer? = try cell(18)
        return BuildRecord(
            id: try cell(0),
            status: BuildStatus(rawValue: status) ?? .failed,
            platform: try cell(2),
            workerID: try cell(3),
            workerName: try cell(4),
            submittedAt: try cell(5),
            startedAt: try cell(6),
            completedAt: try cell(7),
            errorMessage: try cell(8),
            attempt: try cell(9),
            leaseExpiresAt: try cell(10),
            vmReadyAt: try cell(11),
            sourceSize: try cell(12),
            sourceSHA256: try cell(13),
            resultSize: try cell(14),
            resultSHA256: try cell(15),
            artifactsPurgedAt: try cell(16),
            certsState: CertsState(rawValue: certsState) ?? .none,
            certsWrappedKey: wrappedKey.map { Array($0.readableBytesView) },
            certsKeyVersion: try cell(19),
            certsDestroyedAt: try cell(20),
            certsDestroyReason: try cell(21),
            originalBuildID: try cell(22)
        )
    }
}

extension ByteBuffer {
    init(bytes: [UInt8]) {
        self = ByteBuffer()
        self.writeBytes(bytes)
    }
}
