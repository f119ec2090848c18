public import Foundation

/// A build to insert: its blobs are already in the store and its certs (if any) sealed.
public struct NewBuild: Sendable {
    public var id: String
    public var platform: String
    public var accessTokenDigest: [UInt8]
    public var sourceSize: Int64
    public var sourceSHA256: String
    public var sealedCerts: SealedCertsReference?
    /// Set for a retry: the build this one repeats.
    public var originalBuildID: String?

    public init(
        id: String, platform: String, accessTokenDigest: [UInt8], sourceSize: Int64, sourceSHA256: String,
        sealedCerts: SealedCertsReference?, originalBuildID: String? = nil
    ) {
        self.id = id
        self.platform = platform
        self.accessTokenDigest = accessTokenDigest
        self.sourceSize = sourceSize
        self.sourceSHA256 = sourceSHA256
        self.sealedCerts = sealedCerts
        self.originalBuildID = originalBuildID
    }
}

/// Where a build's sealed cert bundle can be opened: the wrapped data key and the master-key version that wraps it.
public struct SealedCertsReference: Sendable, Equatable {
    public var wrappedKey: [UInt8]
    public var keyVersion: Int
    public init(wrappedKey: [UInt8], keyVersion: Int) {
        self.wrappedKey = wrappedKey
        self.keyVersion = keyVersion
    }
}

/// Filters and paging of the build list.
public struct BuildListQuery: Sendable {
    public var statuses: [BuildStatus]?
    public var platform: String?
    public var workerID: String?
    public var limit: Int = 100
    public var before: String?
    public init() {}
}

/// A worker's poll, after the Gateway has authenticated it.
public struct PollRequest: Sendable {
    public var workerID: String
    /// The worker's declared platforms when matching is strict; `nil` takes any platform.
    public var platforms: [String]?
    /// Older generations can only build iOS with certs (their VM stops when `certs-secure` answers 404).
    public var onlyIOSWithCerts: Bool
    /// The digest of the fresh one-time password handed out with the job.
    public var otpDigest: [UInt8]

    public init(workerID: String, platforms: [String]?, onlyIOSWithCerts: Bool, otpDigest: [UInt8]) {
        self.workerID = workerID
        self.platforms = platforms
        self.onlyIOSWithCerts = onlyIOSWithCerts
        self.otpDigest = otpDigest
    }
}

/// A worker's registration.
public struct Registration: Sendable {
    public var proposedID: String?
    public var name: String
    public var capabilitiesJSON: String
    public var activeBuildCount: Int?
    public var tokenDigest: [UInt8]

    public init(proposedID: String?, name: String, capabilitiesJSON: String, activeBuildCount: Int?, tokenDigest: [UInt8]) {
        self.proposedID = proposedID
        self.name = name
        self.capabilitiesJSON = capabilitiesJSON
        self.activeBuildCount = activeBuildCount
        self.tokenDigest = tokenDigest
    }
}

/// The outcome of a registration.
public struct RegistrationResult: Sendable {
    public let workerID: String
    public let isNew: Bool
    public let buildsRequeued: Int
}

/// A worker token, as found by its digest.
public struct WorkerTokenLookup: Sendable {
    public let workerID: String
    public let expiresAt: Date
    public let isExpired: Bool
    public let isRevoked: Bool
}

/// A VM or heartbeat token, as found by its digest.
public struct VMTokenLookup: Sendable {
    public enum Kind: String, Sendable { case vm, heartbeat }
    public let buildID: String
    public let attempt: Int
    public let kind: Kind
    public let isExpired: Bool
}

/// How a worker relates to a build, decided before anything changes.
public enum HolderCheck: Sendable, Equatable {
    /// The worker holds (or last held) the build's current attempt.
    case current(attempt: Int)
    /// The worker held an earlier attempt only.
    case earlierAttempt
    /// The worker never held the build.
    case never
}

/// The result a worker or VM reports.
public struct ResultFile: Sendable {
    public var size: Int64
    public var sha256: String
    public init(size: Int64, sha256: String) {
        self.size = size
        self.sha256 = sha256
    }
}
