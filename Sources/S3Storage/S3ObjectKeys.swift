import ArtifactStore
import Foundation

/// The bucket's layout below ``S3Configuration/prefix``: committed blobs, staged uploads and probes.
///
/// `blobs/<kind>/<build id>` come only from typed ``BlobKey``s. Staged uploads and probes carry the second they
/// were started in their key (`staging/<unix seconds>-<random>`), because the sweeper must judge their age by our
/// own clock: some S3 servers (moto) report a fixed date as every multipart upload's start.
struct S3ObjectKeys: Sendable {
    let prefix: String

    func blob(_ key: BlobKey) -> String { prefix + "blobs/" + key.description }

    var blobs: String { prefix + "blobs/" }
    var staging: String { prefix + "staging/" }
    var probes: String { prefix + "probe/" }

    /// What to list to find the keys below `folder` (one of the three above): the folder without its last slash,
    /// the results then filtered by the whole folder. A `/` in a listing's `prefix` parameter is percent-encoded in
    /// the signed query, as SigV4 requires; moto (the tests' S3 server) compares against the decoded `/` and
    /// refuses the signature. Dropping the slash costs nothing: nothing else of ours starts with these names.
    static func listingPrefix(of folder: String) -> String {
        folder.hasSuffix("/") ? String(folder.dropLast()) : folder
    }

    func newStaging(now: Date = Date()) -> String { staging + Self.stamped(now) }
    func newProbe(now: Date = Date()) -> String { probes + Self.stamped(now) }

    /// The second a staged upload or probe was started, read back from its key; `nil` when the key is not ours.
    func startTime(of objectKey: String) -> Date? {
        let name: Substring
        if objectKey.hasPrefix(staging) {
            name = objectKey.dropFirst(staging.count)
        } else if objectKey.hasPrefix(probes) {
            name = objectKey.dropFirst(probes.count)
        } else {
            return nil
        }
        guard let dash = name.firstIndex(of: "-"), let seconds = Int64(name[..<dash]), seconds >= 0 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    private static func stamped(_ now: Date) -> String {
        let random = (0..<16).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
        return "\(Int64(now.timeIntervalSince1970))-\(random)"
    }
}
