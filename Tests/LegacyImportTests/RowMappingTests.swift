import Identifiers
import LegacyImport
import Orchestrator
import Testing

/// The pure mapping, without a database: row values in, a typed record or a typed rejection out.
@Suite struct RowMappingTests {
    static let t0: Int64 = 1_767_225_600_000

    static func buildRow(
        id: String = "abcDEF123_-xyz", status: String = "completed", platform: String = "ios", worker: SQLiteValue = .null,
        workerExists: Int64 = 1, started: SQLiteValue = .integer(t0 + 1000), completed: SQLiteValue = .integer(t0 + 2000),
        error: SQLiteValue = .null, token: SQLiteValue = .text(String(repeating: "A", count: 43))
    ) -> [SQLiteValue] {
        [
            .text(id), .text(status), .text(platform), .text("/s/builds/a.zip"), .null, .null, worker, .integer(t0), started,
            completed, error, token, .integer(workerExists),
        ]
    }

    @Test func build_cancelledStoredAsFailed_becomesCancelled() throws {
        let build = try LegacyRowMapper.build(Self.buildRow(status: "failed", error: .text(LegacyRowMapper.cancelledMessage))).get()
        #expect(build.status == .cancelled)
        #expect(build.errorMessage == "Build cancelled by user")
        #expect(build.notes == [.cancelledStoredAsFailed])
    }

    @Test func build_inFlight_goesBackToPendingWithoutHolderOrStart() throws {
        for status in ["assigned", "building"] {
            let build = try LegacyRowMapper.build(Self.buildRow(status: status, worker: .text("w1"), completed: .null)).get()
            #expect(build.status == .pending)
            #expect(build.workerID == nil && build.startedAtMs == nil && build.completedAtMs == nil)
            #expect(build.wasInFlight && build.legacyStatus == status)
        }
    }

    @Test func build_finishedWithoutCompletionTime_usesItsStart() throws {
        let build = try LegacyRowMapper.build(Self.buildRow(status: "failed", completed: .null)).get()
        #expect(build.completedAtMs == Self.t0 + 1000)
        #expect(build.notes.contains(.missingCompletionTime))
    }

    @Test func build_tokens_keptWhenUsable_otherwiseANewOneIsDue() throws {
        let kept = try LegacyRowMapper.build(Self.buildRow()).get()
        #expect(kept.token?.reveal == String(repeating: "A", count: 43))
        // No access_token column in a pre-token database: the value is absent altogether.
        let absent = try LegacyRowMapper.build(Array(Self.buildRow().prefix(11))).get()
        #expect(absent.token == nil && absent.notes == [.tokenMissing])
        for unusable: SQLiteValue in [.text(""), .text("has space"), .text(String(repeating: "a", count: 129)), .integer(5), .blob([1])] {
            let build = try LegacyRowMapper.build(Self.buildRow(token: unusable)).get()
            #expect(build.token == nil && build.notes == [.tokenUnusable])
        }
    }

    @Test func build_danglingWorker_isDroppedWithANote() throws {
        let gone = try LegacyRowMapper.build(Self.buildRow(worker: .text("w-gone"), workerExists: 0)).get()
        #expect(gone.workerID == nil && gone.notes == [.danglingWorker])
        let present = try LegacyRowMapper.build(Self.buildRow(worker: .text("w-1"), workerExists: 1)).get()
        #expect(present.workerID?.rawValue == "w-1" && present.notes.isEmpty)
    }

    @Test func build_rejections_nameTheColumn() {
        func reason(_ values: [SQLiteValue]) -> LegacyRowRejection.Reason? {
            if case .failure(let rejection) = LegacyRowMapper.build(values) { return rejection.reason }
            return nil
        }
        #expect(reason(Self.buildRow(id: "../x")) == .invalidID(column: "id"))
        #expect(reason(Self.buildRow(id: String(repeating: "a", count: 65))) == .invalidID(column: "id"))
        #expect(reason(Self.buildRow(status: "exploded")) == .unknownValue(column: "status"))
        #expect(reason(Self.buildRow(platform: "windows")) == .unknownValue(column: "platform"))
        #expect(reason(Self.buildRow(started: .real(1.5))) == .wrongType(column: "started_at"))
        #expect(reason(Self.buildRow(started: .integer(-1))) == .timestampOutOfRange(column: "started_at"))
        #expect(reason(Self.buildRow(error: .text("a\u{0}b"))) == .nulCharacter(column: "error_message"))
        #expect(reason([]) == .missing(column: "id"))
    }

    @Test func logLine_levels_debugKept_synonymsMapped_unknownRejected() throws {
        func level(_ text: String) -> LogLevel? {
            try? LegacyRowMapper.logLine([.text("b1"), .integer(Self.t0), .text(text), .text("m"), .integer(1)]).get().level
        }
        #expect(level("debug") == .debug)
        #expect(level("info") == .info)
        #expect(level("WARNING") == .warn)
        #expect(level("error") == .error)
        #expect(level("shout") == nil)
        let orphan = LegacyRowMapper.logLine([.text("b1"), .integer(Self.t0), .text("info"), .text("m"), .integer(0)])
        #expect(orphan == .failure(LegacyRowRejection(.buildLogs, .orphan(parent: "build"))))
        // A whole number stored as a real is the same millisecond.
        let real = try LegacyRowMapper.logLine([.text("b1"), .real(Double(Self.t0 + 7)), .text("info"), .text("m"), .integer(1)]).get()
        #expect(real.timestampMs == Self.t0 + 7)
    }

    @Test func cpuSnapshot_valuesOutsideTheSchemaRangesAreRejected() {
        func accepted(_ cpu: SQLiteValue, _ memory: SQLiteValue) -> Bool {
            (try? LegacyRowMapper.cpuSnapshot([.text("b1"), .integer(Self.t0), cpu, memory, .integer(1)]).get()) != nil
        }
        #expect(accepted(.real(350.5), .real(9000)))
        #expect(accepted(.integer(0), .integer(0)))
        #expect(!accepted(.real(1000.5), .real(1)))
        #expect(!accepted(.real(.nan), .real(1)))
        #expect(!accepted(.real(1), .real(-1)))
        #expect(!accepted(.text("12"), .real(1)))
    }

    @Test func worker_andDiagnostic_jsonMustHaveTheExpectedShape() throws {
        func worker(_ capabilities: String, status: String = "idle") -> LegacyWorker? {
            try? LegacyRowMapper.worker([
                .text("w1"), .text("mac"), .text(status), .text(capabilities), .integer(Self.t0), .integer(Self.t0), .null, .integer(3),
            ]).get()
        }
        let mapped = try #require(worker(#"{"platforms": ["ios"], "maxMemoryGB": 16}"#, status: "offline"))
        #expect(mapped.offline && mapped.buildsCompleted == 0 && mapped.buildsFailed == 3)
        #expect(worker("[1]") == nil)
        #expect(worker("{") == nil)
        #expect(worker(#"{"a": "\u0000"}"#) == nil)
        #expect(worker(String(repeating: "[", count: 10_000)) == nil)
        func diagnostic(_ checks: String, workerExists: Int64 = 1) -> LegacyDiagnostic? {
            try? LegacyRowMapper.diagnostic([
                .text("00000000-0000-4000-8000-000000000000"), .text("w1"), .text("healthy"), .integer(Self.t0), .integer(340),
                .integer(1), .text(checks), .integer(workerExists),
            ]).get()
        }
        #expect(diagnostic("[]")?.autoFixed == true)
        #expect(diagnostic("{}") == nil)
        #expect(diagnostic("[]", workerExists: 0) == nil)
    }

    @Test func fileLocator_triesTheStoredPathThenTheKindFolder() {
        let root = "/new/storage"
        #expect(
            LegacyFileLocator.candidates(for: "/old/storage/builds/x.zip", kind: .source, storageRoot: root)
                == ["/old/storage/builds/x.zip", "/new/storage/builds/x.zip"])
        #expect(
            LegacyFileLocator.candidates(for: "storage/certs/x.zip", kind: .certs, storageRoot: root)
                == ["/new/storage/storage/certs/x.zip", "/new/storage/certs/x.zip"])
        #expect(LegacyFileLocator.candidates(for: "..", kind: .result, storageRoot: root) == ["/new/storage/.."])
        #expect(LegacyFileLocator.candidates(for: "", kind: .result, storageRoot: root).isEmpty)
    }

    @Test func schema_missingColumnsReadAsNull_andNameTheVariant() {
        let schema = LegacySchema(
            tables: [.workers, .builds, .buildLogs],
            columns: [
                .workers: Set(LegacyTable.workers.columns), .buildLogs: Set(LegacyTable.buildLogs.columns),
                .builds: Set(LegacyTable.builds.columns.filter { $0 != "access_token" }),
            ])
        #expect(!schema.hasBuildTokens)
        #expect(schema.variantName == "pre-tokens (no cpu_snapshots, diagnostics)")
        #expect(schema.missingColumns == ["builds.access_token"])
    }
}
