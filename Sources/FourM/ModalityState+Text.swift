import FourMModels
import FourMSampling
import FourMTensor
import FourMTokenizers

extension ModalityState {
    /// The ids the reference's `decode_text` reads for one row of a sequence: the visible
    /// part (`inputMask` false) with each sentinel replaced by the span the target part
    /// (`targetMask` false) gives it (`merge_span_masking`, spec/generation.md 3.3).
    /// - Parameter row: the batch row (out-of-range rows give no ids).
    /// - Returns: the merged ids, special tokens kept.
    public func mergedSequence(row: Int = 0) -> [Int32] {
        guard let tokens, row >= 0, row < batchSize else { return [] }
        let visible = (0..<length).filter { !inputMask[row, $0] }.map { tokens[row, $0] }
        let target = (0..<length).filter { !targetMask[row, $0] }.map { tokens[row, $0] }
        return mergeSpans(input: visible, prediction: target)
    }

    /// The text of ``mergedSequence(row:)`` with special tokens kept (the reference's
    /// `decode_text(...)[2]`), the input of the demo's SAM-instance, pose and metadata decoders.
    /// - Throws: `.tokenizer` for an id the tokenizer does not know.
    public func mergedText(row: Int = 0, using tokenizer: WordPieceTokenizer) throws(FourMError) -> String {
        do { return try tokenizer.decode(mergedSequence(row: row), skipSpecialTokens: false) } catch { throw .tokenizer(error) }
    }
}
