import Foundation
import Histogram
import NIOCore
import Testing

@testable import LoadGenerator

@Suite struct LoadGeneratorTests {
    @Test func latencySummary_readsPercentilesInMilliseconds() {
        var histogram = LatencySummary.makeHistogram()
        // 1..100 ms, one each: p50 = 50 ms, p90 = 90 ms, p99 = 99 ms, max = 100 ms (within 0.1 %).
        for ms in 1...100 { LatencySummary.record(.milliseconds(ms), into: &histogram) }
        let summary = LatencySummary(histogram)
        #expect(summary.count == 100)
        #expect(abs(summary.p50 - 50) <= 0.05)
        #expect(abs(summary.p90 - 90) <= 0.09)
        #expect(abs(summary.p99 - 99) <= 0.1)
        #expect(abs(summary.max - 100) <= 0.1)
        #expect(abs(summary.mean - 50.5) <= 0.1)
    }

    @Test func latencySummary_ofNothingIsZeros_andHugeValuesAreClampedNotLost() {
        #expect(LatencySummary(LatencySummary.makeHistogram()) == LatencySummary(LatencySummary.makeHistogram()))
        #expect(LatencySummary(LatencySummary.makeHistogram()).p99 == 0)
        var histogram = LatencySummary.makeHistogram()
        LatencySummary.record(.seconds(3600), into: &histogram)
        LatencySummary.record(.nanoseconds(10), into: &histogram)
        let summary = LatencySummary(histogram)
        #expect(summary.count == 2)
        #expect(summary.max >= 599_000)
    }

    @Test func ledger_findsDuplicatesMissingAndForeignBuilds_acrossMergedWorkers() {
        var first = AssignmentLedger()
        first.record("a")
        first.record("b")
        var second = AssignmentLedger()
        second.record("b")
        second.record("x")
        first.merge(second)
        #expect(first.total == 4)
        #expect(first.duplicated == ["b": 2])
        #expect(first.missing(from: ["a", "b", "c"]) == ["c"])
        #expect(first.foreign(to: ["a", "b", "c"]) == ["x"])
    }

    @Test func ledger_ofACleanRunHasNoDuplicates() {
        var ledger = AssignmentLedger()
        for id in ["a", "b", "c"] { ledger.record(id) }
        #expect(ledger.duplicated.isEmpty)
        #expect(ledger.missing(from: ["a", "b", "c"]).isEmpty)
    }

    @Test(arguments: ["http://127.0.0.1:3000", "http://127.0.0.1:3000/", "http://127.0.0.1:1"])
    func loopbackURL_acceptsLoopbackWithPort(_ text: String) {
        #expect(LoopbackURL(text) != nil)
    }

    @Test(arguments: [
        "http://example.com:3000", "http://127.0.0.1.example.com:3000", "https://127.0.0.1:3000", "http://127.0.0.1",
        "http://127.0.0.1:0", "http://127.0.0.1:65536", "http://127.0.0.1:80/api", "http://127.0.0.1:80@evil:1",
        "http://localhost:3000", "http://127.0.0.2:3000", "http://127.0.0.1:+80",
    ])
    func loopbackURL_refusesEverythingElse(_ text: String) {
        #expect(LoopbackURL(text) == nil)
    }

    @Test func fixtures_areZipArchives_andTheFormEndsWithItsBoundary() {
        #expect(Fixtures.source.count == 426)
        #expect(Fixtures.source.starts(with: [0x50, 0x4B, 0x03, 0x04]))
        #expect(Fixtures.result.starts(with: [0x50, 0x4B, 0x03, 0x04]))
        var form = MultipartForm(boundary: "B")
        form.field("platform", "android")
        form.file("source", filename: "p.zip", contentType: "application/zip", [1, 2])
        let text = String(decoding: form.finished().readableBytesView, as: UTF8.self)
        #expect(text.hasPrefix("--B\r\nContent-Disposition: form-data; name=\"platform\"\r\n\r\nandroid\r\n--B\r\n"))
        #expect(text.hasSuffix("\u{1}\u{2}\r\n--B--\r\n"))
        #expect(form.contentType == "multipart/form-data; boundary=B")
    }
}
