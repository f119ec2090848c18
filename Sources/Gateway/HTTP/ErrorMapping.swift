import ArtifactStore
import CertVault
public import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Orchestrator

/// The one place where every module's errors become an HTTP status and a client-safe message.
///
/// Each module's `Code` gets one exhaustive switch, so a new code does not compile until someone decides
/// what a client sees for it. Anything unknown is a 500 whose details go to the log, never to the client.
public enum ErrorMapping {
    /// The status and the `{"error"}` message for `error`; `isUnexpected` marks what must be logged as a bug.
    public static func response(for error: any Error) -> (status: HTTPResponse.Status, message: String, isUnexpected: Bool) {
        switch error {
        case let error as GatewayError:
            return (status(of: error.code), error.message, false)
        case let error as OrchestratorError:
            return map(error)
        case let error as ArtifactStoreError:
            return map(error)
        case let error as VaultError:
            return map(error)
        case let error as AbuseLimitError:
            return (.tooManyRequests, error.message, false)
        case is HTTPParserError:
            // Broken framing, or a client that hung up mid-body: nothing of ours failed.
            return (.badRequest, "Malformed HTTP request", false)
        case is NIOTooManyBytesError:
            return (.contentTooLarge, "Request body too large", false)
        case let error as HTTPError:
            if error.status == .notFound { return (.notFound, "Not found", false) }
            if error.status == .methodNotAllowed { return (.methodNotAllowed, "Method not allowed", false) }
            return (error.status, error.status.reasonPhrase, error.status.code >= 500)
        default:
            if DatabaseErrorSummary.isUnavailable(error) { return (.serviceUnavailable, "Database unavailable", false) }
            if DatabaseErrorSummary.isRejectedText(error) { return (.badRequest, "Text may not contain NUL characters", false) }
            return (.internalServerError, "Internal server error", true)
        }
    }

    static func status(of code: GatewayError.Code) -> HTTPResponse.Status {
        switch code {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .rangeNotSatisfiable: .rangeNotSatisfiable
        case .unavailable: .serviceUnavailable
        }
    }

    static func map(_ error: OrchestratorError) -> (HTTPResponse.Status, String, Bool) {
        switch error.code {
        case .buildNotFound: (.notFound, "Build not found", false)
        case .workerNotFound: (.notFound, "Worker not found", false)
        case .staleAttempt: (.conflict, "Build was re-queued; this attempt is no longer current", false)
        case .buildCancelled: (.conflict, "Build was cancelled", false)
        case .buildFinished: (.conflict, "Build already finished", false)
        case .notHolder: (.forbidden, "Not assigned to this build", false)
        case .notActive: (.conflict, "Build is not in progress", false)
        case .invalidCursor: (.badRequest, "Invalid cursor", false)
        case .invalidConfiguration, .migrationFailed: (.internalServerError, "Internal server error", true)
        }
    }

    static func map(_ error: ArtifactStoreError) -> (HTTPResponse.Status, String, Bool) {
        switch error.code {
        case .tooLarge:
            switch error.key?.kind {
            case .source: (.contentTooLarge, "Source file too large", false)
            case .certs: (.contentTooLarge, "Certs file too large", false)
            case .result, nil: (.contentTooLarge, "Result file too large", false)
            }
        case .notFound: (.notFound, "File not found", false)
        case .checksumMismatch: (.badRequest, "Checksum mismatch: the file changed in transit", false)
        case .archiveRejected: (.badRequest, error.reason ?? "Archive rejected", false)
        case .storageUnavailable: (.serviceUnavailable, "Storage unavailable", false)
        case .ioFailure: (.serviceUnavailable, "Storage unavailable", true)
        case .invalidRange: (.rangeNotSatisfiable, "Requested range not satisfiable", false)
        }
    }

    static func map(_ error: VaultError) -> (HTTPResponse.Status, String, Bool) {
        switch error.code {
        case .bundleNotFound: (.notFound, "Certs not found", false)
        case .bundleTooLarge: (.contentTooLarge, "Certs file too large", false)
        case .sealedBundleCorrupt: (.internalServerError, "Certs could not be opened", true)
        case .missingMasterKey, .malformedMasterKey, .unknownKeyVersion, .cryptoFailure, .storageFailure:
            (.internalServerError, "Internal server error", true)
        }
    }
}
