import Identifiers
import LegacyImport
import Orchestrator
import Testing

@Suite struct RowMappingTests {
    @Test func build_cancelledStoredAsFailed_becomesCancelled() throws {
        let values: [SQLiteValue] = [
            .text("abcDEF123_-xyz"), .text("failed"), .text("ios"), .text("/s/builds/a.zip"), .null, .null, .null,
            .integer(1_767_225_600_000), .integer(1_767_225_601_000), .integer(1_767_225_602_000),
            .text(LegacyRowMapper.cancelledMessage), .null, .integer(0),
        ]
        let build = try LegacyRowMapper.build(values).get()
        #expect(build.status == .cancelled)
        #expect(build.notes.contains(.cancelledStoredAsFailed))
        #expect(build.token == nil)
    }
}
