import Foundation

/// Character classes used by the BERT normalizer, pre-tokenizer and added-token matcher,
/// reproducing the Rust `tokenizers` crate (spec/tokenizers.md section 7.3) independently of
/// the Unicode version of the Swift runtime.
///
/// The Rust crate answers these questions from tables of different Unicode versions, and a
/// character that is unassigned in a table gets no class at all:
///
/// - control (Cc/Cf/Co), non-spacing mark (Mn) and punctuation (P*) come from the
///   `unicode_categories` 0.1.1 crate, Unicode 8.0: here the category of scalars assigned by
///   8.0, corrected for the few whose category changed since;
/// - canonical decompositions and combining classes (NFD) come from
///   `unicode-normalization-alignments`, Unicode 9.0: here Foundation's NFD and the stdlib's
///   class, for scalars assigned by 9.0;
/// - the word characters of `single_word` (`\w` of the `regex` crate) use Unicode 16.0:
///   Alphabetic, any mark, Nd, Pc and Join_Control, for scalars assigned by 16.0;
/// - whitespace and lowercase come from Rust's `std`: here the stdlib properties.
///
/// The versions were established by comparing every code point against `tokenizers` 0.23.3
/// (the library that produced the fixtures); with these rules the classes agree on all of
/// them. ASCII is answered from the code point, without property lookups.
enum UnicodeClasses {
    /// Whether the scalar was assigned in Unicode `major.minor` or earlier.
    @inline(__always)
    static func isAssigned(_ properties: Unicode.Scalar.Properties, by major: Int, _ minor: Int)
        -> Bool
    {
        guard let age = properties.age else { return false }
        return age.major < major || (age.major == major && age.minor <= minor)
    }

    /// Whether the general category of `s` in the Unicode 8.0 tables of the
    /// `unicode_categories` crate passes `test`. Scalars unassigned in 8.0 have no category
    /// there; the few whose category changed after 8.0 are corrected. The current category
    /// is tested first, so the (slower) age lookup runs only for candidates.
    @inline(__always)
    static func hasLegacyCategory(
        _ s: Unicode.Scalar, _ test: (Unicode.GeneralCategory) -> Bool
    ) -> Bool {
        let properties = s.properties
        let category: Unicode.GeneralCategory
        switch s.value {
        case 0x166D, 0x111C9: category = .otherPunctuation  // So / Mn today
        case 0x1734, 0x1171E: category = .nonspacingMark  // Mc today
        case 0xA9BD: category = .spacingMark  // Mn today
        case 0x1885, 0x1886: category = .otherLetter  // Mn today
        default: category = properties.generalCategory
        }
        return test(category) && isAssigned(properties, by: 8, 0)
    }

    /// `is_control` of the BERT normalizer: categories Cc, Cf, Co (Unicode 8.0 tables), except
    /// tab, LF and CR. Unassigned and surrogate code points are *not* control characters,
    /// although the Rust comment says so: `UnicodeCategories::is_other` tests only Cc, Cf, Co.
    @inline(__always)
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            if v == 0x09 || v == 0x0A || v == 0x0D { return false }
            return v < 0x20 || v == 0x7F
        }
        return hasLegacyCategory(s) { $0 == .control || $0 == .format || $0 == .privateUse }
    }

    /// `is_whitespace` of the BERT normalizer: tab, LF, CR or the Unicode `White_Space`
    /// property (Rust's `char::is_whitespace`).
    @inline(__always)
    static func isBertWhitespace(_ s: Unicode.Scalar) -> Bool {
        isWhitespace(s)
    }

    /// Rust's `char::is_whitespace` (and the `\s` of the `regex` crate): the Unicode
    /// `White_Space` property.
    @inline(__always)
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
        // The non-ASCII `White_Space` scalars (a list that has not changed since Unicode 6.3).
        switch v {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// The CJK ideograph blocks the BERT normalizer pads with spaces. These are the ranges of
    /// the Rust source; note the gap 2B820–2B91F, which the Rust function does not include.
    @inline(__always)
    static func isChineseCharacter(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
            0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// BERT punctuation: ASCII punctuation or a P* category (Unicode 8.0 tables).
    @inline(__always)
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (v >= 0x21 && v <= 0x2F) || (v >= 0x3A && v <= 0x40) || (v >= 0x5B && v <= 0x60)
                || (v >= 0x7B && v <= 0x7E)
        }
        return hasLegacyCategory(s) { category in
            switch category {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                .initialPunctuation, .finalPunctuation, .otherPunctuation:
                return true
            default:
                return false
            }
        }
    }

    /// A word character for `single_word` added tokens: `\w` of the Rust `regex` crate
    /// (Alphabetic, any mark, Nd, Pc, Join_Control; Unicode 16.0 tables). Other numbers such
    /// as `²` are not word characters; combining marks are.
    @inline(__always)
    static func isWordCharacter(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A)
                || v == 0x5F
        }
        let properties = s.properties
        let word: Bool
        if properties.isAlphabetic || properties.isJoinControl {
            word = true
        } else {
            switch properties.generalCategory {
            case .decimalNumber, .nonspacingMark, .spacingMark, .enclosingMark,
                .connectorPunctuation:
                word = true
            default:
                word = false
            }
        }
        return word && isAssigned(properties, by: 16, 0)
    }

    /// Category Mn (Unicode 8.0 tables), removed when accents are stripped.
    @inline(__always)
    static func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
        s.value >= 0x300 && hasLegacyCategory(s) { $0 == .nonspacingMark }
    }

    /// The canonical combining class used for the reordering step of NFD (Unicode 9.0
    /// tables: 0 for scalars assigned later).
    @inline(__always)
    static func combiningClass(_ s: Unicode.Scalar) -> UInt8 {
        if s.value < 0x300 { return 0 }
        let properties = s.properties
        let ccc = properties.canonicalCombiningClass.rawValue
        return ccc != 0 && isAssigned(properties, by: 9, 0) ? ccc : 0
    }

    /// Appends the full canonical decomposition of `s` (NFD of the single scalar, before
    /// reordering across scalars) to `out`.
    @inline(__always)
    static func appendCanonicalDecomposition(of s: Unicode.Scalar, to out: inout [Unicode.Scalar]) {
        let v = s.value
        // Nothing below U+00C0 has a canonical decomposition.
        if v < 0xC0 {
            out.append(s)
            return
        }
        // Hangul syllables decompose algorithmically (Unicode 3.12).
        if v >= 0xAC00 && v <= 0xD7A3 {
            let index = v - 0xAC00
            let lead = 0x1100 + index / (21 * 28)
            let vowel = 0x1161 + (index % (21 * 28)) / 28
            let trail = index % 28
            for code in trail == 0 ? [lead, vowel] : [lead, vowel, 0x11A7 + trail] {
                if let jamo = Unicode.Scalar(code) { out.append(jamo) }
            }
            return
        }
        // Decompositions of the Unicode 9.0 tables only.
        guard isAssigned(s.properties, by: 9, 0) else {
            out.append(s)
            return
        }
        DecompositionCache.shared.append(decompositionOf: s, to: &out)
    }
}

/// Canonical decompositions of single scalars, computed once each through Foundation and kept.
///
/// The standard library has no public NFD; Foundation's `decomposedStringWithCanonicalMapping`
/// is exact but costs an allocation per call, so results are cached. The set of scalars that
/// appear in real text is small, so the cache stays small.
final class DecompositionCache: @unchecked Sendable {
    // Invariant behind `@unchecked Sendable`: `table` is read and written only under `lock`.
    static let shared = DecompositionCache()
    private let lock = NSLock()
    /// nil value = the scalar decomposes to itself.
    private var table: [UInt32: [Unicode.Scalar]?] = [:]
    private static let capacityLimit = 1 << 16

    func append(decompositionOf s: Unicode.Scalar, to out: inout [Unicode.Scalar]) {
        lock.lock()
        let cached = table[s.value]
        lock.unlock()
        let entry: [Unicode.Scalar]?
        if let cached {
            entry = cached
        } else {
            let decomposed = Array(String(s).decomposedStringWithCanonicalMapping.unicodeScalars)
            entry = decomposed == [s] ? nil : decomposed
            lock.lock()
            if table.count < Self.capacityLimit { table[s.value] = .some(entry) }
            lock.unlock()
        }
        if let entry {
            out.append(contentsOf: entry)
        } else {
            out.append(s)
        }
    }
}
