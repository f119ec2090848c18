import Foundation
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The three kinds of file the old controller kept, each in its own folder of the storage root.
public enum LegacyFileKind: String, Sendable, Codable {
    case source, certs, result

    /// The old layout's folder: `builds/<id>.zip`, `certs/<id>.zip`, `results/<id>.ipa|.apk`.
    var folder: String {
        switch self {
        case .source: "builds"
        case .certs: "certs"
        case .result: "results"
        }
    }
}

/// Where a path stored in the old database points, given the old storage folder.
///
/// The old controller stored `path.join(storageRoot, folder, file)`: absolute with its default root, relative to
/// its working directory when a relative root was passed, and stale when the operator moved the folder. The
/// candidates are tried in order; only a regular file **inside** the storage folder is ever read, so a stray
/// path in the database cannot make the import copy e.g. `/etc/passwd` into a build's artifacts.
public enum LegacyFileLocator {
    /// The paths to try, best first: the stored path (absolute, or relative to the storage folder), then the
    /// file's name in its kind's folder of the storage folder.
    public static func candidates(for stored: String, kind: LegacyFileKind, storageRoot: String) -> [String] {
        guard !stored.isEmpty, !stored.utf8.contains(0) else { return [] }
        var found: [String] = []
        if stored.hasPrefix("/") {
            found.append(stored)
        } else {
            found.append(storageRoot + "/" + stored)
        }
        let name = stored.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? ""
        if !name.isEmpty, name != ".", name != ".." {
            found.append(storageRoot + "/" + kind.folder + "/" + name)
        }
        var seen = Set<String>()
        return found.filter { seen.insert($0).inserted }
    }

    /// A file that was found: its real path and size.
    public struct Located: Sendable, Equatable {
        public let path: String
        public let size: Int64
    }

    /// The first candidate that is a regular file inside `storageRoot` (symbolic links resolved), or `nil`.
    /// Blocking (`realpath`, `stat`): runs on `threadPool`.
    static func locate(
        _ stored: String, kind: LegacyFileKind, storageRoot: String, threadPool: NIOThreadPool
    ) async throws -> Located? {
        try await threadPool.runIfActive {
            guard let root = realPath(storageRoot) else { return nil }
            for candidate in candidates(for: stored, kind: kind, storageRoot: storageRoot) {
                // Byte-wise: String's hasPrefix compares grapheme clusters, and a combining character after the
                // separator would make a path inside the folder look outside it (or the other way round).
                let inside = root.hasSuffix("/") ? root : root + "/"
                guard let real = realPath(candidate), real.utf8.starts(with: inside.utf8) else { continue }
                var info = stat()
                guard stat(real, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                return Located(path: real, size: Int64(info.st_size))
            }
            return nil
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
