public import Identifiers

/// The one error type of the vault.
///
/// `description` (what `"\(error)"` prints, and so what could reach a response or a careless log line) names
/// only the ``Code`` and, for configuration errors, which variable is wrong and how. It never holds key
/// material, base64 text, file paths, certificate names or build ids. `debugDescription`
/// (`String(reflecting: error)`, for logs) adds the build, the underlying error and where the error was
/// raised; it still never holds key material, because no factory is ever handed any.
public struct VaultError: Error, Sendable {
    /// What went wrong, as a domain fact.
    public enum Code: Sendable, Equatable, Hashable {
        /// Neither `VAULT_MASTER_KEY` nor `VAULT_MASTER_KEY_FILE` gives a key (or the file cannot be read).
        case missingMasterKey
        /// A master key or key file is present but unusable: bad base64, wrong length, bad version.
        case malformedMasterKey
        /// A wrapped data key names a master-key version that the key ring does not hold.
        case unknownKeyVersion
        /// A sealed blob or wrapped key fails to parse or to authenticate: tampered, truncated, or
        /// bound to another build.
        case sealedBundleCorrupt
        /// A bundle (or a stored blob) is larger than the configured limit.
        case bundleTooLarge
        /// No sealed blob exists for the build (never sealed, or destroyed).
        case bundleNotFound
        /// OpenSSL failed for a reason other than authentication (allocation, RNG): a server fault.
        case cryptoFailure
        /// The blob storage failed for a reason other than "not found" or "too large".
        case storageFailure
    }

    /// What went wrong.
    public var code: Code
    /// The build concerned, when there is one. Shown only in `debugDescription`.
    public var build: BuildID?
    /// The error that caused this one (a storage error, say). Shown only in `debugDescription`.
    public var underlying: (any Error)?
    /// A human explanation free of secrets, made only from constants, variable names and numbers.
    var safeMessage: String?
    /// Extra context for logs only (a file path, an OpenSSL error string). Never key material.
    var debugDetail: String?
    /// Where the error was raised, for logs.
    public var file: String
    /// Where the error was raised, for logs.
    public var line: Int

    init(
        _ code: Code,
        build: BuildID? = nil,
        underlying: (any Error)? = nil,
        safeMessage: String? = nil,
        debugDetail: String? = nil,
        file: String,
        line: Int
    ) {
        self.code = code
        self.build = build
        self.underlying = underlying
        self.safeMessage = safeMessage
        self.debugDetail = debugDetail
        self.file = file
        self.line = line
    }
}

// MARK: - Factories

extension VaultError {
    /// The build's bundle does not exist. Storage adapters throw this when ``SealedBlobStorage/getSealed(for:maxBytes:)``
    /// finds nothing, so that the vault can tell "absent" from "broken".
    public static func bundleNotFound(
        for build: BuildID?, underlying: (any Error)? = nil, fileID: String = #fileID, line: Int = #line
    ) -> VaultError {
        VaultError(.bundleNotFound, build: build, underlying: underlying, file: fileID, line: line)
    }

    /// A bundle or blob is larger than `limit` bytes. Storage adapters throw this when a stored blob exceeds
    /// the `maxBytes` they were given.
    public static func bundleTooLarge(
        for build: BuildID?, limit: Int, underlying: (any Error)? = nil, fileID: String = #fileID, line: Int = #line
    ) -> VaultError {
        VaultError(
            .bundleTooLarge, build: build, underlying: underlying,
            safeMessage: "the bundle is larger than the limit of \(limit) bytes", file: fileID, line: line
        )
    }

    static func missingMasterKey(_ message: String, debugDetail: String? = nil, fileID: String = #fileID, line: Int = #line)
        -> VaultError
    {
        VaultError(.missingMasterKey, safeMessage: message, debugDetail: debugDetail, file: fileID, line: line)
    }

    static func malformedMasterKey(_ message: String, fileID: String = #fileID, line: Int = #line) -> VaultError {
        VaultError(.malformedMasterKey, safeMessage: message, file: fileID, line: line)
    }

    static func unknownKeyVersion(
        _ version: Int, build: BuildID?, fileID: String = #fileID, line: Int = #line
    ) -> VaultError {
        VaultError(
            .unknownKeyVersion, build: build,
            safeMessage: "master-key version \(version) is not in the key ring", file: fileID, line: line
        )
    }

    static func sealedBundleCorrupt(
        _ reason: String, build: BuildID? = nil, fileID: String = #fileID, line: Int = #line
    ) -> VaultError {
        // The reason is a constant phrase ("authentication failed", "bad magic"); it is logged, not shown,
        // because telling a caller which check failed helps nobody but someone probing the format.
        VaultError(.sealedBundleCorrupt, build: build, debugDetail: reason, file: fileID, line: line)
    }

    static func cryptoFailure(_ operation: String, fileID: String = #fileID, line: Int = #line) -> VaultError {
        VaultError(
            .cryptoFailure, debugDetail: "\(operation): \(OpenSSLErrors.drain())", file: fileID, line: line
        )
    }

    static func storageFailure(
        build: BuildID?, underlying: any Error, fileID: String = #fileID, line: Int = #line
    ) -> VaultError {
        VaultError(.storageFailure, build: build, underlying: underlying, file: fileID, line: line)
    }

    /// The same error with `build` filled in when it was not known where it was raised.
    func with(build: BuildID) -> VaultError {
        var copy = self
        if copy.build == nil { copy.build = build }
        return copy
    }
}

// MARK: - Descriptions

extension VaultError: CustomStringConvertible, CustomDebugStringConvertible {
    /// The code and, for configuration errors, what is wrong: safe for any log line or message.
    public var description: String {
        if let safeMessage { return "VaultError.\(code): \(safeMessage)" }
        return "VaultError.\(code)"
    }

    /// Everything a log needs: build, detail, underlying error and source location. No key material.
    public var debugDescription: String {
        var parts = ["code: \(code)"]
        if let safeMessage { parts.append("message: \(safeMessage)") }
        if let build { parts.append("build: \(build.rawValue)") }
        if let debugDetail { parts.append("detail: \(debugDetail)") }
        if let underlying { parts.append("underlying: \(String(reflecting: underlying))") }
        parts.append("at: \(file):\(line)")
        return "VaultError(\(parts.joined(separator: ", ")))"
    }
}
