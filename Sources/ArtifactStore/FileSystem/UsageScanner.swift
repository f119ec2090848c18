#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Counts committed blobs and the free space of the volume, walking `blobs/<kind>/<shard>/` without following links.
enum UsageScanner {
    static func scan(root: String) throws -> StorageUsage {
        var bytes: Int64 = 0
        var count = 0
        for kind in BlobKind.allCases {
            let kindFolder = try SystemCall.openFolderChain(root: root, [FileSystemBackend.blobsFolder, kind.rawValue], create: true)
            defer { _ = close(kindFolder) }
            for shard in try SystemCall.names(in: kindFolder) {
                guard let (shardFolder, _) = try? SystemCall.openFolder(shard, in: kindFolder, create: false) else { continue }
                defer { _ = close(shardFolder) }
                for name in try SystemCall.names(in: shardFolder) {
                    var info = stat()
                    guard fstatat(shardFolder, name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFREG
                    else { continue }
                    bytes += Int64(info.st_size)
                    count += 1
                }
            }
        }
        let rootFolder = try SystemCall.openRoot(root)
        defer { _ = close(rootFolder) }
        var volume = statvfs()
        try SystemCall.check("fstatvfs") { fstatvfs(rootFolder, &volume) }
        let free = Int64(volume.f_bavail) * Int64(volume.f_frsize)
        return StorageUsage(backend: "filesystem", bytesUsed: bytes, blobCount: count, freeBytes: free)
    }
}
