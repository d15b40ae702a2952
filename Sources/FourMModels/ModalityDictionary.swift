/// The model's input: modality states in insertion order (the reference's `mod_dict`,
/// spec/generation.md 1.1). Order decides the order of encoder tokens only, which does not
/// change results.
///
/// ```swift
/// var dict: ModalityDictionary = [.rgb224: ModalityState(pixels: photo)]
/// dict[.tokDepth224] = depthTarget          // appended
/// dict[.rgb224] = nil                        // removed
/// ```
public struct ModalityDictionary: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// The entries in order.
    public private(set) var entries: [(modality: Modality, state: ModalityState)]

    /// An empty dictionary.
    public init() { entries = [] }

    /// Entries in the given order; a repeated modality keeps its last state at its first place.
    public init(_ pairs: [(Modality, ModalityState)]) {
        entries = []
        for (m, s) in pairs { self[m] = s }
    }

    /// Entries in literal order.
    public init(dictionaryLiteral elements: (Modality, ModalityState)...) {
        self.init(elements)
    }

    /// The state of `modality`; setting appends a new modality, replaces an existing one in
    /// place, or removes it with `nil`.
    public subscript(_ modality: Modality) -> ModalityState? {
        get { entries.first { $0.modality == modality }?.state }
        set {
            if let index = entries.firstIndex(where: { $0.modality == modality }) {
                if let newValue { entries[index].state = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((modality, newValue))
            }
        }
    }

    /// The modalities in order.
    public var modalities: [Modality] { entries.map(\.modality) }

    /// Iterates `(modality, state)` in order.
    public func makeIterator() -> IndexingIterator<[(modality: Modality, state: ModalityState)]> { entries.makeIterator() }

    /// The batch size (of the first entry; 0 when empty).
    public var batchSize: Int { entries.first?.state.batchSize ?? 0 }
}
