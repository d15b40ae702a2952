/// The `BertNormalizer` of Hugging Face `tokenizers`, with alignment tracking.
///
/// Follows spec/tokenizers.md section 7.3 step 2, in this order: clean text, pad CJK
/// ideographs with spaces, strip accents (NFD, then drop non-spacing marks), lowercase.
/// `strip_accents: null` in the JSON means "same as `lowercase`".
struct BertNormalizer: Sendable, Equatable {
    var cleanText = true
    var handleChineseChars = true
    /// nil = follow `lowercase` (the JSON `null`).
    var stripAccents: Bool? = nil
    var lowercase = true

    /// Whether accents are stripped once `null` is resolved.
    var stripsAccents: Bool { stripAccents ?? lowercase }

    /// Normalizes `text`, keeping each scalar's original range.
    func normalize(_ text: AlignedText) -> AlignedText {
        var current = text
        if cleanText { current = Self.clean(current) }
        if handleChineseChars { current = Self.padChineseCharacters(current) }
        if stripsAccents { current = Self.stripAccents(current) }
        if lowercase { current = Self.lowercase(current) }
        return current
    }

    /// Drops U+0000, U+FFFD and control characters; maps every whitespace character to a
    /// single U+0020 (no collapsing).
    static func clean(_ text: AlignedText) -> AlignedText {
        var out = AlignedText(capacity: text.count)
        for i in 0..<text.count {
            let s = text.scalars[i]
            if s.value == 0 || s.value == 0xFFFD || UnicodeClasses.isControl(s) { continue }
            let mapped: Unicode.Scalar = UnicodeClasses.isBertWhitespace(s) ? " " : s
            out.append(mapped, start: text.starts[i], end: text.ends[i])
        }
        return out
    }

    /// Surrounds every CJK ideograph with spaces; the spaces share the ideograph's alignment.
    static func padChineseCharacters(_ text: AlignedText) -> AlignedText {
        guard text.scalars.contains(where: UnicodeClasses.isChineseCharacter) else { return text }
        var out = AlignedText(capacity: text.count + 16)
        for i in 0..<text.count {
            let s = text.scalars[i]
            let start = text.starts[i]
            let end = text.ends[i]
            if UnicodeClasses.isChineseCharacter(s) {
                out.append(" ", start: start, end: end)
                out.append(s, start: start, end: end)
                out.append(" ", start: start, end: end)
            } else {
                out.append(s, start: start, end: end)
            }
        }
        return out
    }

    /// NFD followed by removal of category Mn.
    ///
    /// Alignment follows `NormalizedString::transform` positionally, as the Rust crate does:
    /// the first scalar of each decomposition takes the place (and alignment) of the next
    /// source scalar, the others are "inserted" and copy the alignment of the source scalar
    /// consumed last. Canonical reordering (a stable sort by combining class of each run of
    /// non-starters) moves scalars together with their inserted/replacing flag, exactly like
    /// `unicode_normalization_alignments`.
    static func stripAccents(_ text: AlignedText) -> AlignedText {
        // Fast path: nothing at or above U+00C0 (no decompositions, no marks).
        guard text.scalars.contains(where: { $0.value >= 0xC0 }) else { return text }

        // 1. Decompose, marking inserted scalars, and reorder runs of non-starters.
        var decomposed: [Unicode.Scalar] = []
        decomposed.reserveCapacity(text.count + 8)
        var inserted: [Bool] = []
        inserted.reserveCapacity(text.count + 8)
        var classes: [UInt8] = []
        classes.reserveCapacity(text.count + 8)
        var pendingStart = 0  // start of the block not yet sorted
        var scratch: [Unicode.Scalar] = []
        func sortPending() {
            let range = pendingStart..<decomposed.count
            if range.count > 1, classes[range].contains(where: { $0 != 0 }) {
                let order = range.sorted { a, b in
                    classes[a] != classes[b] ? classes[a] < classes[b] : a < b
                }
                let s = order.map { decomposed[$0] }
                let f = order.map { inserted[$0] }
                let c = order.map { classes[$0] }
                decomposed.replaceSubrange(range, with: s)
                inserted.replaceSubrange(range, with: f)
                classes.replaceSubrange(range, with: c)
            }
            pendingStart = decomposed.count
        }
        for s in text.scalars {
            scratch.removeAll(keepingCapacity: true)
            UnicodeClasses.appendCanonicalDecomposition(of: s, to: &scratch)
            for (k, d) in scratch.enumerated() {
                let ccc = UnicodeClasses.combiningClass(d)
                if ccc == 0 { sortPending() }
                decomposed.append(d)
                inserted.append(k > 0)
                classes.append(ccc)
            }
        }
        sortPending()

        // 2. Positional alignment, then drop non-spacing marks.
        var out = AlignedText(capacity: decomposed.count)
        var cursor = 0  // next source scalar to be replaced
        for i in 0..<decomposed.count {
            let start: Int
            let end: Int
            if inserted[i] {
                if cursor > 0 {
                    start = text.starts[cursor - 1]
                    end = text.ends[cursor - 1]
                } else {
                    // The Rust code uses (0, 0) of the current slice here; unreachable for
                    // canonically ordered input, kept for completeness.
                    start = text.starts.first ?? 0
                    end = start
                }
            } else {
                start = text.starts[cursor]
                end = text.ends[cursor]
                cursor += 1
            }
            let d = decomposed[i]
            if UnicodeClasses.isNonspacingMark(d) { continue }
            out.append(d, start: start, end: end)
        }
        return out
    }

    /// Full (context-free) Unicode lowercase mapping of every scalar, as Rust's
    /// `char::to_lowercase` per character: `İ` → `i̇`, `ẞ` → `ß`, no final-sigma rule.
    static func lowercase(_ text: AlignedText) -> AlignedText {
        var out = AlignedText(capacity: text.count)
        for i in 0..<text.count {
            let s = text.scalars[i]
            let v = s.value
            if v < 0x80 {
                let lowered = v >= 0x41 && v <= 0x5A ? Unicode.Scalar(UInt8(v + 0x20)) : s
                out.append(lowered, start: text.starts[i], end: text.ends[i])
            } else if s.properties.changesWhenLowercased {
                for mapped in s.properties.lowercaseMapping.unicodeScalars {
                    out.append(mapped, start: text.starts[i], end: text.ends[i])
                }
            } else {
                out.append(s, start: text.starts[i], end: text.ends[i])
            }
        }
        return out
    }
}
