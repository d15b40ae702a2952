/// Self-attention keys and values of the positions decoded so far, for one decoder block:
/// `[B, capacity, D]` buffers filled up to `count` (autoregressive decoding, spec/model.md 5.7 (b)).
package struct KeyValueCache: Sendable {
    package private(set) var keys: Tensor<Float>
    package private(set) var values: Tensor<Float>
    package private(set) var count = 0
    package let capacity: Int

    package init(batch: Int, capacity: Int, dim: Int) {
        keys = Tensor(zeros: [batch, capacity, dim])
        values = Tensor(zeros: [batch, capacity, dim])
        self.capacity = capacity
    }

    /// Appends one position: k, v `[B, 1, D]`.
    package mutating func append(k: Tensor<Float>, v: Tensor<Float>) {
        precondition(count < capacity, "KeyValueCache: capacity \(capacity) exceeded")
        let (batch, cap, dim) = (keys.shape[0], capacity, keys.shape[2])
        let position = count
        keys.withUnsafeMutableBufferPointer { dst in
            k.withUnsafeBufferPointer { src in
                for b in 0..<batch { (dst.baseAddress! + (b * cap + position) * dim).update(from: src.baseAddress! + b * dim, count: dim) }
            }
        }
        values.withUnsafeMutableBufferPointer { dst in
            v.withUnsafeBufferPointer { src in
                for b in 0..<batch { (dst.baseAddress! + (b * cap + position) * dim).update(from: src.baseAddress! + b * dim, count: dim) }
            }
        }
        count += 1
    }
}

extension SelfAttention {
    /// One new position `x` `[B, 1, D]` attending to the cached prefix plus itself (the causal
    /// mask of the recompute-everything loop, without recomputing): `[B, 1, D]`.
    package func callAsFunction(step x: Tensor<Float>, cache: inout KeyValueCache) -> Tensor<Float> {
        let (q, k, v) = project(x)
        cache.append(k: k, v: v)
        let (batch, dim) = (x.shape[0], x.shape[2])
        let out = Tensor<Float>(shape: [batch, 1, dim]) { out in
            q.withUnsafeBufferPointer { pq in
                cache.keys.withUnsafeBufferPointer { pk in
                    cache.values.withUnsafeBufferPointer { pv in
                        attentionKernel(q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!, out: out.baseAddress!,
                                        batch: batch, queries: 1, keys: cache.count, heads: heads, headDim: dim / heads,
                                        mask: nil, keyBatchStride: cache.capacity * dim)
                    }
                }
            }
        }
        return proj(out)
    }
}

extension DecoderBlock {
    /// One autoregressive position through the block, using and extending `cache`.
    package func callAsFunction(
        step x: Tensor<Float>, cache: inout KeyValueCache, contextKV: (k: Tensor<Float>, v: Tensor<Float>), crossMask: AttentionMask
    ) -> Tensor<Float> {
        var h = x + selfAttn(step: norm1(x), cache: &cache)
        h = h + crossAttn.attend(queryNorm(h), k: contextKV.k, v: contextKV.v, mask: crossMask)
        return h + mlp(norm2(h))
    }
}
