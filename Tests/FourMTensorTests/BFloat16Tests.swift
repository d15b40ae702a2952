import Foundation
@testable import FourMTensor
import FourMTestSupport
import Testing

/// The bf16 path: conversion against hand-checked roundings, the oneDNN product against its
/// plain twin, and `Linear` in bf16 (converted at load, or taken as stored from a BF16 file).
///
/// Tolerance of the kernel-vs-twin check: both sides multiply the *same* bf16 values (the
/// twin rounds `x` with the same round-to-nearest-even rule, the weights are the same bits),
/// and a product of two bf16 numbers is exact in f32; they differ only in accumulation (f32 in
/// oneDNN, Double in the twin). With |terms| ≲ 10 and k ≤ 257 that is ≤ ~257·10·2⁻²⁴ ≈ 2e-4
/// in the worst case, so 1e-3 absolute is ample while any indexing or layout error (O(1)
/// differences) still fails.
@Suite struct BFloat16Tests {
    @Test func roundsToNearestEven() {
        #expect(bfloat16Bits(of: 1) == 0x3F80)
        #expect(bfloat16Bits(of: 1 + 0x1p-8) == 0x3F80)  // tie: stays even (1.0)
        #expect(bfloat16Bits(of: 1 + 3 * 0x1p-8) == 0x3F82)  // tie: goes to the even neighbour
        #expect(bfloat16Bits(of: 1 + 0x1p-8 + 0x1p-20) == 0x3F81)  // above the tie: rounds up
        #expect(bfloat16Bits(of: -2.5) == 0xC020)
        #expect(bfloat16Bits(of: .infinity) == 0x7F80)
        #expect(bfloat16Bits(of: .greatestFiniteMagnitude) == 0x7F80)  // overflows to +inf
        #expect(floatFromBFloat16Bits(bfloat16Bits(of: .nan)).isNaN)
        for value: Float in [0, -0.0, 1, -3.5, 1e-30, 65504] {
            let rounded = floatFromBFloat16Bits(bfloat16Bits(of: value))
            #expect(abs(rounded - value) <= abs(value) * 0x1p-8, "\(value)")
        }
    }

    static let sizes: [(Int, Int, Int)] = [(1, 1, 1), (3, 33, 5), (7, 3, 64), (33, 17, 19), (5, 257, 128), (197, 96, 80)]

    @Test(.enabled(if: ComputePrecision.bf16Supported, "oneDNN has no bf16 on this CPU"), arguments: sizes)
    func oneDNNMatchesReference(m: Int, k: Int, n: Int) throws {
        var rng = SeededGenerator(seed: UInt64(m * 7919 + k * 31 + n))
        let x = Tensor<Float>.randomNormal(shape: [m, k], using: &rng)
        let w = BFloat16Matrix(Tensor<Float>.randomNormal(shape: [n, k], std: 0.5, using: &rng))
        let bias = Tensor<Float>.randomNormal(shape: [n], using: &rng)
        for withBias in [false, true] {
            var fast = [Float](repeating: .nan, count: m * n), slow = fast
            let ok = x.withUnsafeBufferPointer { px in
                bias.withUnsafeBufferPointer { pb in
                    bfloat16LinearReference(px.baseAddress!, rows: m, weight: w, bias: withBias ? pb.baseAddress : nil, out: &slow)
                    return bfloat16Linear(px.baseAddress!, rows: m, weight: w, bias: withBias ? pb.baseAddress : nil, out: &fast)
                }
            }
            #expect(ok)
            expectClose(fast, slow, atol: 1e-3, "bf16 linear bias=\(withBias)")
        }
    }

    @Test(.enabled(if: ComputePrecision.bf16Supported, "oneDNN has no bf16 on this CPU"))
    func primitivesAreCachedPerShape() throws {
        let runtime = try #require(OneDNNRuntime.shared)
        var rng = SeededGenerator(seed: 5)
        let layer = Linear(weight: .randomNormal(shape: [11, 13], using: &rng), bias: nil, precision: .bf16)
        let x = Tensor<Float>.randomNormal(shape: [29, 13], using: &rng)
        _ = layer(x)
        let count = runtime.cachedPrimitiveCount
        _ = layer(x)
        _ = layer(x)
        #expect(runtime.cachedPrimitiveCount == count)
    }

    /// bf16 against fp32 on one layer: the error is the rounding of x and W (2⁻⁹ relative
    /// each), which over a dot product of k random terms stays near 2⁻⁹·|x|·|w|·√k.
    @Test(.enabled(if: ComputePrecision.bf16Supported, "oneDNN has no bf16 on this CPU"))
    func linearInBF16IsCloseToFP32() throws {
        var rng = SeededGenerator(seed: 9)
        let w = Tensor<Float>.randomNormal(shape: [64, 256], std: 0.05, using: &rng)
        let b = Tensor<Float>.randomNormal(shape: [64], using: &rng)
        let x = Tensor<Float>.randomNormal(shape: [2, 10, 256], using: &rng)
        let fp32 = Linear(weight: w, bias: b)(x)
        let layer = Linear(weight: w, bias: b, precision: .bf16)
        #expect(layer.precision == .bf16)
        let bf16 = layer(x)
        #expect(bf16.shape == [2, 10, 64])
        // |x·w| ~ 0.05·√256 = 0.8; two roundings of 2⁻⁹ each over 16 effective terms: ~0.01.
        expectClose(bf16.scalars, fp32.scalars, atol: 0.02, "bf16 vs fp32")
        #expect(zip(bf16.scalars, fp32.scalars).contains { $0 != $1 }, "bf16 path was not taken")
    }

    /// A BF16 file's weights are used bit for bit (no re-rounding), and the store's precision
    /// reaches the layer.
    @Test(.enabled(if: ComputePrecision.bf16Supported, "oneDNN has no bf16 on this CPU"))
    func bf16FileWeightsAreTakenAsStored() throws {
        var rng = SeededGenerator(seed: 3)
        let w = Tensor<Float>.randomNormal(shape: [6, 8], using: &rng)
        var writer = SafeTensorsWriter()
        writer.add("layer.weight", w, as: .bf16)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bf16-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try writer.write(to: path)
        let store = WeightStore(try SafeTensorsFile(path: path))
        store.precision = .bf16
        let layer = try Linear(store.scoped("layer"), inputs: 8, outputs: 6, bias: false)
        let bits = try #require(layer.weightBF16)
        for i in 0..<48 { #expect(bits.storage[i] == bfloat16Bits(of: w.scalars[i])) }
        let fp32Layer = try Linear(WeightStore(try SafeTensorsFile(path: path)).scoped("layer"), inputs: 8, outputs: 6, bias: false)
        #expect(fp32Layer.weightBF16 == nil)
    }

    /// Concurrent callers go through the BLAS gate (ComputePolicy) and share the primitive
    /// cache: eight threads get exactly the sequential result.
    @Test(.enabled(if: ComputePrecision.bf16Supported, "oneDNN has no bf16 on this CPU"))
    func concurrentCallersMatchSequentialBitForBit() {
        var rng = SeededGenerator(seed: 11)
        let layer = Linear(weight: .randomNormal(shape: [96, 128], using: &rng), bias: .randomNormal(shape: [96], using: &rng), precision: .bf16)
        let inputs = (0..<8).map { i in Tensor<Float>.randomNormal(shape: [17 + i, 128], using: &rng) }
        let sequential = inputs.map { layer($0).scalars }
        let results = ResultBox(count: inputs.count)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            results.set(i, layer(inputs[i]).scalars)
        }
        for i in 0..<8 { #expect(results.get(i) == sequential[i], "caller \(i)") }
    }

    @Test func fallbackRuleIsDocumented() {
        #expect(ComputePrecision.fp32.resolved == .fp32)
        #expect(ComputePrecision.bf16.resolved == (ComputePrecision.bf16Supported ? .bf16 : .fp32))
    }
}

/// Results written by concurrent callers, one slot each.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[Float]]
    init(count: Int) { values = Array(repeating: [], count: count) }
    func set(_ i: Int, _ value: [Float]) {
        lock.lock()
        values[i] = value
        lock.unlock()
    }
    func get(_ i: Int) -> [Float] {
        lock.lock()
        defer { lock.unlock() }
        return values[i]
    }
}
