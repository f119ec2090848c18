/// Access key, secret and optional session token, as AWS tools read them.
///
/// Printing credentials (`description`, `debugDescription`, `dump`) shows only the access key id:
/// the secret and the session token are redacted so that they never reach a log line.
public struct AWSCredentials: Sendable, Equatable {
    /// The access key id (not secret; it names the key).
    public var accessKeyID: String
    /// The secret access key. Never printed.
    public var secretAccessKey: String
    /// The session token of temporary credentials, sent as `x-amz-security-token`. Never printed.
    public var sessionToken: String?

    /// Credentials from their parts.
    ///
    /// - Parameters:
    ///   - accessKeyID: The access key id, e.g. `AKIDEXAMPLE`.
    ///   - secretAccessKey: The secret access key that derives the signing key.
    ///   - sessionToken: The session token of temporary (STS) credentials, or `nil` for long-term keys.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

extension AWSCredentials: CustomStringConvertible {
    /// The access key id and whether there is a session token; never the secret or the token.
    public var description: String {
        let token = self.sessionToken == nil ? "none" : "<redacted>"
        return "AWSCredentials(accessKeyID: \(self.accessKeyID), secretAccessKey: <redacted>, sessionToken: \(token))"
    }
}

extension AWSCredentials: CustomDebugStringConvertible {
    /// The same as ``description``: logs use `String(reflecting:)`, so this must stay redacted too.
    public var debugDescription: String { self.description }
}

extension AWSCredentials: CustomReflectable {
    /// A mirror without the secret, so that `dump` and reflection-based printers cannot show it either.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyID": self.accessKeyID,
                "secretAccessKey": "<redacted>",
                "sessionToken": self.sessionToken == nil ? "none" : "<redacted>",
            ],
            displayStyle: .struct
        )
    }
}
