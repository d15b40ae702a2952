import CDNNL
import CFourMKernels
import Foundation

// MARK: - bf16 conversion

/// bfloat16 bits of a float, rounding to nearest, ties to even (NaN stays a quiet NaN).
@inline(__always)
package func bfloat16Bits(of value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x40) }
    let rounding = 0x7FFF + ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
}

/// The float a bfloat16 bit pattern stands for (exact).
@inline(__always)
package func floatFromBFloat16Bits(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// Converts `count` floats to bf16 (round to nearest even, bit-identical to ``bfloat16Bits(of:)``),
/// in parallel chunks for large inputs, through the vectorised C kernel.
package func convertToBFloat16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int) {
    let (src, dst) = (SendableConstPointer(source), SendablePointer(destination))
    parallelChunks(count, minimumPerChunk: 65_536) { range in
        fourm_f32_to_bf16(src.base + range.lowerBound, dst.base + range.lowerBound, range.count, 1)
    }
}

/// Runs `body` with `count` floats of `source` rounded to bf16 in pooled scratch memory.
package func withBFloat16Copy<R>(_ source: UnsafePointer<Float>, count: Int, _ body: (UnsafePointer<UInt16>) -> R) -> R {
    ScratchPool.shared.withBuffer(of: UInt16.self, count: count) { bits in
        convertToBFloat16(source, bits, count: count)
        return body(bits)
    }
}

/// A row-major `[rows, columns]` matrix of bf16 bits, immutable after creation: the bf16 copy
/// of a `Linear` weight (`[outputs, inputs]`), made once at load.
package final class BFloat16Matrix: @unchecked Sendable {
    /// Rows (a Linear's outputs).
    package let rows: Int
    /// Columns (a Linear's inputs).
    package let columns: Int
    /// The bits, `rows * columns`, never written after `init`.
    package let storage: UnsafeMutableBufferPointer<UInt16>

    /// Rounds a float matrix to bf16 (nearest even).
    package convenience init(_ tensor: Tensor<Float>) {
        precondition(tensor.rank == 2, "BFloat16Matrix: rank-2 tensor expected, got \(tensor.shape)")
        self.init(rows: tensor.shape[0], columns: tensor.shape[1]) { out in
            tensor.withUnsafeBufferPointer { p in
                if let base = p.baseAddress, let dst = out.baseAddress { convertToBFloat16(base, dst, count: p.count) }
            }
        }
    }

    /// A matrix whose bits `fill` writes (every element).
    package init(rows: Int, columns: Int, fill: (UnsafeMutableBufferPointer<UInt16>) -> Void) {
        self.rows = rows
        self.columns = columns
        storage = .allocate(capacity: max(1, rows * columns))
        storage.initialize(repeating: 0)
        fill(UnsafeMutableBufferPointer(rebasing: storage[0..<(rows * columns)]))
    }

    deinit { storage.deallocate() }
}

// MARK: - oneDNN runtime

/// What a linear product does after adding its bias, fused into oneDNN's matmul as post-ops
/// (issue 14, item 2): one pass over the output instead of a separate element-wise pass.
package enum MatmulEpilogue {
    /// Nothing: `out = x·Wᵀ + b`.
    case none
    /// `out = out + (x·Wᵀ + b)`: the output holds a residual stream on entry (spec/model.md 4.5).
    case accumulate
    /// `out = act(x·Wᵀ + b)`, times the f32 `[M, N]` matrix `times` when given (the gated MLP's
    /// `act(fc1(x)) ⊙ fc3(x)`, spec/model.md 4.4). oneDNN's own SiLU and erf-GELU: bf16 models
    /// only (their values differ from FourM's fp32 kernels in the last bits).
    case activation(Activation, times: UnsafePointer<Float>?)

    fileprivate var kind: OneDNNRuntime.EpilogueKind {
        switch self {
        case .none: return .none
        case .accumulate: return .accumulate
        case let .activation(activation, times): return .activation(activation, times: times != nil)
        }
    }

    fileprivate var operand: UnsafePointer<Float>? {
        if case let .activation(_, times) = self { return times }
        return nil
    }
}

/// The process's oneDNN engine and stream, and its cache of matmul primitives by shape.
///
/// Every execution happens under ``ComputePolicy``'s BLAS gate (one matrix product at a time
/// per process, like OpenBLAS calls). Primitives are created under the cache's own lock,
/// outside the gate (oneDNN's primitive creation is thread-safe; it never nests with the gate).
package final class OneDNNRuntime: @unchecked Sendable {
    /// The runtime, or nil when oneDNN could not create a CPU engine.
    package static let shared: OneDNNRuntime? = OneDNNRuntime()

    /// True when oneDNN can run bf16 matrix products on this CPU at a useful speed: its
    /// effective ISA includes AVX-512 (avx512_core). Native bf16 instructions
    /// (`avx512_bf16`, AMX) make it faster still; without them oneDNN emulates bf16 dot
    /// products on AVX-512.
    package static var supportsBFloat16: Bool {
        guard shared != nil else { return false }
        return isaIncludes(dnnl_cpu_isa_avx512_core)
    }

    /// True when the CPU has native bf16 dot-product instructions (avx512_core_bf16 or AMX).
    package static var hasNativeBFloat16: Bool {
        guard shared != nil else { return false }
        return isaIncludes(dnnl_cpu_isa_avx512_core_bf16)
    }

    /// oneDNN's name for its effective ISA, e.g. `avx512_core_bf16`.
    package static var isaName: String {
        let isa = dnnl_get_effective_cpu_isa()
        let names: [(dnnl_cpu_isa_t, String)] = [
            (dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"), (dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"), (dnnl_cpu_isa_avx512_core, "avx512_core"),
            (dnnl_cpu_isa_avx2_vnni, "avx2_vnni"), (dnnl_cpu_isa_avx2, "avx2"), (dnnl_cpu_isa_avx, "avx"),
            (dnnl_cpu_isa_sse41, "sse41"),
        ]
        for (flag, name) in names where isa.rawValue & flag.rawValue == flag.rawValue { return name }
        return "any"
    }

    private static func isaIncludes(_ flag: dnnl_cpu_isa_t) -> Bool {
        dnnl_get_effective_cpu_isa().rawValue & flag.rawValue == flag.rawValue
    }

    private struct Key: Hashable {
        let m: Int, n: Int, k: Int, bias: Bool
        /// bf16 source and weights (the bf16 path); false: f32 throughout (``linearF32``).
        var bf16 = true
        /// Independent products of these sizes, stored one after another (attention heads).
        var batch = 1
        /// The weights are stored `[N, K]` (a Linear's layout, attention keys); false: `[K, N]`
        /// (attention values).
        var weightsTransposed = true
        /// The post-ops after the product and bias.
        var epilogue: EpilogueKind = .none
        /// The output is bf16 bits (an input of the next bf16 product); false: f32.
        var bf16Output = false
    }

    /// The shape of a ``MatmulEpilogue``, without its operand (part of a primitive's key).
    fileprivate enum EpilogueKind: Hashable {
        case none, accumulate
        case activation(Activation, times: Bool)
    }

    /// The process's CPU engine (convolutions share it).
    package let engine: dnnl_engine_t
    /// The stream every oneDNN primitive executes on, always under the BLAS gate.
    package let stream: dnnl_stream_t
    private let cacheLock = NSLock()
    /// Primitives by shape; guarded by `cacheLock`. A nil value records a shape oneDNN refused.
    private var primitives: [Key: dnnl_primitive_t?] = [:]

    private init?() {
        var engine: dnnl_engine_t?
        guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success, let engine else { return nil }
        var stream: dnnl_stream_t?
        guard dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success, let stream else {
            dnnl_engine_destroy(engine)
            return nil
        }
        self.engine = engine
        self.stream = stream
    }

    /// The number of cached primitives (tests and the bench).
    package var cachedPrimitiveCount: Int {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        return primitives.count
    }

    private static func descriptor(_ dims: [Int64], _ type: dnnl_data_type_t, _ strides: [Int64]) -> dnnl_memory_desc_t? {
        var md = dnnl_memory_desc_t()
        guard dnnl_memory_desc_init_by_strides(&md, Int32(dims.count), dims, type, strides) == dnnl_success else { return nil }
        return md
    }

    private func memoryDescriptors(_ key: Key) -> (src: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, bias: dnnl_memory_desc_t?, dst: dnnl_memory_desc_t)? {
        let (m, n, k) = (Int64(key.m), Int64(key.n), Int64(key.k))
        // src [M, K] bf16 (or f32) row-major; weights [K, N] bf16 (or f32) stored as the Linear's
        // [N, K] (strides 1, K) or, untransposed, row-major; dst [M, N] f32 row-major; bias
        // [1, N] f32. A batch adds a leading dimension, each operand's matrices back to back.
        let type = key.bf16 ? dnnl_bf16 : dnnl_f32
        let weightStrides: [Int64] = key.weightsTransposed ? [1, k] : [n, 1]
        let batched = key.batch > 1
        func shaped(_ dims: [Int64], _ strides: [Int64]) -> ([Int64], [Int64]) {
            batched ? ([Int64(key.batch)] + dims, [dims[0] * dims[1]] + strides) : (dims, strides)
        }
        let (srcDims, srcStrides) = shaped([m, k], [k, 1])
        let (weightDims, weightStrideList) = shaped([k, n], weightStrides)
        let (dstDims, dstStrides) = shaped([m, n], [n, 1])
        guard let src = Self.descriptor(srcDims, type, srcStrides),
            let weights = Self.descriptor(weightDims, type, weightStrideList),
            let dst = Self.descriptor(dstDims, key.bf16Output ? dnnl_bf16 : dnnl_f32, dstStrides)
        else { return nil }
        var bias: dnnl_memory_desc_t?
        if key.bias {
            guard let b = Self.descriptor([1, n], dnnl_f32, [n, 1]) else { return nil }
            bias = b
        }
        return (src, weights, bias, dst)
    }

    /// The cached primitive for a shape, created on first use; nil when oneDNN refuses it.
    private func primitive(_ key: Key) -> dnnl_primitive_t? {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = primitives[key] { return cached }
        var created: dnnl_primitive_t?
        if let mds = memoryDescriptors(key) {
            var (src, weights, dst) = (mds.src, mds.weights, mds.dst)
            var desc = dnnl_matmul_desc_t()
            let status: dnnl_status_t
            if var bias = mds.bias {
                status = dnnl_matmul_desc_init(&desc, &src, &weights, &bias, &dst)
            } else {
                status = dnnl_matmul_desc_init(&desc, &src, &weights, nil, &dst)
            }
            var pd: dnnl_primitive_desc_t?
            let attributes = Self.attributes(key)
            defer { if let attributes { dnnl_primitive_attr_destroy(attributes) } }
            if status == dnnl_success, key.epilogue == .none || attributes != nil,
                dnnl_primitive_desc_create(&pd, &desc, attributes, engine, nil) == dnnl_success, let pd
            {
                var primitive: dnnl_primitive_t?
                if dnnl_primitive_create(&primitive, pd) == dnnl_success { created = primitive }
                dnnl_primitive_desc_destroy(pd)
            }
        }
        primitives[key] = .some(created)
        return created
    }

    /// The gate's other factor of an `.activation(_, times: true)` epilogue: an f32 `[M, N]`
    /// matrix, row-major.
    private static func factorDescriptor(_ key: Key) -> dnnl_memory_desc_t? {
        descriptor([Int64(key.m), Int64(key.n)], dnnl_f32, [Int64(key.n), 1])
    }

    /// The primitive attributes carrying a key's post-ops (nil for none, or when oneDNN
    /// refuses them; the caller then refuses the shape).
    private static func attributes(_ key: Key) -> dnnl_primitive_attr_t? {
        guard key.epilogue != .none else { return nil }
        var postOps: dnnl_post_ops_t?
        guard dnnl_post_ops_create(&postOps) == dnnl_success, let postOps else { return nil }
        defer { dnnl_post_ops_destroy(postOps) }
        switch key.epilogue {
        case .none:
            return nil
        case .accumulate:
            // dst = 1·dst + (product + bias): one f32 addition of the residual, as `x + branch`.
            guard dnnl_post_ops_append_sum(postOps, 1) == dnnl_success else { return nil }
        case let .activation(activation, times):
            let algorithm = activation == .silu ? dnnl_eltwise_swish : dnnl_eltwise_gelu_erf
            guard dnnl_post_ops_append_eltwise(postOps, 1, algorithm, 1, 0) == dnnl_success else { return nil }
            if times {
                guard var other = factorDescriptor(key),
                    dnnl_post_ops_append_binary(postOps, dnnl_binary_mul, &other) == dnnl_success
                else { return nil }
            }
        }
        var attributes: dnnl_primitive_attr_t?
        guard dnnl_primitive_attr_create(&attributes) == dnnl_success, let attributes else { return nil }
        guard dnnl_primitive_attr_set_post_ops(attributes, postOps) == dnnl_success else {
            dnnl_primitive_attr_destroy(attributes)
            return nil
        }
        return attributes
    }

    /// True when oneDNN runs a bf16 linear product of this shape and epilogue (creating and
    /// caching its primitive on first use). A fused call whose primitive exists only fails if
    /// oneDNN fails to execute it, which leaves its output unspecified.
    package func supportsLinear(rows m: Int, weight: BFloat16Matrix, bias: Bool, epilogue: MatmulEpilogue) -> Bool {
        primitive(Key(m: m, n: weight.rows, k: weight.columns, bias: bias, epilogue: epilogue.kind)) != nil
    }

    /// True when oneDNN runs a bf16 linear product followed by `activation` (times an f32
    /// matrix when `gated`) with bf16 output (the first layer of a fused MLP).
    package func supportsLinear(rows m: Int, weight: BFloat16Matrix, bias: Bool, activation: Activation, gated: Bool) -> Bool {
        let key = Key(m: m, n: weight.rows, k: weight.columns, bias: bias, epilogue: .activation(activation, times: gated), bf16Output: true)
        return primitive(key) != nil
    }

    /// `out[M, N] = bf16(x)[M, K] · weightᵀ + bias` with f32 accumulation. `x` is converted
    /// into `scratch` (`M * K` elements). Returns false (writing nothing useful) when oneDNN
    /// refuses the shape or a call fails; the caller then computes in fp32.
    /// Holds the BLAS gate for the product, not while creating a new shape's primitive (see
    /// ``ComputePolicy``).
    package func linear(
        _ x: UnsafePointer<UInt16>, rows m: Int, weight: BFloat16Matrix, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>
    ) -> Bool {
        linear(x, rows: m, weight: weight, bias: bias, epilogue: .none, out: UnsafeMutableRawPointer(out), bf16Output: false)
    }

    /// `out[M, N] = epilogue(bf16(x)[M, K] · weightᵀ + bias)` with f32 accumulation: `out`
    /// holds floats, or bf16 bits when `bf16Output` (rounded to nearest even by oneDNN). With
    /// ``MatmulEpilogue/accumulate`` `out` holds the addend (f32) on entry. False when oneDNN
    /// refuses the shape (nothing written) or fails to execute it (see ``supportsLinear``).
    package func linear(
        _ x: UnsafePointer<UInt16>, rows m: Int, weight: BFloat16Matrix, bias: UnsafePointer<Float>?,
        epilogue: MatmulEpilogue, out: UnsafeMutableRawPointer, bf16Output: Bool
    ) -> Bool {
        guard let weightBase = weight.storage.baseAddress else { return false }
        let key = Key(m: m, n: weight.rows, k: weight.columns, bias: bias != nil, epilogue: epilogue.kind, bf16Output: bf16Output)
        return execute(key, x, weightBase, bias, out, other: epilogue.operand)
    }

    /// `out[M, N] = x[M, K] · weightᵀ + bias` in f32 through oneDNN's f32 matmul (`weight` a
    /// Linear's `[N, K]`). FourM's fp32 path does not use it (OpenBLAS is the parity path;
    /// `fourm-bench --only sgemm` compares the two at the 4M shapes); false when oneDNN refuses.
    package func linearF32(
        _ x: UnsafePointer<Float>, rows m: Int, weight: UnsafePointer<Float>, outputs n: Int, inputs k: Int,
        bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>
    ) -> Bool {
        linearF32(x, rows: m, weight: weight, outputs: n, inputs: k, bias: bias, accumulate: false, out: out)
    }

    /// ``linearF32(_:rows:weight:outputs:inputs:bias:out:)``, adding the product to what `out`
    /// holds when `accumulate` (one f32 addition per element after the bias, as `out + (x·Wᵀ + b)`).
    package func linearF32(
        _ x: UnsafePointer<Float>, rows m: Int, weight: UnsafePointer<Float>, outputs n: Int, inputs k: Int,
        bias: UnsafePointer<Float>?, accumulate: Bool, out: UnsafeMutablePointer<Float>
    ) -> Bool {
        if m == 0 || n == 0 { return true }
        let key = Key(m: m, n: n, k: k, bias: bias != nil, bf16: false, epilogue: accumulate ? .accumulate : .none)
        return execute(key, x, weight, bias, out, other: nil)
    }

    /// True when oneDNN runs an f32 linear product of this shape (see ``supportsLinear``).
    package func supportsLinearF32(rows m: Int, outputs n: Int, inputs k: Int, bias: Bool, accumulate: Bool) -> Bool {
        primitive(Key(m: m, n: n, k: k, bias: bias, bf16: false, epilogue: accumulate ? .accumulate : .none)) != nil
    }

    /// `batch` products `out[i] = a[i] · b[i]` (or `a[i] · b[i]ᵀ` when `transposedB`) of bf16
    /// (or f32) matrices with f32 accumulation and output: `a` is `[batch, M, K]`, `b` is `[batch, N, K]`
    /// (transposed) or `[batch, K, N]`, `out` is `[batch, M, N]`, all row-major and packed.
    /// False when oneDNN refuses the shapes or a call fails (nothing useful written).
    /// `bf16` false: `a` and `b` hold f32 (f32 products throughout).
    package func batchedProduct(
        _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, bf16: Bool, batch: Int, m: Int, n: Int, k: Int,
        transposedB: Bool, out: UnsafeMutablePointer<Float>
    ) -> Bool {
        if batch == 0 || m == 0 || n == 0 { return true }
        let key = Key(m: m, n: n, k: k, bias: false, bf16: bf16, batch: batch, weightsTransposed: transposedB)
        return execute(key, a, b, nil, out, other: nil)
    }

    private func execute(
        _ key: Key, _ x: UnsafeRawPointer, _ weightBase: UnsafeRawPointer, _ bias: UnsafePointer<Float>?,
        _ out: UnsafeMutableRawPointer, other: UnsafePointer<Float>?
    ) -> Bool {
        // Created (JIT-compiled, the expensive part) under the cache lock only, so a new shape
        // never holds the BLAS gate that every other caller's products wait on.
        guard let primitive = primitive(key), let mds = memoryDescriptors(key) else { return false }
        return ComputePolicy.withBLAS {
            omp_set_num_threads(Int32(ComputePolicy.threadCount))
            var memories: [dnnl_memory_t] = []
            defer { for memory in memories { dnnl_memory_destroy(memory) } }
            func memory(_ md: dnnl_memory_desc_t, _ handle: UnsafeRawPointer) -> dnnl_memory_t? {
                var md = md
                var memory: dnnl_memory_t?
                guard dnnl_memory_create(&memory, &md, engine, UnsafeMutableRawPointer(mutating: handle)) == dnnl_success,
                    let memory
                else { return nil }
                memories.append(memory)
                return memory
            }
            guard let src = memory(mds.src, x), let wts = memory(mds.weights, weightBase), let dst = memory(mds.dst, out)
            else { return false }
            var args = [
                dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: src), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: wts),
                dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: dst),
            ]
            if let bias, let biasMD = mds.bias {
                guard let b = memory(biasMD, bias) else { return false }
                args.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: b))
            }
            if case .activation(_, times: true) = key.epilogue {
                // The binary post-op is the second (index 1): DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1.
                guard let other, let otherMD = Self.factorDescriptor(key),
                    let factor = memory(otherMD, other)
                else { return false }
                args.append(dnnl_exec_arg_t(arg: DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE * 2 | DNNL_ARG_SRC_1, memory: factor))
            }
            guard dnnl_primitive_execute(primitive, stream, Int32(args.count), args) == dnnl_success else { return false }
            return dnnl_stream_wait(stream) == dnnl_success
        }
    }
}

// MARK: - fp32 linear through oneDNN

/// True when fp32 `Linear` layers of more than a few rows multiply through oneDNN's f32 matmul
/// rather than OpenBLAS sgemm, decided once at launch:
/// - `FOURM_FP32_MATMUL=onednn` or `=openblas` chooses;
/// - otherwise oneDNN when libgomp's threads sleep between calls (`OMP_WAIT_POLICY=passive`,
///   which FourM's executables set for themselves), OpenBLAS when they may spin: spinning
///   OpenMP threads would take the cores of the OpenBLAS calls that follow each product.
///
/// Both pass every parity suite at the same tolerances (`scripts/parity-all-kernels.sh` runs
/// the OpenBLAS families with `openblas` and a separate `onednn` run). Measured on a quiet
/// 2-core AVX2 machine, the 4M-21_B pass took 0.66× the time with oneDNN
/// (`Documentation/Performance.md`).
package let fp32LinearUsesOneDNN: Bool = {
    let environment = ProcessInfo.processInfo.environment
    switch environment["FOURM_FP32_MATMUL"]?.lowercased() {
    case "onednn": return OneDNNRuntime.shared != nil
    case "openblas": return false
    default: return environment["OMP_WAIT_POLICY"]?.lowercased() == "passive" && OneDNNRuntime.shared != nil
    }
}()

extension ComputePrecision {
    /// True when work in this precision takes the oneDNN-side kernels: bf16 (resolved), or fp32
    /// where ``fp32LinearUsesOneDNN``. Attention then runs on oneDNN's batched matmul and
    /// LayerNorm on the vectorised C kernel; otherwise the OpenBLAS parity kernels run.
    package var runsOnOneDNN: Bool { resolved == .bf16 || fp32LinearUsesOneDNN }
}

/// `x · Wᵀ + b` in f32 through oneDNN, or nil when oneDNN cannot run it (the caller uses sgemm).
package func linearOneDNNF32(_ x: Tensor<Float>, weight: Tensor<Float>, bias: Tensor<Float>?) -> Tensor<Float>? {
    guard let runtime = OneDNNRuntime.shared, weight.rank == 2 else { return nil }
    let k = weight.shape[1], n = weight.shape[0]
    guard x.shape.last == k else { return nil }
    return weight.withUnsafeBufferPointer { pw in
        guard let w = pw.baseAddress else { return nil }
        return linearProduct(x, inputs: k, outputs: n, bias: bias) { src, rows, pb, dst in
            runtime.linearF32(src, rows: rows, weight: w, outputs: n, inputs: k, bias: pb, out: dst)
        }
    }
}

/// The tensor plumbing of a linear layer's product: `x` `[…, inputs]` in, a new `[…, outputs]`
/// tensor out, written by `product(x, rows, bias, out)`; nil when `product` returns false (the
/// caller then computes another way).
package func linearProduct(
    _ x: Tensor<Float>, inputs k: Int, outputs n: Int, bias: Tensor<Float>?,
    _ product: (UnsafePointer<Float>, Int, UnsafePointer<Float>?, UnsafeMutablePointer<Float>) -> Bool
) -> Tensor<Float>? {
    let rows = x.count / max(k, 1)
    var outShape = x.shape
    outShape[outShape.count - 1] = n
    var ok = false
    let y = Tensor<Float>(shape: outShape) { out in
        // An empty input or output has nothing to compute.
        guard let dst = out.baseAddress else { ok = true; return }
        x.withUnsafeBufferPointer { px in
            guard let src = px.baseAddress else { ok = true; return }
            withOptionalPointer(bias) { pb in ok = product(src, rows, pb, dst) }
        }
    }
    return ok ? y : nil
}

// MARK: - bf16 linear

/// `out[M, N] = x[M, K] · Wᵀ + bias` in bf16 with f32 accumulation: `x` rounded to bf16 per
/// call, `weight` the bf16 copy made at load. Returns false when oneDNN cannot run the product
/// (no runtime, refused shape); the caller then computes in fp32.
package func bfloat16Linear(
    _ x: UnsafePointer<Float>, rows m: Int, weight: BFloat16Matrix, bias: UnsafePointer<Float>?,
    out: UnsafeMutablePointer<Float>
) -> Bool {
    guard let runtime = OneDNNRuntime.shared else { return false }
    if m == 0 || weight.rows == 0 { return true }
    return withBFloat16Copy(x, count: m * weight.columns) { bits in
        runtime.linear(bits, rows: m, weight: weight, bias: bias, out: out)
    }
}

/// Plain twin of ``bfloat16Linear``: `x` rounded to bf16 (nearest even), products of the exact
/// bf16 values accumulated in Double, then the f32 bias added. Used by tests.
package func bfloat16LinearReference(
    _ x: UnsafePointer<Float>, rows m: Int, weight: BFloat16Matrix, bias: UnsafePointer<Float>?,
    out: UnsafeMutablePointer<Float>
) {
    let (n, k) = (weight.rows, weight.columns)
    for i in 0..<m {
        for j in 0..<n {
            var sum: Double = 0
            for p in 0..<k {
                let a = Double(floatFromBFloat16Bits(bfloat16Bits(of: x[i * k + p])))
                let b = Double(floatFromBFloat16Bits(weight.storage[j * k + p]))
                sum += a * b
            }
            out[i * n + j] = Float(sum) + (bias?[j] ?? 0)
        }
    }
}
