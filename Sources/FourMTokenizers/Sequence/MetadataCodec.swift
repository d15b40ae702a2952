/// The `metadata` modality: entries ↔ `v1=<type id> v0=<bin>` pairs (spec/tokenizers.md
/// section 8.5, `MetadataTransform` of the reference).
///
/// The reference shuffles the key order; this codec writes entries in the order given and
/// parses them in sequence order, so a round trip keeps the order. For span masking, 4M
/// treats every pair as one chunk (``encodeChunks(_:)``).
///
/// ```swift
/// let codec = MetadataCodec()
/// let entries = [
///     try MetadataEntry(key: .originalWidth, value: 640),
///     MetadataEntry(key: .semanticDiversity, bin: 2),
/// ]
/// let text = try codec.encode(entries)  // "v1=0 v0=20 v1=16 v0=2"
/// let parsed = codec.decode(text: text)
/// ```
public struct MetadataCodec: SequenceCodec {
    /// `"metadata"`.
    public static let modality = "metadata"
    /// 40 ids (spec/tokenizers.md section 7.4).
    public var maximumLength: Int { 40 }

    /// Creates a codec.
    public init() {}

    /// Writes each entry as its chunk `v1=<key id> v0=<bin>`.
    /// - Parameter entries: Entries, at most one per key.
    /// - Returns: One string per entry.
    /// - Throws: ``SequenceCodecError/invalidValue(modality:field:value:expected:)`` for a bin
    ///   outside the key's ``MetadataKey/validBins`` or a repeated key.
    public func encodeChunks(_ entries: [MetadataEntry]) throws(SequenceCodecError) -> [String] {
        var seen = Set<MetadataKey>()
        var chunks: [String] = []
        for (index, entry) in entries.enumerated() {
            guard entry.key.validBins.contains(entry.bin) else {
                throw .invalidValue(
                    modality: Self.modality, field: "entries[\(index)].bin (\(entry.key.name))",
                    value: "\(entry.bin)",
                    expected:
                        "\(entry.key.validBins.lowerBound)...\(entry.key.validBins.upperBound)")
            }
            guard seen.insert(entry.key).inserted else {
                throw .invalidValue(
                    modality: Self.modality, field: "entries[\(index)].key",
                    value: entry.key.name, expected: "each key at most once")
            }
            chunks.append("v1=\(entry.key.rawValue) v0=\(entry.bin)")
        }
        return chunks
    }

    /// Writes the entries, in order, joined by single spaces.
    /// - Parameter entries: Entries, at most one per key.
    /// - Returns: The sequence text (empty for no entries).
    /// - Throws: the errors of ``encodeChunks(_:)``.
    public func encode(_ entries: [MetadataEntry]) throws(SequenceCodecError) -> String {
        try encodeChunks(entries).joined(separator: " ")
    }

    /// Parses entries (spec/tokenizers.md section 8.5, "Parse back"): a group starts at every
    /// `v1=` token and must be exactly `v1=<id> v0=<bin>` with a known id and a bin the key
    /// can have. Other groups are skipped and reported (the reference may throw on them); a
    /// repeated key keeps its first entry.
    /// - Parameter tokens: The sequence's tokens.
    /// - Returns: The entries in sequence order and the issues found.
    public func decode(_ tokens: [SequenceToken]) -> SequenceDecoding<[MetadataEntry]> {
        let content = SequenceContent(tokens)
        var issues = content.issues
        var entries: [MetadataEntry] = []
        var seen = Set<MetadataKey>()

        var groups: [[SequenceToken]] = []
        for token in content.tokens {
            if token.value(family: 1) != nil {
                groups.append([token])
            } else if groups.isEmpty {
                issues.append(token.issue(.unexpectedToken(expected: "v1= (a metadata type)")))
            } else {
                groups[groups.count - 1].append(token)
            }
        }

        for group in groups {
            let head = group[0]
            guard let type = head.value(family: 1) else { continue }
            guard group.count >= 2, let bin = group[1].value(family: 0) else {
                issues.append(head.issue(.incompleteGroup(expected: 2, found: 1)))
                for extra in group.dropFirst() {
                    issues.append(extra.issue(.unexpectedToken(expected: "v0= (a metadata value)")))
                }
                continue
            }
            for extra in group.dropFirst(2) {
                issues.append(extra.issue(.unexpectedToken(expected: "v1= (a metadata type)")))
            }
            guard let key = MetadataKey(rawValue: type) else {
                issues.append(head.issue(.unknownMetadataType(type)))
                continue
            }
            guard key.validBins.contains(bin) else {
                issues.append(group[1].issue(.valueOutOfRange(value: bin, valid: key.validBins)))
                continue
            }
            guard seen.insert(key).inserted else {
                issues.append(head.issue(.duplicateEntry(key.name)))
                continue
            }
            entries.append(MetadataEntry(key: key, bin: bin))
        }
        return SequenceDecoding(value: entries, issues: issues)
    }
}
