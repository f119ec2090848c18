/// Everything one signing computed, so that tests can compare each step with published vectors.
package struct SigningResult: Sendable, Equatable {
    /// The canonical request text (step 1).
    package var canonicalRequest: String
    /// The string to sign: algorithm, timestamp, scope and the hex SHA-256 of the canonical request (step 2).
    package var stringToSign: String
    /// The lowercase hex HMAC-SHA256 of the string to sign under the derived signing key (step 3).
    package var signature: String
    /// The `;`-joined signed header names.
    package var signedHeaders: String
    /// `yyyyMMdd/region/service/aws4_request`.
    package var credentialScope: String
}
