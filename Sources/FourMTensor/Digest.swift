import Foundation

// Streaming SHA-256 and SHA-1 (FIPS 180-4): the modality ids of spec/model.md 2 (SHA-256 of
// the domain name) and FourMHub's checks of downloads against the Hub's hashes. Written here
// rather than taken from swift-crypto: the two hashes are ~150 lines, and swift-crypto would
// make every app that links FourM build BoringSSL. The test vectors of FIPS 180-4 (and git's
// blob ids) are in FourMHubTests' DigestTests.

/// A hash fed in pieces: `update` any number of times, then `finalize` once.
package protocol StreamingDigest {
    init()
    mutating func update(_ bytes: UnsafeRawBufferPointer)
    mutating func finalize() -> [UInt8]
}

extension StreamingDigest {
    /// Feeds a byte array.
    package mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }
    /// Feeds `Data`.
    package mutating func update(_ data: Data) { data.withUnsafeBytes { update($0) } }
}

/// Lower-case hexadecimal spelling of a digest.
package func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// A Merkle–Damgård hash over 64-byte blocks: the state words, the pending bytes and the
/// compression function are all a concrete hash provides; `update` and `finalize` are shared.
protocol BlockDigest: StreamingDigest {
    var state: [UInt32] { get set }
    var buffer: BlockBuffer { get set }
    /// Compresses whole 64-byte blocks (`blocks.count` is a multiple of 64).
    mutating func compress(_ blocks: UnsafeRawBufferPointer)
}

extension BlockDigest {
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var buffer = self.buffer
        buffer.feed(bytes) { compress($0) }
        self.buffer = buffer
    }

    package mutating func finalize() -> [UInt8] {
        var buffer = self.buffer
        buffer.pad { compress($0) }
        self.buffer = buffer
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32($0))) } }
    }
}

/// SHA-256 of a whole byte string (the modality ids of spec/model.md 2).
package func sha256(_ message: [UInt8]) -> [UInt8] {
    var digest = SHA256Digest()
    digest.update(message)
    return digest.finalize()
}

/// Shared block buffering of the Merkle–Damgård hashes (64-byte blocks, big-endian length).
struct BlockBuffer {
    var pending = [UInt8](repeating: 0, count: 64)
    var pendingCount = 0
    var totalBytes: UInt64 = 0

    /// Feeds bytes, calling `compress` with runs of whole 64-byte blocks.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ compress: (UnsafeRawBufferPointer) -> Void) {
        totalBytes &+= UInt64(bytes.count)
        var offset = 0
        if pendingCount > 0 {
            let take = min(64 - pendingCount, bytes.count)
            for i in 0..<take { pending[pendingCount + i] = bytes[i] }
            pendingCount += take
            offset = take
            if pendingCount == 64 {
                pending.withUnsafeBytes { compress($0) }
                pendingCount = 0
            }
        }
        let whole = (bytes.count - offset) / 64 * 64
        if whole > 0 {
            compress(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + whole)]))
            offset += whole
        }
        for i in offset..<bytes.count {
            pending[pendingCount] = bytes[i]
            pendingCount += 1
        }
    }

    /// Appends the padding and the bit length, compressing the last one or two blocks.
    mutating func pad(_ compress: (UnsafeRawBufferPointer) -> Void) {
        let bitLength = totalBytes &* 8
        var tail: [UInt8] = [0x80]
        while (pendingCount + tail.count) % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) }
        let saved = totalBytes
        tail.withUnsafeBytes { feed($0, compress) }
        totalBytes = saved
    }
}

@inline(__always) func loadBigEndian(_ blocks: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
    UInt32(bigEndian: blocks.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
}

@inline(__always) func rotateRight(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

/// SHA-256, the hash the Hub gives for LFS files (`X-Linked-Etag`, `lfs.sha256`).
package struct SHA256Digest: BlockDigest {
    static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
    var state: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    var buffer = BlockBuffer()

    package init() {}

    /// Compresses whole 64-byte blocks (`blocks.count` is a multiple of 64). The hot loop keeps
    /// the state in locals and the schedule in a stack buffer (about 3× faster than arrays).
    mutating func compress(_ blocks: UnsafeRawBufferPointer) {
        var (h0, h1, h2, h3, h4, h5, h6, h7) = (state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7])
        Self.k.withUnsafeBufferPointer { k in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                for base in stride(from: 0, to: blocks.count, by: 64) {
                    for i in 0..<16 { w[i] = loadBigEndian(blocks, base + 4 * i) }
                    for i in 16..<64 {
                        let s0 = rotateRight(w[i - 15], 7) ^ rotateRight(w[i - 15], 18) ^ (w[i - 15] >> 3)
                        let s1 = rotateRight(w[i - 2], 17) ^ rotateRight(w[i - 2], 19) ^ (w[i - 2] >> 10)
                        w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
                    }
                    var (a, b, c, d, e, f, g, h) = (h0, h1, h2, h3, h4, h5, h6, h7)
                    for i in 0..<64 {
                        let s1 = rotateRight(e, 6) ^ rotateRight(e, 11) ^ rotateRight(e, 25)
                        let choice = (e & f) ^ (~e & g)
                        let t1 = h &+ s1 &+ choice &+ k[i] &+ w[i]
                        let s0 = rotateRight(a, 2) ^ rotateRight(a, 13) ^ rotateRight(a, 22)
                        let majority = (a & b) ^ (a & c) ^ (b & c)
                        (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ s0 &+ majority)
                    }
                    h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d; h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
                }
            }
        }
        state = [h0, h1, h2, h3, h4, h5, h6, h7]
    }
}

/// SHA-1, used only for git blob ids (`ETag` of files stored in git rather than LFS):
/// `sha1("blob <size>\0" + bytes)`. Not for security, only to catch corruption.
package struct SHA1Digest: BlockDigest {
    var state: [UInt32] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    var buffer = BlockBuffer()

    package init() {}

    /// Compresses whole 64-byte blocks (`blocks.count` is a multiple of 64).
    mutating func compress(_ blocks: UnsafeRawBufferPointer) {
        var (h0, h1, h2, h3, h4) = (state[0], state[1], state[2], state[3], state[4])
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            for base in stride(from: 0, to: blocks.count, by: 64) {
                for i in 0..<16 { w[i] = loadBigEndian(blocks, base + 4 * i) }
                for i in 16..<80 {
                    let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                    w[i] = (x << 1) | (x >> 31)
                }
                var (a, b, c, d, e) = (h0, h1, h2, h3, h4)
                for i in 0..<80 {
                    let (f, k): (UInt32, UInt32)
                    switch i {
                    case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A827999)
                    case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9EBA1)
                    case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1BBCDC)
                    default: (f, k) = (b ^ c ^ d, 0xCA62C1D6)
                    }
                    let t = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[i]
                    (e, d, c, b, a) = (d, c, (b << 30) | (b >> 2), a, t)
                }
                h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d; h4 &+= e
            }
        }
        state = [h0, h1, h2, h3, h4]
    }
}

