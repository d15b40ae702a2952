/// The WordPiece model: greedy longest-prefix matching of one pre-tokenized piece.
///
/// Follows spec/tokenizers.md section 7.3 step 5. A piece longer than
/// `maxInputCharsPerWord` scalars is one unknown token; otherwise, from the start, take the
/// longest vocabulary entry (with `continuingSubwordPrefix` in front when not at the start);
/// if some position has no match the whole piece becomes one unknown token.
struct WordPieceModel: Sendable {
    /// The vocabulary, token → id.
    let vocabulary: ScalarTrie
    /// Number of entries of `model.vocab`.
    let vocabularyCount: Int
    /// Id of `unkToken`.
    let unknownId: Int32
    let unknownToken: String
    let continuingSubwordPrefix: String
    let maxInputCharsPerWord: Int
    /// The trie node of `continuingSubwordPrefix`, where continuation matches start; nil when
    /// no vocabulary entry starts with the prefix (then only whole-word matches exist).
    let continuationNode: Int32?

    init(
        vocabulary: ScalarTrie, vocabularyCount: Int, unknownId: Int32, unknownToken: String,
        continuingSubwordPrefix: String, maxInputCharsPerWord: Int
    ) {
        self.vocabulary = vocabulary
        self.vocabularyCount = vocabularyCount
        self.unknownId = unknownId
        self.unknownToken = unknownToken
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        continuationNode = vocabulary.node(following: continuingSubwordPrefix.unicodeScalars)
    }

    /// Tokenizes `scalars[piece]`, appending `(id, range within scalars)` to `out`.
    @inline(__always)
    func tokenize(
        _ scalars: [Unicode.Scalar], piece: Range<Int>,
        into out: inout [(id: Int32, range: Range<Int>)]
    ) {
        if piece.count > maxInputCharsPerWord {
            out.append((unknownId, piece))
            return
        }
        let mark = out.count
        var start = piece.lowerBound
        while start < piece.upperBound {
            let origin: Int32
            if start == piece.lowerBound {
                origin = ScalarTrie.root
            } else if let continuationNode {
                origin = continuationNode
            } else {
                out.removeSubrange(mark...)
                out.append((unknownId, piece))
                return
            }
            guard
                let match = vocabulary.longestMatch(
                    in: scalars, from: start, to: piece.upperBound, start: origin)
            else {
                out.removeSubrange(mark...)
                out.append((unknownId, piece))
                return
            }
            out.append((match.value, start..<match.end))
            start = match.end
        }
    }
}
