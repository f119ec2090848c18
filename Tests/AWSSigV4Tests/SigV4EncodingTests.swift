import AWSSigV4
import Testing

@Suite("SigV4Encoding")
struct SigV4EncodingTests {
    @Test func encode_keepsOnlyUnreservedCharacters() {
        let unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
        #expect(SigV4Encoding.encode(unreserved, encodeSlash: true) == unreserved)
        #expect(SigV4Encoding.encode("", encodeSlash: true) == "")
        // Everything URLComponents or form encoding would leave alone or turn into "+" is encoded here.
        #expect(
            SigV4Encoding.encode(" +*=&?#%:@!$'(),;[]", encodeSlash: true)
                == "%20%2B%2A%3D%26%3F%23%25%3A%40%21%24%27%28%29%2C%3B%5B%5D"
        )
    }

    @Test func encode_slashOnlyWhenAsked() {
        #expect(SigV4Encoding.encode("a/b c/", encodeSlash: false) == "a/b%20c/")
        #expect(SigV4Encoding.encode("a/b c/", encodeSlash: true) == "a%2Fb%20c%2F")
    }

    @Test func encode_usesUTF8AndUppercaseHex() {
        #expect(SigV4Encoding.encode("ü", encodeSlash: true) == "%C3%BC")
        #expect(SigV4Encoding.encode("ሴ", encodeSlash: true) == "%E1%88%B4")
        #expect(SigV4Encoding.encode("🚀", encodeSlash: true) == "%F0%9F%9A%80")
        // A decomposed é stays two scalars: the key's bytes are signed, not a normalised form of them.
        #expect(SigV4Encoding.encode("e\u{301}", encodeSlash: true) == "e%CC%81")
        #expect(SigV4Encoding.encode("\u{7f}\n", encodeSlash: true) == "%7F%0A")
    }

    @Test func encode_twiceEncodesThePercentSign() {
        let once = SigV4Encoding.encode("a b", encodeSlash: false)
        #expect(SigV4Encoding.encode(once, encodeSlash: false) == "a%2520b")
    }

    @Test func canonicalQuery_sortsByEncodedNameThenValue() {
        let query = SigV4Encoding.canonicalQuery([
            ("prefix", "b"), ("Prefix", "z"), ("prefix", "a"), ("list-type", "2"), ("ü", "1"), ("_", "x"),
        ])
        // Byte order of the encoded forms: "%" < digits < uppercase < "_" < lowercase.
        #expect(query == "%C3%BC=1&Prefix=z&_=x&list-type=2&prefix=a&prefix=b")
    }

    @Test func canonicalQuery_encodesNamesAndValuesCompletely() {
        let query = SigV4Encoding.canonicalQuery([
            ("response-content-disposition", "attachment; filename=\"a b.txt\""), ("token", "x+y/z=="),
        ])
        #expect(
            query == "response-content-disposition=attachment%3B%20filename%3D%22a%20b.txt%22&token=x%2By%2Fz%3D%3D"
        )
    }

    @Test func canonicalQuery_writesEmptyValuesAsNameEquals() {
        #expect(SigV4Encoding.canonicalQuery([("uploads", "")]) == "uploads=")
        #expect(SigV4Encoding.canonicalQuery([("uploadId", "7"), ("", "")]) == "=&uploadId=7")
        #expect(SigV4Encoding.canonicalQuery([]) == "")
    }
}
