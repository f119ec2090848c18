/// What a blob is for. Each kind has its own folder, so a key of one kind can never name a blob of another.
public enum BlobKind: String, Sendable, CaseIterable {
    /// A build's source ZIP, as uploaded by the submitter.
    case source
    /// A build's sealed certificate bundle, written by the vault.
    case certs
    /// A build's result (`.ipa` / `.apk`), as uploaded by the worker.
    case result
}
