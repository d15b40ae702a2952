import Foundation
import FourMModels
import FourMSampling
import FourMTensor
import FourMTestSupport
import FourMTokenizers
import Testing

/// The `helpers` fixture cases that need the text tokenizer: `custom_text`, empty targets of
/// every modality type, and `TransferMasking`'s sequences. Everything is exact (integers).
@Suite struct SequenceHelperParityTests {
    static let cases = Fixtures.caseNames(kinds: ["helpers"])

    @Test(arguments: cases)
    func matchesReference(_ name: String) throws {
        let f = try CaseTensors(name)
        let jsonFile = try #require(f.object["json_file"] as? String)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url(jsonFile))) as? [String: Any])
        let text = try WordPieceTokenizer(contentsOf: try Fixtures.url("text_tokenizer_4m_wordpiece_30k.json"))
        var checked = 0
        for key in f.keys where key.hasSuffix(".tensor") {
            let prefix = String(key.dropLast(7))
            let expectedTokens = try f.int(key)
            let state: ModalityState
            let parts = prefix.split(separator: ".")
            switch parts[0] {
            case "custom_text":
                // custom_text(caption, target_max_len=N): the caption is the input part.
                let mask = try f.bool("\(prefix).input_mask").scalars
                let inputCount = mask.prefix { !$0 }.count
                let ids = Array(expectedTokens.scalars.prefix(inputCount))
                let caption = try text.decode(ids, skipSpecialTokens: false)
                state = .textCondition(text.encode(caption), targetLength: expectedTokens.count - inputCount)
            case "empty_target":
                let modality = Modality(rawValue: parts.dropFirst().joined(separator: "."))
                let (batch, length) = (expectedTokens.shape[0], expectedTokens.shape[1])
                switch ModalityRegistry.info(for: modality)?.kind {
                case .sequence?: state = .emptySequenceTarget(batch: batch, tokens: length)
                case .sequenceEmbedding?: state = .emptyEmbeddingTarget(batch: batch, tokens: length)
                default: state = .emptyImageTarget(batch: batch, tokens: length)
                }
            case "transfer":
                let det = try #require(json["det_string"] as? String)
                let maxTokens = expectedTokens.count / 2 - 1
                state = parts[1] == "input_sequence" ? .transferInputSequence(text.encode(det), maxTokens: maxTokens) : .transferTargetSequence(text.encode(det), maxTokens: maxTokens)
            default:
                Issue.record("\(name): unhandled helper tensor \(key)")
                continue
            }
            #expect(state.tokens?.scalars == expectedTokens.scalars, "\(prefix).tensor")
            #expect(state.inputMask.scalars == (try f.bool("\(prefix).input_mask")).scalars, "\(prefix).input_mask")
            #expect(state.targetMask.scalars == (try f.bool("\(prefix).target_mask")).scalars, "\(prefix).target_mask")
            if f.has("\(prefix).decoder_attention_mask") {
                #expect(state.decoderAttentionMask?.scalars == (try f.int("\(prefix).decoder_attention_mask")).scalars, "\(prefix).decoder_attention_mask")
            }
            checked += 1
        }
        #expect(checked > 0, "\(name): no helper tensors checked")
    }
}
