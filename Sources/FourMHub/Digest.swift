import Foundation
import FourMTensor

/// How a blob's name (its etag) says to check its bytes.
package enum BlobCheck: Equatable, Sendable {
    /// A 64-hex-digit etag: the SHA-256 of the bytes (LFS files).
    case sha256(String)
    /// A 40-hex-digit etag: the git blob id, SHA-1 of `blob <size>\0` + bytes.
    case gitBlob(String)
    /// Any other etag: only the size can be checked.
    case sizeOnly

    /// Classifies an etag as the Hub writes it.
    package init(etag: String) {
        let isHex = etag.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        if isHex && etag.utf8.count == 64 {
            self = .sha256(etag)
        } else if isHex && etag.utf8.count == 40 {
            self = .gitBlob(etag)
        } else {
            self = .sizeOnly
        }
    }

    /// The expected hex digest, nil for `.sizeOnly`.
    package var expected: String? {
        switch self {
        case .sha256(let h), .gitBlob(let h): return h
        case .sizeOnly: return nil
        }
    }

    /// Hashes a file the way this check needs (read in 4 MiB pieces), nil for `.sizeOnly`.
    /// - Parameter progress: called with the bytes hashed so far.
    /// - Throws: the `.fileSystem` error of an unreadable file.
    package func digest(of url: URL, progress: ((Int64) -> Void)? = nil) throws(HubError) -> String? {
        switch self {
        case .sizeOnly: return nil
        case .sha256:
            var digest = SHA256Digest()
            try Self.feed(url, into: &digest, progress: progress)
            return hexString(digest.finalize())
        case .gitBlob:
            var digest = SHA1Digest()
            let size = try fileSize(url)
            digest.update(Array("blob \(size)\0".utf8))
            try Self.feed(url, into: &digest, progress: progress)
            return hexString(digest.finalize())
        }
    }

    static func feed<D: StreamingDigest>(_ url: URL, into digest: inout D, progress: ((Int64) -> Void)?) throws(HubError) {
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch { throw .fileSystem(path: url.path, reason: "cannot open for hashing: \(fileErrorReason(error))") }
        defer { try? handle.close() }
        var done: Int64 = 0
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 4 << 20) } catch { throw .fileSystem(path: url.path, reason: "read failed while hashing: \(fileErrorReason(error))") }
            guard let chunk, !chunk.isEmpty else { break }
            digest.update(chunk)
            done += Int64(chunk.count)
            progress?(done)
        }
    }
}

/// The size of a file in bytes.
/// - Throws: `.fileSystem` when it cannot be read.
package func fileSize(_ url: URL) throws(HubError) -> Int64 {
    do {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return (attributes[.size] as? NSNumber)?.int64Value ?? 0
    } catch {
        throw .fileSystem(path: url.path, reason: "cannot read its size: \(fileErrorReason(error))")
    }
}
