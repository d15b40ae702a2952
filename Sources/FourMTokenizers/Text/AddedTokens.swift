/// One entry of the JSON `added_tokens` list, resolved to its final id.
struct AddedToken: Sendable, Equatable {
    var id: Int32
    var content: String
    var singleWord: Bool
    var leftStrip: Bool
    var rightStrip: Bool
    var normalized: Bool
    var special: Bool
}

/// Splits text on added tokens the way `AddedVocabulary::find_matches` does.
///
/// Follows spec/tokenizers.md section 7.3 steps 1 and 3: leftmost-longest, non-overlapping
/// matching (the semantics of the Aho-Corasick automaton of the Rust crate). A
/// `single_word` match is *discarded* (not retried shorter) when the scalar before or after
/// it is a word character; the search then resumes after the discarded match, exactly as
/// the automaton's iterator does. `lstrip` / `rstrip` widen a kept match over neighbouring
/// whitespace.
struct AddedTokenSplitter: Sendable {
    /// One piece of a split: an added token (`token` = its index in `tokens`) or plain text.
    struct Piece {
        var token: Int?
        var range: Range<Int>
    }

    /// The tokens this splitter matches, with `pattern` the text that is looked for (the
    /// content, normalized for `normalized` tokens).
    let tokens: [(token: AddedToken, pattern: String)]
    private let trie: ScalarTrie

    init(tokens: [(token: AddedToken, pattern: String)]) {
        var trie = ScalarTrie()
        var kept: [(token: AddedToken, pattern: String)] = []
        for entry in tokens where !entry.pattern.unicodeScalars.isEmpty {
            // A repeated pattern keeps its first token (Rust's choice is not deterministic).
            if trie.value(of: entry.pattern.unicodeScalars) != nil { continue }
            trie.insert(entry.pattern.unicodeScalars, value: Int32(kept.count))
            kept.append(entry)
        }
        self.tokens = kept
        self.trie = trie
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// Splits `scalars[range]` into added tokens and the plain text around them. Empty plain
    /// pieces are left out.
    func split(_ scalars: [Unicode.Scalar], in range: Range<Int>) -> [Piece] {
        guard !tokens.isEmpty, !range.isEmpty else {
            return range.isEmpty ? [] : [Piece(token: nil, range: range)]
        }
        var pieces: [Piece] = []
        var plainStart = range.lowerBound
        var searchFrom = range.lowerBound
        while searchFrom < range.upperBound {
            // Leftmost position where some pattern matches, longest pattern there.
            var found: (index: Int, start: Int, end: Int)? = nil
            var position = searchFrom
            while position < range.upperBound {
                if let match = trie.longestMatch(in: scalars, from: position, to: range.upperBound)
                {
                    found = (Int(match.value), position, match.end)
                    break
                }
                position += 1
            }
            guard let match = found else { break }
            // Like the Rust iterator, the search goes on after the match itself, not after
            // the whitespace `rstrip` adds to it.
            searchFrom = match.end
            let token = tokens[match.index].token
            var start = match.start
            var stop = match.end
            if token.singleWord {
                let clearBefore =
                    start == range.lowerBound || !UnicodeClasses.isWordCharacter(scalars[start - 1])
                let clearAfter =
                    stop == range.upperBound || !UnicodeClasses.isWordCharacter(scalars[stop])
                if !clearBefore || !clearAfter { continue }
            }
            if token.leftStrip {
                // Whitespace already taken by the previous split stays there.
                while start > range.lowerBound && UnicodeClasses.isWhitespace(scalars[start - 1]) {
                    start -= 1
                }
                start = max(start, plainStart)
            }
            if token.rightStrip {
                while stop < range.upperBound && UnicodeClasses.isWhitespace(scalars[stop]) {
                    stop += 1
                }
            }
            // A match inside whitespace the previous token already took (possible only for
            // patterns that start with whitespace) would move backwards; Rust's output is
            // not meaningful there, so such a match is dropped.
            if stop <= plainStart { continue }
            if plainStart < start { pieces.append(Piece(token: nil, range: plainStart..<start)) }
            pieces.append(Piece(token: match.index, range: start..<stop))
            plainStart = stop
        }
        if plainStart < range.upperBound {
            pieces.append(Piece(token: nil, range: plainStart..<range.upperBound))
        }
        return pieces
    }
}
