import AWSSigV4
import Testing

@Suite("Credentials")
struct AWSCredentialsTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let token = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"

    @Test func keepsTheirParts() {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret")
        #expect(credentials.accessKeyID == "AKID")
        #expect(credentials.secretAccessKey == "secret")
        #expect(credentials.sessionToken == nil)
    }

    @Test(arguments: [nil, Self.token])
    func printing_showsTheKeyIDButNeverTheSecretOrToken(token: String?) {
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Self.secret, sessionToken: token)
        struct Holder { var credentials: AWSCredentials }
        var dumped = ""
        dump(credentials, to: &dumped)
        var dumpedHolder = ""
        dump(Holder(credentials: credentials), to: &dumpedHolder)

        let printed = [
            credentials.description, credentials.debugDescription, "\(credentials)", String(reflecting: credentials),
            String(describing: Holder(credentials: credentials)), String(reflecting: [credentials]), dumped,
            dumpedHolder,
        ]
        for text in printed {
            #expect(text.contains("AKIDEXAMPLE"), "\(text)")
            #expect(!text.contains(Self.secret), "\(text)")
            #expect(!text.contains(Self.token), "\(text)")
            #expect(!text.contains("EXAMPLEKEY"), "\(text)")
        }
    }
}
