import Identifiers
import Testing

@Suite struct IdentifierTests {
    @Test func buildID_random_isTwentyOneURLSafeCharacters() {
        let id = BuildID.random()
        #expect(id.rawValue.count == 21)
        #expect(BuildID(id.rawValue) == id)
        #expect(BuildID.random() != id)
    }

    @Test(arguments: ["", "../etc", "a/b", "a.b", "a\u{0}b", "%2e%2e", String(repeating: "a", count: 65), "ä", "a b"])
    func buildID_rejectsHostileText(_ text: String) {
        #expect(BuildID(text) == nil)
        #expect(WorkerID(text) == nil)
    }

    @Test(arguments: ["", "a/b", "../x", "a\u{0}", "a=b", String(repeating: "a", count: 129)])
    func secretToken_rejectsMalformedPresentation(_ text: String) {
        #expect(SecretToken(presented: text) == nil)
    }

    @Test func buildID_ordersBytewise() {
        #expect(BuildID("B")! < BuildID("a")!)
        #expect(BuildID("Z_")! < BuildID("Za")!)
    }

    @Test func secretToken_isFortyThreeCharacters_andHashesStably() {
        let token = SecretToken.generate()
        #expect(token.reveal.count == 43)
        let presented = SecretToken(presented: token.reveal)!
        #expect(presented.digest == token.digest)
        #expect(presented.digest.constantTimeEquals(token.digest))
        #expect(!SecretToken.generate().digest.constantTimeEquals(token.digest))
        #expect(!"\(token)".contains(token.reveal))
    }

    @Test func base64url_matchesRFC4648Vectors() {
        #expect(Base64URL.encode([]) == "")
        #expect(Base64URL.encode(Array("f".utf8)) == "Zg")
        #expect(Base64URL.encode(Array("fo".utf8)) == "Zm8")
        #expect(Base64URL.encode(Array("foo".utf8)) == "Zm9v")
        #expect(Base64URL.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
    }

    @Test func constantTime_equals() {
        #expect(ConstantTime.equals("abc", "abc"))
        #expect(!ConstantTime.equals("abc", "abd"))
        #expect(!ConstantTime.equals("abc", "abcd"))
        #expect(!ConstantTime.equals("", "a"))
    }
}
