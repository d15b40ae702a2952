/// The `BertPreTokenizer` of Hugging Face `tokenizers`.
///
/// Follows spec/tokenizers.md section 7.3 step 4: split on whitespace (the whitespace is
/// dropped), then make every punctuation character (ASCII punctuation or Unicode P*) a
/// piece of its own.
enum BertPreTokenizer {
    /// Appends the pieces of `scalars[range]` to `pieces`, as ranges into `scalars`.
    static func split(
        _ scalars: [Unicode.Scalar], in range: Range<Int>, into pieces: inout [Range<Int>]
    ) {
        var wordStart = -1
        var i = range.lowerBound
        while i < range.upperBound {
            let s = scalars[i]
            if UnicodeClasses.isWhitespace(s) {
                if wordStart >= 0 { pieces.append(wordStart..<i) }
                wordStart = -1
            } else if UnicodeClasses.isPunctuation(s) {
                if wordStart >= 0 { pieces.append(wordStart..<i) }
                pieces.append(i..<i + 1)
                wordStart = -1
            } else if wordStart < 0 {
                wordStart = i
            }
            i += 1
        }
        if wordStart >= 0 { pieces.append(wordStart..<range.upperBound) }
    }
}
