import Crypto
import Testing

@testable import CertVault

/// The OpenSSL wrapper against the published answers and against an independent implementation.
@Suite struct AES256GCMTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var key: String
        var nonce: String
        var plaintext: String
        var aad: String
        var ciphertext: String
        var tag: String
        var testDescription: String { name }
    }

    static let key0 = String(repeating: "0", count: 64)
    static let key1 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
    static let plaintext64 =
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
    static let plaintext60 = String(plaintext64.dropLast(8))
    static let aad20 = "feedfacedeadbeeffeedfacedeadbeefabaddad2"

    /// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13–18 (the 256-bit-key cases),
    /// as republished by NIST with the GCM specification.
    static let vectors: [Vector] = [
        Vector(
            name: "TC13 empty plaintext, no AAD", key: key0, nonce: String(repeating: "0", count: 24),
            plaintext: "", aad: "", ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"
        ),
        Vector(
            name: "TC14 one zero block, no AAD", key: key0, nonce: String(repeating: "0", count: 24),
            plaintext: String(repeating: "0", count: 32), aad: "",
            ciphertext: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"
        ),
        Vector(
            name: "TC15 four blocks, no AAD", key: key1, nonce: "cafebabefacedbaddecaf888",
            plaintext: plaintext64, aad: "",
            ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
            tag: "b094dac5d93471bdec1a502270e3cc6c"
        ),
        Vector(
            name: "TC16 partial block, with AAD", key: key1, nonce: "cafebabefacedbaddecaf888",
            plaintext: plaintext60, aad: aad20,
            ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            tag: "76fc6ece0f4e1768cddf8853bb2d551b"
        ),
        Vector(
            name: "TC17 64-bit nonce, with AAD", key: key1, nonce: "cafebabefacedbad",
            plaintext: plaintext60, aad: aad20,
            ciphertext: "c3762df1ca787d32ae47c13bf19844cbaf1ae14d0b976afac52ff7d79bba9de0"
                + "feb582d33934a4f0954cc2363bc73f7862ac430e64abe499f47c9b1f",
            tag: "3a337dbf46a792c45e454913fe2ea8f2"
        ),
        Vector(
            name: "TC18 480-bit nonce, with AAD", key: key1,
            nonce: "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728"
                + "c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b",
            plaintext: plaintext60, aad: aad20,
            ciphertext: "5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf4"
                + "0fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f",
            tag: "a44a8266ee1c8eb0c8b5d4cf5ae9f19a"
        ),
    ]

    @Test(arguments: vectors)
    func seal_nistVector_producesPublishedCiphertextAndTag(_ vector: Vector) throws {
        let sealed = try AES256GCM.seal(
            hex(vector.plaintext), key: hex(vector.key), nonce: hex(vector.nonce), aad: hex(vector.aad)
        )
        #expect(sealed == hex(vector.ciphertext) + hex(vector.tag))
    }

    @Test(arguments: vectors)
    func open_nistVector_recoversPlaintext(_ vector: Vector) throws {
        let opened = try AES256GCM.open(
            hex(vector.ciphertext) + hex(vector.tag), key: hex(vector.key), nonce: hex(vector.nonce), aad: hex(vector.aad)
        )
        #expect(opened == hex(vector.plaintext))
    }

    @Test(arguments: vectors)
    func open_nistVectorWithAnyBitFlipped_failsAsCorrupt(_ vector: Vector) throws {
        let sealed = hex(vector.ciphertext) + hex(vector.tag)
        for bit in 0..<(sealed.count * 8) {
            var tampered = sealed
            tampered[bit / 8] ^= 1 << UInt8(bit % 8)
            let error = vaultError {
                try AES256GCM.open(tampered, key: hex(vector.key), nonce: hex(vector.nonce), aad: hex(vector.aad))
            }
            #expect(error?.code == .sealedBundleCorrupt, "bit \(bit)")
        }
    }

    @Test func open_shorterThanTag_failsAsCorrupt() {
        let error = vaultError { try AES256GCM.open([1, 2, 3], key: randomBytes(32), nonce: randomBytes(12), aad: []) }
        #expect(error?.code == .sealedBundleCorrupt)
    }

    @Test func seal_wrongKeyLength_failsAsCryptoFailure() {
        for length in [0, 16, 31, 33, 64] {
            let error = vaultError { try AES256GCM.seal([1], key: randomBytes(length), nonce: randomBytes(12), aad: []) }
            #expect(error?.code == .cryptoFailure, "key of \(length) bytes")
        }
    }

    @Test(arguments: [0, 1, 15, 16, 17, 1000, 65_537])
    func seal_randomInput_isOpenedBySwiftCrypto(length: Int) throws {
        let key = randomBytes(32)
        let nonce = randomBytes(12)
        let aad = randomBytes(length % 40)
        let plaintext = randomBytes(length)
        let sealed = try AES256GCM.seal(plaintext, key: key, nonce: nonce, aad: aad)
        let box = try AES.GCM.SealedBox(
            nonce: AES.GCM.Nonce(data: nonce), ciphertext: sealed.dropLast(16), tag: sealed.suffix(16)
        )
        let opened = try AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: aad)
        #expect(Array(opened) == plaintext)
    }

    @Test(arguments: [0, 1, 15, 16, 17, 1000, 65_537])
    func open_swiftCryptoOutput_recoversPlaintext(length: Int) throws {
        let key = randomBytes(32)
        let nonce = randomBytes(12)
        let aad = randomBytes(length % 40)
        let plaintext = randomBytes(length)
        let box = try AES.GCM.seal(
            plaintext, using: SymmetricKey(data: key), nonce: AES.GCM.Nonce(data: nonce), authenticating: aad
        )
        let opened = try AES256GCM.open(Array(box.ciphertext) + Array(box.tag), key: key, nonce: nonce, aad: aad)
        #expect(opened == plaintext)
    }

    @Test func open_swiftCryptoOutputWithOtherAAD_failsAsCorrupt() throws {
        let key = randomBytes(32)
        let nonce = randomBytes(12)
        let box = try AES.GCM.seal(
            randomBytes(100), using: SymmetricKey(data: key), nonce: AES.GCM.Nonce(data: nonce), authenticating: [1, 2]
        )
        let error = vaultError {
            try AES256GCM.open(Array(box.ciphertext) + Array(box.tag), key: key, nonce: nonce, aad: [1, 3])
        }
        #expect(error?.code == .sealedBundleCorrupt)
    }

    @Test func secureRandom_returnsDistinctFullLengthOutputs() throws {
        let first = try SecureRandom.bytes(32)
        let second = try SecureRandom.bytes(32)
        #expect(first.count == 32)
        #expect(first != second)
        #expect(first != [UInt8](repeating: 0, count: 32))
    }
}
