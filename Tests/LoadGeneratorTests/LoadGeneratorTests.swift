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

    @Test func pacedSchedule_dealsEverySlotOnce_roundRobin_atFixedTimes() throws {
        let schedule = try #require(PacedSchedule(rate: 50, count: 10, workers: 4))
        // Worker 1 has slots 1, 5, 9: due at 20, 100 and 180 ms, i.e. every 4 / 50 s.
        #expect(Array(schedule.slots(ofWorker: 1)) == [1, 5, 9])
        #expect(schedule.slots(ofWorker: 1).map { schedule.offset(ofSlot: $0) } == [.milliseconds(20), .milliseconds(100), .milliseconds(180)])
        // Every slot belongs to exactly one worker.
        let dealt = (0..<4).flatMap { Array(schedule.slots(ofWorker: $0)) }.sorted()
        #expect(dealt == Array(0..<10))
        #expect(schedule.length == .milliseconds(180))
        // More workers than slots: the extra workers have none.
        #expect(Array(try #require(PacedSchedule(rate: 1, count: 2, workers: 5)).slots(ofWorker: 3)).isEmpty)
    }

    @Test func pacedSchedule_doesNotDrift_overALongRun() throws {
        // 3 per second: the interval (333,333,333.3 ns) is not a whole number of nanoseconds, so adding it up
        // slot by slot would be 0.1 ms early per 1,000 slots; slot 3,000,000 must be due at exactly 1,000,000 s.
        let schedule = try #require(PacedSchedule(rate: 3, count: 3_000_001, workers: 7))
        #expect(schedule.offset(ofSlot: 3_000_000) == .seconds(1_000_000))
        #expect(schedule.offset(ofSlot: 1) == .nanoseconds(333_333_333))
        #expect(schedule.offset(ofSlot: 2) == .nanoseconds(666_666_667))
    }

    @Test(arguments: [0.0, -1, .infinity, .nan, 200_000])
    func pacedSchedule_refusesRatesThatCannotBeARate(_ rate: Double) {
        #expect(PacedSchedule(rate: rate, count: 10, workers: 2) == nil)
    }

    @Test func pacedRecorder_chargesALateSendFromItsDueTime_notFromWhenItWent() {
        // A slot due at t, sent 40 ms late (the worker's previous call was slow), answered 5 ms after sending:
        // its latency is 45 ms, of which the controller took 5 and the timetable's backlog 40.
        let due = ContinuousClock.now
        var recorder = PacedRecorder()
        recorder.record(due: due, sent: due + .milliseconds(40), received: due + .milliseconds(45))
        recorder.record(due: due + .milliseconds(20), sent: due + .milliseconds(20), received: due + .milliseconds(22))
        var other = PacedRecorder()
        other.record(due: due, sent: due, received: due + .milliseconds(3))
        recorder.merge(other)
        let latency = LatencySummary(recorder.latency)
        let service = LatencySummary(recorder.service)
        let lag = LatencySummary(recorder.sendLag)
        #expect(latency.count == 3)
        #expect(abs(latency.max - 45) <= 0.05)
        #expect(abs(service.max - 5) <= 0.01)
        #expect(abs(lag.max - 40) <= 0.05)
        #expect(lag.p50 <= 0.01)
    }

    /// The fail call's hand-made JSON says what JSONSerialization would, and an id outside the template's alphabet
    /// still comes out as valid JSON.
    @Test(arguments: ["V1StGXR8_Z5jdHi6B-myT", "a\"b\\c\n"])
    func failBody_isTheJSONTheControllerExpects(build: String) throws {
        let body = ControllerClient.failBody(build)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: String])
        #expect(object == ["build_id": build, "error": "fac-loadgen: released at once"])
    }
}
