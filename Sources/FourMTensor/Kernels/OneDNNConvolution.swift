import CDNNL
import Foundation

// MARK: - oneDNN forward convolution (bf16 or f32), NCHW in and out

/// The arithmetic of a ``OneDNNConvolution``.
package enum OneDNNConvolutionType: Sendable, Hashable {
    /// src and weights rounded to bf16 (nearest even), f32 accumulation, f32 bias and output.
    case bf16
    /// Everything f32.
    case f32

    var sourceType: dnnl_data_type_t { self == .bf16 ? dnnl_bf16 : dnnl_f32 }
}

/// The cache of oneDNN convolution primitives by geometry, on the process's one engine and
/// stream (those of ``OneDNNRuntime/shared``).
///
/// Each cached geometry keeps the primitive, the reorders between FourM's NCHW f32 tensors and
/// the layouts the primitive chose (`dnnl_format_tag_any`: blocked `nChw16c` on AVX-512), and
/// the buffers of the blocked input and output. Those buffers are used only while the BLAS gate
/// (``ComputePolicy/withBLAS(_:)``) is held, so one set per geometry is enough; creation
/// happens under the cache's own lock, never nested with the gate.
package final class OneDNNConvolutionRuntime: @unchecked Sendable {
    /// The runtime, or nil when oneDNN could not create a CPU engine.
    package static let shared: OneDNNConvolutionRuntime? = OneDNNConvolutionRuntime()

    struct Key: Hashable {
        let batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int
        let kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int, bias: Bool
        let type: OneDNNConvolutionType
    }

    /// One geometry's primitive, layouts, reorders and blocked buffers (freed with the runtime).
    final class Entry {
        let primitive: dnnl_primitive_t
        let sourceDescriptor: dnnl_memory_desc_t
        let weightsDescriptor: dnnl_memory_desc_t
        let destinationDescriptor: dnnl_memory_desc_t
        let userSource: dnnl_memory_desc_t        // NCHW f32
        let userDestination: dnnl_memory_desc_t   // NCHW f32
        let biasDescriptor: dnnl_memory_desc_t?
        /// NCHW f32 → the primitive's src layout (and type); nil when they are equal.
        let sourceReorder: dnnl_primitive_t?
        /// The primitive's dst layout → NCHW f32; nil when it already is NCHW.
        let destinationReorder: dnnl_primitive_t?
        let sourceBuffer: UnsafeMutableRawPointer?
        let destinationBuffer: UnsafeMutableRawPointer?
        /// oneDNN's name of the implementation it picked (e.g. `jit:avx512_core_bf16`).
        let implementation: String

        init(
            primitive: dnnl_primitive_t, sourceDescriptor: dnnl_memory_desc_t, weightsDescriptor: dnnl_memory_desc_t,
            destinationDescriptor: dnnl_memory_desc_t, userSource: dnnl_memory_desc_t, userDestination: dnnl_memory_desc_t,
            biasDescriptor: dnnl_memory_desc_t?, sourceReorder: dnnl_primitive_t?, destinationReorder: dnnl_primitive_t?,
            implementation: String
        ) {
            self.primitive = primitive
            self.sourceDescriptor = sourceDescriptor
            self.weightsDescriptor = weightsDescriptor
            self.destinationDescriptor = destinationDescriptor
            self.userSource = userSource
            self.userDestination = userDestination
            self.biasDescriptor = biasDescriptor
            self.sourceReorder = sourceReorder
            self.destinationReorder = destinationReorder
            self.implementation = implementation
            var s = sourceDescriptor, d = destinationDescriptor
            sourceBuffer = sourceReorder == nil ? nil : .allocate(byteCount: max(64, dnnl_memory_desc_get_size(&s)), alignment: 64)
            destinationBuffer = destinationReorder == nil ? nil : .allocate(byteCount: max(64, dnnl_memory_desc_get_size(&d)), alignment: 64)
        }

        deinit {
            dnnl_primitive_destroy(primitive)
            if let sourceReorder { dnnl_primitive_destroy(sourceReorder) }
            if let destinationReorder { dnnl_primitive_destroy(destinationReorder) }
            sourceBuffer?.deallocate()
            destinationBuffer?.deallocate()
        }
    }

    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    private let cacheLock = NSLock()
    /// Entries by geometry; guarded by `cacheLock`. A nil value records a geometry oneDNN refused.
    private var entries: [Key: Entry?] = [:]

    /// Uses the engine and stream of ``OneDNNRuntime/shared`` (one CPU engine per process).
    private init?() {
        guard let runtime = OneDNNRuntime.shared else { return nil }
        engine = runtime.engine
        stream = runtime.stream
    }

    /// The number of cached geometries (tests and the bench).
    package var cachedPrimitiveCount: Int {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        return entries.count
    }

    static func descriptor(_ dims: [Int64], _ type: dnnl_data_type_t, _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t? {
        var md = dnnl_memory_desc_t()
        guard dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dims, type, tag) == dnnl_success else { return nil }
        return md
    }

    func reorder(from source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t) -> dnnl_primitive_t? {
        var (s, d) = (source, destination)
        var pd: dnnl_primitive_desc_t?
        guard dnnl_reorder_primitive_desc_create(&pd, &s, engine, &d, engine, nil) == dnnl_success, let pd else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        var primitive: dnnl_primitive_t?
        guard dnnl_primitive_create(&primitive, pd) == dnnl_success else { return nil }
        return primitive
    }

    /// The cached entry of a geometry, created on first use; nil when oneDNN refuses it.
    func entry(_ key: Key) -> Entry? {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = entries[key] { return cached }
        let created = makeEntry(key)
        entries[key] = .some(created)
        return created
    }

    private func makeEntry(_ key: Key) -> Entry? {
        let oh = (key.height + 2 * key.padding - key.kernelHeight) / key.stride + 1
        let ow = (key.width + 2 * key.padding - key.kernelWidth) / key.stride + 1
        guard oh >= 1, ow >= 1 else { return nil }
        let (n, c, h, w, o) = (Int64(key.batch), Int64(key.inChannels), Int64(key.height), Int64(key.width), Int64(key.outChannels))
        let type = key.type.sourceType
        guard var src = Self.descriptor([n, c, h, w], type, dnnl_format_tag_any),
            var weights = Self.descriptor([o, c, Int64(key.kernelHeight), Int64(key.kernelWidth)], type, dnnl_format_tag_any),
            var dst = Self.descriptor([n, o, Int64(oh), Int64(ow)], dnnl_f32, dnnl_format_tag_any),
            let userSource = Self.descriptor([n, c, h, w], dnnl_f32, dnnl_nchw),
            let userDestination = Self.descriptor([n, o, Int64(oh), Int64(ow)], dnnl_f32, dnnl_nchw)
        else { return nil }
        let biasMD = key.bias ? Self.descriptor([o], dnnl_f32, dnnl_x) : nil
        if key.bias && biasMD == nil { return nil }
        let strides: [Int64] = [Int64(key.stride), Int64(key.stride)]
        let padding: [Int64] = [Int64(key.padding), Int64(key.padding)]
        var desc = dnnl_convolution_desc_t()
        let status: dnnl_status_t
        if var bias = biasMD {
            status = dnnl_convolution_forward_desc_init(
                &desc, dnnl_forward_inference, dnnl_convolution_direct, &src, &weights, &bias, &dst, strides, padding, padding)
        } else {
            status = dnnl_convolution_forward_desc_init(
                &desc, dnnl_forward_inference, dnnl_convolution_direct, &src, &weights, nil, &dst, strides, padding, padding)
        }
        guard status == dnnl_success else { return nil }
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &desc, nil, engine, nil) == dnnl_success, let pd else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        guard let srcChosen = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0)?.pointee,
            let weightsChosen = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)?.pointee,
            let dstChosen = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0)?.pointee
        else { return nil }
        var implementation = "?"
        var info: UnsafePointer<CChar>?
        if dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) == dnnl_success, let info {
            implementation = String(cString: info)
        }
        var primitive: dnnl_primitive_t?
        guard dnnl_primitive_create(&primitive, pd) == dnnl_success, let primitive else { return nil }
        var (s1, s2, d1, d2) = (userSource, srcChosen, dstChosen, userDestination)
        var sourceReorder: dnnl_primitive_t?
        var destinationReorder: dnnl_primitive_t?
        if dnnl_memory_desc_equal(&s1, &s2) == 0 {
            sourceReorder = reorder(from: userSource, to: srcChosen)
            if sourceReorder == nil {
                dnnl_primitive_destroy(primitive)
                return nil
            }
        }
        if dnnl_memory_desc_equal(&d1, &d2) == 0 {
            destinationReorder = reorder(from: dstChosen, to: userDestination)
            if destinationReorder == nil {
                dnnl_primitive_destroy(primitive)
                if let sourceReorder { dnnl_primitive_destroy(sourceReorder) }
                return nil
            }
        }
        return Entry(
            primitive: primitive, sourceDescriptor: srcChosen, weightsDescriptor: weightsChosen, destinationDescriptor: dstChosen,
            userSource: userSource, userDestination: userDestination, biasDescriptor: biasMD, sourceReorder: sourceReorder,
            destinationReorder: destinationReorder, implementation: implementation)
    }

    /// Runs `body` with oneDNN memory objects made by `memory(descriptor, pointer)`, destroyed
    /// afterwards; returns false when a memory object cannot be made.
    func withMemories(_ body: (_ memory: (dnnl_memory_desc_t, UnsafeRawPointer) -> dnnl_memory_t?) -> Bool) -> Bool {
        var memories: [dnnl_memory_t] = []
        defer { for memory in memories { dnnl_memory_destroy(memory) } }
        return body { md, handle in
            var md = md
            var memory: dnnl_memory_t?
            guard dnnl_memory_create(&memory, &md, engine, UnsafeMutableRawPointer(mutating: handle)) == dnnl_success, let memory
            else { return nil }
            memories.append(memory)
            return memory
        }
    }

    /// Executes one primitive on the stream and waits.
    func execute(_ primitive: dnnl_primitive_t, _ args: [dnnl_exec_arg_t]) -> Bool {
        guard dnnl_primitive_execute(primitive, stream, Int32(args.count), args) == dnnl_success else { return false }
        return dnnl_stream_wait(stream) == dnnl_success
    }
}

/// A convolution layer's weights for oneDNN, reordered once into the layout its primitives
/// prefer (bf16 for ``OneDNNConvolutionType/bf16``), and kept with the layer.
///
/// The layout a primitive prefers is known only once a geometry (batch, height, width) is
/// seen; the first call at each geometry looks its weight layout up among those already made
/// and reorders the fp32 `[O, C, kh, kw]` weight only when it is new (on AVX-512 every geometry
/// of a layer asks for the same blocked layout, so the weight is reordered once per layer).
package final class OneDNNConvolution: @unchecked Sendable {
    /// The arithmetic.
    package let type: OneDNNConvolutionType
    /// The fp32 weight `[O, C, kh, kw]` (PyTorch layout) the reordered copies come from.
    package let weight: Tensor<Float>
    /// The fp32 bias `[O]`, or nil.
    package let bias: Tensor<Float>?
    package let stride: Int
    package let padding: Int

    private struct Prepared {
        let descriptor: dnnl_memory_desc_t
        let buffer: UnsafeMutableRawPointer
    }

    private let lock = NSLock()
    /// Reordered weights; guarded by `lock`, each buffer never written after it is added.
    private var prepared: [Prepared] = []

    /// A convolution of `weight` `[O, C, kh, kw]` (one group) and `bias` `[O]`.
    package init(weight: Tensor<Float>, bias: Tensor<Float>?, stride: Int, padding: Int, type: OneDNNConvolutionType) {
        precondition(weight.rank == 4 && stride >= 1 && padding >= 0, "OneDNNConvolution: weight \(weight.shape), stride \(stride), padding \(padding)")
        precondition(bias == nil || bias?.shape == [weight.shape[0]], "OneDNNConvolution: bias does not fit weight \(weight.shape)")
        self.type = type
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
    }

    deinit {
        for p in prepared { p.buffer.deallocate() }
    }

    /// True when oneDNN creates convolutions of `type` on this CPU at all (a probe on a tiny
    /// geometry). bf16 needs AVX-512 in oneDNN 2.6; where this is true but
    /// `ComputePrecision.bf16Supported` is false, layers still run fp32 (tests use this to
    /// check the kernel wherever oneDNN accepts it).
    package static func isAvailable(_ type: OneDNNConvolutionType) -> Bool {
        type == .bf16 ? bf16Probe : f32Probe
    }

    private static let bf16Probe = probe(.bf16)
    private static let f32Probe = probe(.f32)

    private static func probe(_ type: OneDNNConvolutionType) -> Bool {
        let conv = OneDNNConvolution(weight: Tensor(repeating: 1, shape: [16, 16, 3, 3]), bias: nil, stride: 1, padding: 1, type: type)
        return conv(Tensor(repeating: 1, shape: [1, 16, 4, 4])) != nil
    }

    /// The number of weight layouts made so far (1 after the first call on AVX-512).
    package var preparedLayoutCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return prepared.count
    }

    /// The weight in `descriptor`'s layout, reordered on first request. Holds the BLAS gate
    /// for the reorder only.
    private func weights(in descriptor: dnnl_memory_desc_t, runtime: OneDNNConvolutionRuntime) -> UnsafeMutableRawPointer? {
        lock.lock()
        defer { lock.unlock() }
        var wanted = descriptor
        for p in prepared {
            var have = p.descriptor
            if dnnl_memory_desc_equal(&have, &wanted) != 0 { return p.buffer }
        }
        let dims = weight.shape.map { Int64($0) }
        guard let user = OneDNNConvolutionRuntime.descriptor(dims, dnnl_f32, dnnl_oihw),
            let reorder = runtime.reorder(from: user, to: descriptor)
        else { return nil }
        defer { dnnl_primitive_destroy(reorder) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(64, dnnl_memory_desc_get_size(&wanted)), alignment: 64)
        let ok = weight.withUnsafeBufferPointer { pw -> Bool in
            guard let base = pw.baseAddress else { return false }
            return ComputePolicy.withBLAS {
                omp_set_num_threads(Int32(ComputePolicy.threadCount))
                return runtime.withMemories { memory in
                    guard let from = memory(user, base), let to = memory(descriptor, buffer) else { return false }
                    return runtime.execute(reorder, [
                        dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: from), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: to),
                    ])
                }
            }
        }
        guard ok else {
            buffer.deallocate()
            return nil
        }
        prepared.append(Prepared(descriptor: descriptor, buffer: buffer))
        return buffer
    }

    /// The implementation oneDNN picks at a geometry (e.g. `jit:avx512_core_bf16`), nil when refused.
    package func implementation(batch: Int, height: Int, width: Int) -> String? {
        guard let runtime = OneDNNConvolutionRuntime.shared else { return nil }
        return runtime.entry(key(batch: batch, height: height, width: width))?.implementation
    }

    private func key(batch: Int, height: Int, width: Int) -> OneDNNConvolutionRuntime.Key {
        OneDNNConvolutionRuntime.Key(
            batch: batch, inChannels: weight.shape[1], height: height, width: width, outChannels: weight.shape[0],
            kernelHeight: weight.shape[2], kernelWidth: weight.shape[3], stride: stride, padding: padding, bias: bias != nil,
            type: type)
    }

    /// x: `[B, C, H, W]` NCHW f32 → out: `[B, O, H', W']` NCHW f32. Returns false (out not
    /// written usefully) when oneDNN cannot run the geometry; the caller then computes in fp32.
    /// Holds the BLAS gate for the executions, not while creating a geometry's primitive.
    package func run(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, out: UnsafeMutablePointer<Float>) -> Bool {
        guard let runtime = OneDNNConvolutionRuntime.shared,
            let entry = runtime.entry(key(batch: batch, height: height, width: width)),
            let weights = weights(in: entry.weightsDescriptor, runtime: runtime)
        else { return false }
        return withOptionalPointer(bias) { pb in
            ComputePolicy.withBLAS {
                omp_set_num_threads(Int32(ComputePolicy.threadCount))
                return runtime.withMemories { memory in
                    guard let userSource = memory(entry.userSource, x), let userDestination = memory(entry.userDestination, out),
                        let weightMemory = memory(entry.weightsDescriptor, weights)
                    else { return false }
                    var source = userSource
                    if let reorder = entry.sourceReorder {
                        guard let buffer = entry.sourceBuffer, let blocked = memory(entry.sourceDescriptor, buffer),
                            runtime.execute(reorder, [
                                dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: userSource), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: blocked),
                            ])
                        else { return false }
                        source = blocked
                    }
                    var destination = userDestination
                    if entry.destinationReorder != nil {
                        guard let buffer = entry.destinationBuffer, let blocked = memory(entry.destinationDescriptor, buffer) else { return false }
                        destination = blocked
                    }
                    var args = [
                        dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: source), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: weightMemory),
                        dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: destination),
                    ]
                    if let pb, let biasMD = entry.biasDescriptor {
                        guard let b = memory(biasMD, pb) else { return false }
                        args.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: b))
                    }
                    guard runtime.execute(entry.primitive, args) else { return false }
                    if let reorder = entry.destinationReorder {
                        return runtime.execute(reorder, [
                            dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: destination), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: userDestination),
                        ])
                    }
                    return true
                }
            }
        }
    }

    /// Wall seconds of `repeats` executions of the convolution primitive alone at a geometry:
    /// input already in the primitive's layout and type, no reorders, zero-filled data (the
    /// bench's conv ceiling). Nil when oneDNN refuses the geometry.
    package func primitiveSeconds(batch: Int, height: Int, width: Int, repeats: Int) -> [Double]? {
        guard let runtime = OneDNNConvolutionRuntime.shared,
            let entry = runtime.entry(key(batch: batch, height: height, width: width)),
            let weights = weights(in: entry.weightsDescriptor, runtime: runtime)
        else { return nil }
        var (s, d) = (entry.sourceDescriptor, entry.destinationDescriptor)
        let (sourceBytes, destinationBytes) = (max(64, dnnl_memory_desc_get_size(&s)), max(64, dnnl_memory_desc_get_size(&d)))
        let source = UnsafeMutableRawPointer.allocate(byteCount: sourceBytes, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: destinationBytes, alignment: 64)
        defer {
            source.deallocate()
            destination.deallocate()
        }
        source.initializeMemory(as: UInt8.self, repeating: 0, count: sourceBytes)
        let biasValues = [Float](repeating: 0, count: weight.shape[0])
        var times: [Double] = []
        let ok = biasValues.withUnsafeBufferPointer { pb -> Bool in
            ComputePolicy.withBLAS {
                omp_set_num_threads(Int32(ComputePolicy.threadCount))
                return runtime.withMemories { memory in
                    guard let src = memory(entry.sourceDescriptor, source), let dst = memory(entry.destinationDescriptor, destination),
                        let wts = memory(entry.weightsDescriptor, weights)
                    else { return false }
                    var args = [
                        dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: src), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: wts),
                        dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: dst),
                    ]
                    if let biasMD = entry.biasDescriptor, let base = pb.baseAddress {
                        guard let b = memory(biasMD, base) else { return false }
                        args.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: b))
                    }
                    guard runtime.execute(entry.primitive, args) else { return false }  // warm-up
                    for _ in 0..<max(repeats, 1) {
                        let start = DispatchTime.now().uptimeNanoseconds
                        guard runtime.execute(entry.primitive, args) else { return false }
                        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                    }
                    return true
                }
            }
        }
        return ok ? times : nil
    }

    /// x: `[B, C, H, W]` → `[B, O, H', W']`, or nil when oneDNN cannot run it.
    package func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float>? {
        precondition(x.rank == 4 && x.shape[1] == weight.shape[1], "OneDNNConvolution: input \(x.shape) does not fit weight \(weight.shape)")
        let (b, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let oh = (h + 2 * padding - weight.shape[2]) / stride + 1
        let ow = (w + 2 * padding - weight.shape[3]) / stride + 1
        guard oh >= 1, ow >= 1 else { return nil }
        var ok = false
        let y = Tensor<Float>(shape: [b, weight.shape[0], oh, ow]) { out in
            guard let dst = out.baseAddress else { return }
            x.withUnsafeBufferPointer { px in
                guard let src = px.baseAddress else { return }
                ok = run(src, batch: b, height: h, width: w, out: dst)
            }
        }
        return ok ? y : nil
    }
}

/// Plain twin of a bf16 ``OneDNNConvolution``: input and weight rounded to bf16 (nearest
/// even), products of the exact bf16 values accumulated in Double (``conv2dReference``), then
/// the f32 bias. Used by tests.
package func bfloat16Conv2dReference(_ x: [Float], _ weight: [Float], _ bias: [Float]?, geometry g: ConvolutionGeometry) -> [Float] {
    let round = { (v: Float) in floatFromBFloat16Bits(bfloat16Bits(of: v)) }
    return conv2dReference(x.map(round), weight.map(round), bias, geometry: g)
}
