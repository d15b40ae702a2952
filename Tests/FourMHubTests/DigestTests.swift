import Foundation
import FourMTensor
import Testing

@testable import FourMHub

@Suite struct DigestTests {
    static func sha256Hex(_ text: String) -> String {
        var digest = SHA256Digest()
        digest.update(Array(text.utf8))
        return hexString(digest.finalize())
    }

    /// FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values").
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256MatchesFIPSVectors(message: String, expected: String) {
        #expect(Self.sha256Hex(message) == expected)
    }

    @Test(arguments: [
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
    ])
    func sha1MatchesFIPSVectors(message: String, expected: String) {
        var digest = SHA1Digest()
        digest.update(Array(message.utf8))
        #expect(hexString(digest.finalize()) == expected)
    }

    /// `git hash-object` of "hello\n" is ce0136…; BlobCheck hashes `blob <size>\0` + bytes.
    @Test func gitBlobIDOfAFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("blob-\(UUID()).txt")
        try Data("hello\n".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let check = BlobCheck(etag: "ce013625030ba8dba906f756967f9e9ca394464a")
        #expect(check == .gitBlob("ce013625030ba8dba906f756967f9e9ca394464a"))
        #expect(try check.digest(of: url) == "ce013625030ba8dba906f756967f9e9ca394464a")
    }

    /// Feeding in pieces of odd sizes (crossing the 64-byte blocks) equals the one-shot hash,
    /// which equals Python's `hashlib.sha256` of the same bytes.
    @Test(arguments: [1, 7, 63, 64, 65, 1000])
    func piecesEqualOneShot(piece: Int) {
        let message = (0..<3001).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
        var digest = SHA256Digest()
        var offset = 0
        while offset < message.count {
            digest.update(Array(message[offset..<min(offset + piece, message.count)]))
            offset += piece
        }
        let pieces = digest.finalize()
        #expect(pieces == sha256(message))
        #expect(hexString(pieces) == "f605d1a0674ff3b5856a2cbc9f0e96710828aea36641707a6e3da7146658c8ee")
    }

    @Test func classifiesEtags() {
        #expect(BlobCheck(etag: String(repeating: "a", count: 64)) == .sha256(String(repeating: "a", count: 64)))
        #expect(BlobCheck(etag: String(repeating: "0", count: 40)) == .gitBlob(String(repeating: "0", count: 40)))
        #expect(BlobCheck(etag: "xyz-123") == .sizeOnly)
        #expect(BlobCheck(etag: String(repeating: "A", count: 64)) == .sizeOnly)
    }
}
