/// Text being normalized, one Unicode scalar at a time, with the range of the original input
/// each scalar stands for.
///
/// This is the scalar-unit counterpart of the `NormalizedString` of Hugging Face `tokenizers`:
/// it keeps, for every normalized scalar, `[start, end)` offsets (in Unicode scalars) into the
/// original string. A token's offsets are the start of its first scalar and the end of its
/// last one. Offsets count Unicode scalars, which is what the Python binding reports as
/// "char offsets".
struct AlignedText: Sendable {
    /// The normalized scalars.
    var scalars: [Unicode.Scalar]
    /// `starts[i]..<ends[i]` is the original range `scalars[i]` came from.
    var starts: [Int]
    var ends: [Int]

    /// An empty text with room for `capacity` scalars.
    init(capacity: Int) {
        scalars = []
        starts = []
        ends = []
        scalars.reserveCapacity(capacity)
        starts.reserveCapacity(capacity)
        ends.reserveCapacity(capacity)
    }

    /// Unmodified text: scalar `i` of `original` is aligned to `offset + i ..< offset + i + 1`.
    init<C: Collection>(original: C, offset: Int) where C.Element == Unicode.Scalar {
        scalars = Array(original)
        starts = Array(offset..<offset + scalars.count)
        ends = Array(offset + 1..<offset + 1 + scalars.count)
    }

    var count: Int { scalars.count }
    var isEmpty: Bool { scalars.isEmpty }

    /// Appends a scalar aligned to `start..<end` of the original.
    @inline(__always)
    mutating func append(_ scalar: Unicode.Scalar, start: Int, end: Int) {
        scalars.append(scalar)
        starts.append(start)
        ends.append(end)
    }

    /// The original range covered by normalized scalars `range` (first start to last end), as
    /// `NormalizedString::convert_offsets` computes it.
    func originalRange(of range: Range<Int>) -> Range<Int> {
        starts[range.lowerBound]..<ends[range.upperBound - 1]
    }

    /// The normalized text as a `String`.
    var string: String { Self.string(scalars[...]) }

    /// Builds a `String` from scalars without any normalization.
    static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
