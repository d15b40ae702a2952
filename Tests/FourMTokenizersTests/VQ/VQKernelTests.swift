import Foundation
import FourMTensor
import FourMTestSupport
import FourMTokenizers
import Testing

/// The VQ kernels against their plain twins over odd sizes, and the small parsers.
@Suite struct VQKernelTests {
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001) / 1_000_000 - 1
        }
    }

    @Test(arguments: [(1, 1, 1, 1), (2, 3, 7, 33), (1, 5, 33, 7), (3, 1, 257, 2)])
    func vqTransposeMatchesReference(batch: Int, rows: Int, cols: Int, seed: Int) {
        let x = Self.random(batch * rows * cols, seed: UInt64(seed))
        var out = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { batchedTransposeKernel(src.baseAddress!, $0.baseAddress!, batch: batch, rows: rows, cols: cols) }
        }
        #expect(out == batchedTransposeReference(x, batch: batch, rows: rows, cols: cols))
    }

    @Test(arguments: [(1, 1, 1, 1), (2, 3, 7, 1), (1, 2, 14, 7), (2, 3, 33, 11)])
    func vqPatchifyMatchesReferenceAndInverts(batch: Int, channels: Int, side: Int, patch: Int) {
        let (height, width) = (side, side * 2 - side % patch)
        let h = height - height % patch, w = width - width % patch
        let x = Self.random(batch * channels * h * w, seed: 3)
        var patches = [Float](repeating: .nan, count: x.count)
        var back = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { src in
            patches.withUnsafeMutableBufferPointer {
                patchTokensKernel(src.baseAddress!, $0.baseAddress!, batch: batch, channels: channels, height: h, width: w, patch: patch)
            }
        }
        #expect(patches == patchTokensReference(x, batch: batch, channels: channels, height: h, width: w, patch: patch))
        patches.withUnsafeBufferPointer { src in
            back.withUnsafeMutableBufferPointer {
                unpatchTokensKernel(src.baseAddress!, $0.baseAddress!, batch: batch, channels: channels,
                                   gridHeight: h / patch, gridWidth: w / patch, patch: patch)
            }
        }
        #expect(back == x)
    }

    @Test(arguments: [(1, 1, 1, 1), (2, 3, 7, 7), (1, 2, 33, 5), (1, 1, 3, 40)])
    func vqDepthwiseConvMatchesReference(batch: Int, channels: Int, height: Int, width: Int) {
        let k = 7
        let x = Self.random(batch * channels * height * width, seed: 11)
        let weight = Self.random(channels * k * k, seed: 12)
        let bias = Self.random(channels, seed: 13)
        var out = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { src in
            weight.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer {
                        depthwiseConv2DKernel(src.baseAddress!, weight: w.baseAddress!, bias: b.baseAddress!, $0.baseAddress!,
                                                batch: batch, channels: channels, height: height, width: width, kernel: k, pad: 3)
                    }
                }
            }
        }
        let reference = depthwiseConv2DReference(x, weight: weight, bias: bias, batch: batch, channels: channels,
                                                    height: height, width: width, kernel: k, pad: 3)
        // Float accumulation of ≤ 49 products of values in [-1, 1].
        expectClose(out, reference, atol: 1e-5, "depthwise conv")
    }

    @Test(arguments: [(1, 1, 1), (7, 33, 5), (33, 7, 257), (257, 16, 33)])
    func vqCodeSearchMatchesReference(rows: Int, dim: Int, codes: Int) throws {
        let x = Self.random(rows * dim, seed: 21)
        let codebook = Self.random(codes * dim, seed: 22)
        for cosine in [true, false] {
            var writer = SafeTensorsWriter(metadata: [
                "dim": String(dim), "codebook_size": String(codes), "use_cosine_sim": cosine ? "True" : "False",
            ])
            writer.add("_codebook.embed", Tensor(shape: [codes, dim], scalars: codebook))
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("vq-search-\(UUID().uuidString).safetensors").path
            try writer.write(to: path)
            let quantizer = try LucidQuantizer(path: path)
            let ids = quantizer.nearestCodes(Tensor(shape: [rows, dim], scalars: x)).scalars
            let reference = vqNearestCodeReference(x, codebook: codebook, rows: rows, dim: dim, codes: codes, cosine: cosine)
            #expect(ids == reference, "cosine \(cosine)")
        }
    }

    @Test func vqArgmaxTakesLowestIndexOnTies() {
        let scores: [Float] = [1, 3, 3, 0, -1, -1, -1, -1]
        var out = [Int32](repeating: -7, count: 2)
        scores.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { vqArgmaxRowsKernel(s.baseAddress!, $0.baseAddress!, rows: 2, cols: 4) } }
        #expect(out == [1, 0])
    }

    @Test func vqTanhMatchesReference() {
        var x = Self.random(257, seed: 5).map { $0 * 6 }
        let reference = tanhReference(x)
        x.withUnsafeMutableBufferPointer { tanhKernel($0.baseAddress!, count: $0.count) }
        expectClose(x, reference, atol: 1e-6, "tanh")
    }

    @Test func vqParsesMLPArchitectures() {
        let release = MLPArchitecture("BottleneckMLP/B_6-Wi_1024")
        #expect(release?.kind == .bottleneck && release?.blocks == 6 && release?.width == 1024 && release?.expansion == 4)
        #expect(MLPArchitecture("BottleneckMLP/B_2-Wi_64-Ex_2")?.expansion == 2)
        #expect(MLPArchitecture("MLP/B_3-Wi_32")?.kind == .standard)
        for bad in ["BottleneckMLP", "BottleneckMLP/B_6", "BottleneckMLP/B_x-Wi_4", "ResMLP/B_1-Wi_4", "BottleneckMLP/B_1-Wi_0"] {
            #expect(MLPArchitecture(bad) == nil, "\(bad)")
        }
    }

    @Test func vqConfigurationDefaultsAndTypes() throws {
        let empty = try VQConfiguration(metadata: [:], file: "f")
        #expect(empty.imageSize == 224 && empty.imageSizeEncoder == 224 && empty.patchSize == 16 && empty.patchSizeDecoder == 16)
        #expect(empty.quantizerType == .lucid && empty.codebookSize == 16384 && empty.latentDim == 32 && empty.normalizeCodes)
        #expect(empty.encoderType == "vit_b_enc" && empty.decoderType == "vit_b_dec" && !empty.isDiffusion && empty.labels == nil)
        let c = try VQConfiguration(metadata: [
            "image_size": "448", "image_size_enc": "None", "image_size_dec": "224", "n_labels": "134", "n_channels": "64",
            "ignore_keys": "['decoder', 'loss']", "ema_decay": "0.99", "quant_type": "memcodes", "num_codebooks": "16",
            "latent_dim": "1024", "beta_schedule": "shifted_cosine:0.5",
        ], file: "f")
        #expect(c.imageSizeEncoder == 448 && c.imageSizeDecoder == 224 && c.labels == 134 && c.outputChannels == 134)
        #expect(c.quantizerType == .memcodes && c.codebookCount == 16 && c.isDiffusion && c.decoderType == "unet_patched")
        #expect(throws: VQTokenizerError.invalidConfiguration(file: "f", key: "num_codebooks", expected: "a divisor of latent_dim 10 (Memcodes heads)", actual: "3")) {
            _ = try VQConfiguration(metadata: ["quant_type": "memcodes", "latent_dim": "10", "num_codebooks": "3"], file: "f")
        }
        #expect(throws: VQTokenizerError.unsupported(file: "f", key: "codebook_size", value: "8-8-8", hint: "only an integer codebook size is supported")) {
            _ = try VQConfiguration(metadata: ["codebook_size": "8-8-8"], file: "f")
        }
    }
}
