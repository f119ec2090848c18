import CLibArchive

/// A source of archive bytes for libarchive's read callbacks. Subclasses are passed to C as unretained pointers;
/// the ``LibArchiveReader`` that uses one keeps it alive.
class ArchiveInput {
    /// Whether libarchive may seek (ZIP's central directory needs it; nested streams cannot).
    var isSeekable: Bool { false }

    /// Hands libarchive the next bytes: their count, 0 at the end, -1 on failure.
    func next(_ buffer: inout UnsafeRawPointer?) -> Int { -1 }

    /// Moves to `offset` relative to `whence`; returns the new position or -1.
    func seek(to offset: Int64, whence: Int32) -> Int64 { -1 }
}

/// The staged upload (or an in-memory archive), read by position in 64 KiB blocks.
final class StagedInput: ArchiveInput {
    static let blockSize = 64 * 1024

    let reader: any StagedBlobReader
    private var position: Int64 = 0
    private let block = UnsafeMutableRawBufferPointer.allocate(byteCount: StagedInput.blockSize, alignment: 16)
    /// The I/O error behind a failed read, for logs.
    private(set) var failure: (any Error)?

    init(reader: any StagedBlobReader) { self.reader = reader }

    deinit { block.deallocate() }

    override var isSeekable: Bool { true }

    override func next(_ buffer: inout UnsafeRawPointer?) -> Int {
        do {
            let count = try reader.read(into: block, at: position)
            position += Int64(count)
            buffer = UnsafeRawPointer(block.baseAddress)
            return count
        } catch {
            failure = error
            return -1
        }
    }

    override func seek(to offset: Int64, whence: Int32) -> Int64 {
        let base: Int64
        switch whence {
        case SEEK_SET: base = 0
        case SEEK_CUR: base = position
        case SEEK_END: base = reader.size
        default: return -1
        }
        let target = base + offset
        guard target >= 0 else { return -1 }
        position = target
        return target
    }
}

/// An entry of a parent archive read as an archive of its own: first the bytes already read to recognise it, then
/// the rest pulled from the parent with `archive_read_data`, counted in the shared budget as they are decompressed.
final class NestedEntryInput: ArchiveInput {
    private let parent: OpaquePointer
    private let budget: ArchiveBudget
    /// A copy of the recognised head, owned here so that its address stays valid while libarchive reads it.
    private let head: UnsafeMutableRawBufferPointer
    private var headServed = false
    private let block = UnsafeMutableRawBufferPointer.allocate(byteCount: StagedInput.blockSize, alignment: 16)
    /// Sees every byte of the entry once (``ArchiveReader`` keeps top-level entries).
    private let observe: ((UnsafeRawBufferPointer) -> Void)?
    /// The parent failed to decompress the entry: the *parent* is damaged, which is not tolerated.
    private(set) var parentFailed = false
    private(set) var reachedEnd = false

    init(
        parent: OpaquePointer, head: [UInt8], parentEnded: Bool, budget: ArchiveBudget,
        observe: ((UnsafeRawBufferPointer) -> Void)?
    ) {
        self.parent = parent
        self.reachedEnd = parentEnded
        self.head = UnsafeMutableRawBufferPointer.allocate(byteCount: head.count, alignment: 16)
        self.head.copyBytes(from: head)
        self.budget = budget
        self.observe = observe
    }

    deinit {
        block.deallocate()
        head.deallocate()
    }

    override func next(_ buffer: inout UnsafeRawPointer?) -> Int {
        if !headServed {
            headServed = true
            if head.count > 0 {
                buffer = UnsafeRawPointer(head.baseAddress)
                return head.count
            }
        }
        return pull(into: &buffer)
    }

    /// Reads the rest of the entry from the parent after the nested archive ended or was given up on.
    func drain() throws {
        var ignored: UnsafeRawPointer?
        while !reachedEnd {
            if pull(into: &ignored) < 0 { break }
        }
        if let violation = budget.violation { throw violation }
        if parentFailed { throw ArchiveRejection.damaged }
    }

    private func pull(into buffer: inout UnsafeRawPointer?) -> Int {
        guard !reachedEnd, !parentFailed else { return reachedEnd ? 0 : -1 }
        let count = archive_read_data(parent, block.baseAddress, block.count)
        guard count >= 0 else {
            parentFailed = true
            return -1
        }
        if count == 0 {
            reachedEnd = true
            return 0
        }
        do {
            try budget.count(bytes: count)
        } catch {
            return -1
        }
        let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(block)[..<count])
        observe?(bytes)
        buffer = UnsafeRawPointer(block.baseAddress)
        return count
    }
}
