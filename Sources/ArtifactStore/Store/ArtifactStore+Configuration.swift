import NIOPosix

extension ArtifactStore {
    /// Where and how the store keeps its bytes.
    public struct Configuration: Sendable {
        /// Defaults to 1 MiB: big enough that a 1 GiB upload costs ~1,000 thread hops, small enough per upload.
        public static let defaultWriteBatchSize = 1 << 20
        /// Defaults to 512 KiB per read, yielded as 64 KiB buffers.
        public static let defaultReadBatchSize = 512 << 10

        /// The folder that holds everything (created if missing). It may be a symlink; nothing below it may.
        public var root: String
        /// Where blocking file I/O and archive inspection run. Defaults to `NIOThreadPool.singleton`; size it with
        /// `NIOSingletons.blockingPoolThreadCountSuggestion`, as inspection of a large upload keeps a thread busy.
        public var threadPool: NIOThreadPool
        /// Bytes gathered before a write to disk. Defaults to ``defaultWriteBatchSize``.
        public var writeBatchSize: Int
        /// Bytes read from disk per hop when streaming a blob. Defaults to ``defaultReadBatchSize``.
        public var readBatchSize: Int

        /// A store below `root`, with the documented defaults.
        public init(root: String) {
            self.root = root
            self.threadPool = .singleton
            self.writeBatchSize = Self.defaultWriteBatchSize
            self.readBatchSize = Self.defaultReadBatchSize
        }
    }
}
