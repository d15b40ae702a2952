import Foundation

/// A scalar type a ``Tensor`` can hold: `Float` for compute, `Int32` for token ids, `Bool` for masks.
public protocol TensorScalar: Sendable, Equatable {
    /// The value a freshly zeroed tensor holds.
    static var zeroValue: Self { get }
}

extension Float: TensorScalar {
    /// `0.0`.
    public static var zeroValue: Float { 0 }
}

extension Int32: TensorScalar {
    /// `0`.
    public static var zeroValue: Int32 { 0 }
}

extension Bool: TensorScalar {
    /// `false`.
    public static var zeroValue: Bool { false }
}

/// Contiguous memory behind one or more tensors.
///
/// Invariant behind `@unchecked Sendable`: the memory is written only through
/// `Tensor.withUnsafeMutableBufferPointer`, which first makes the buffer uniquely referenced
/// (copy on write) and never writes into memory owned by a mapping (`owner != nil`).
final class TensorBuffer<Scalar>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Scalar>
    let count: Int
    /// Keeps foreign memory (the bytes a file was read into) alive; `nil` means we allocated `base`.
    let owner: AnyObject?

    init(count: Int, repeating value: Scalar) {
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: value, count: count)
        self.count = count
        owner = nil
    }

    init(copying source: UnsafeBufferPointer<Scalar>) {
        base = .allocate(capacity: max(source.count, 1))
        if let address = source.baseAddress { base.initialize(from: address, count: source.count) }
        count = source.count
        owner = nil
    }

    init(borrowing pointer: UnsafeMutablePointer<Scalar>, count: Int, owner: AnyObject) {
        base = pointer
        self.count = count
        self.owner = owner
    }

    /// Allocates `count` scalars and lets `body` initialise every one of them.
    init(count: Int, initializingWith body: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        base = .allocate(capacity: max(count, 1))
        self.count = count
        owner = nil
        body(UnsafeMutableBufferPointer(start: base, count: count))
    }

    deinit {
        if owner == nil {
            base.deinitialize(count: count)
            base.deallocate()
        }
    }

    var isBorrowed: Bool { owner != nil }
}

/// A row-major, contiguous n-dimensional array with value semantics.
///
/// `Tensor<Float>` is the compute type, `Tensor<Int32>` holds token ids and `Tensor<Bool>` masks.
/// Copies are cheap: storage is shared until one copy is mutated (copy on write). Tensors read
/// from a safetensors file as F32 are read once, straight into their storage, and never copied
/// again unless mutated.
///
/// ```swift
/// var x = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// let y = x.reshaped([3, 2])          // a view, no copy
/// x.withUnsafeMutableBufferPointer { $0[0] = 10 }   // copies: y still sees 1
/// ```
public struct Tensor<Scalar: TensorScalar>: Sendable {
    /// The extent of every axis, outermost first.
    public private(set) var shape: [Int]
    var buffer: TensorBuffer<Scalar>
    var offset: Int

    init(shape: [Int], buffer: TensorBuffer<Scalar>, offset: Int = 0) {
        self.shape = shape
        self.buffer = buffer
        self.offset = offset
    }

    /// Creates a tensor from scalars in row-major order.
    /// - Parameters:
    ///   - shape: the extent of every axis.
    ///   - scalars: exactly `shape.reduce(1, *)` values (traps otherwise: API misuse).
    public init(shape: [Int], scalars: [Scalar]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(
            scalars.count == shape.reduce(1, *),
            "\(scalars.count) scalars do not fill shape \(shape)")
        self.shape = shape
        buffer = scalars.withUnsafeBufferPointer { TensorBuffer(copying: $0) }
        offset = 0
    }

    /// Creates a tensor of the given shape with every element set to `value`.
    public init(repeating value: Scalar, shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        self.shape = shape
        buffer = TensorBuffer(count: shape.reduce(1, *), repeating: value)
        offset = 0
    }

    /// Creates a zero-filled (or `false`-filled) tensor.
    public init(zeros shape: [Int]) {
        self.init(repeating: Scalar.zeroValue, shape: shape)
    }

    /// Creates a tensor whose scalars are written by `body`; it must initialise every element.
    package init(shape: [Int], initializingWith body: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        self.shape = shape
        buffer = TensorBuffer(count: shape.reduce(1, *), initializingWith: body)
        offset = 0
    }

    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The number of axes.
    public var rank: Int { shape.count }

    /// All elements in row-major order (a copy).
    public var scalars: [Scalar] { withUnsafeBufferPointer { Array($0) } }

    /// Calls `body` with the elements in row-major order.
    public func withUnsafeBufferPointer<R>(
        _ body: (UnsafeBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try body(UnsafeBufferPointer(start: buffer.base + offset, count: count))
    }

    /// Calls `body` with writable elements, copying first if the storage is shared or mapped.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        if !isKnownUniquelyReferenced(&buffer) || buffer.isBorrowed || offset != 0
            || buffer.count != count
        {
            let n = count
            buffer = withUnsafeBufferPointer { TensorBuffer(copying: UnsafeBufferPointer(start: $0.baseAddress, count: n)) }
            offset = 0
        }
        return try body(UnsafeMutableBufferPointer(start: buffer.base, count: count))
    }

    /// The same elements seen with another shape of equal element count (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element)
                .reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[inferred] = count / known
        }
        precondition(
            resolved.reduce(1, *) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        return Tensor(shape: resolved, buffer: buffer, offset: offset)
    }

    /// Rows `range` of the outermost axis, as a view (no copy).
    public func slice(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "slice \(range) out of bounds for shape \(shape)")
        let inner = shape.dropFirst().reduce(1, *)
        var newShape = shape
        newShape[0] = range.count
        return Tensor(shape: newShape, buffer: buffer, offset: offset + range.lowerBound * inner)
    }

    /// True when the elements live in memory another object owns (the bytes a safetensors
    /// file read an F32 tensor into) rather than in the tensor's own allocation.
    package var borrowsStorage: Bool { buffer.isBorrowed }

    /// The element at a multi-dimensional index (slow; for tests and small tensors).
    public subscript(_ index: Int...) -> Scalar {
        precondition(index.count == rank, "index \(index) does not match rank \(rank)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            precondition(i >= 0 && i < extent, "index \(index) out of bounds for \(shape)")
            flat = flat * extent + i
        }
        return buffer.base[offset + flat]
    }
}

extension Tensor: Equatable {
    /// Equal when shapes and every element are equal.
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape
            && lhs.withUnsafeBufferPointer { a in rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) } }
    }
}

extension Tensor: CustomStringConvertible {
    /// A short summary: dtype, shape and the first few elements.
    public var description: String {
        let head = withUnsafeBufferPointer { Array($0.prefix(6)) }
        return "Tensor<\(Scalar.self)>\(shape) \(head)\(count > 6 ? "…" : "")"
    }
}

extension Tensor {
    /// Concatenates tensors along the outermost axis; inner shapes must agree.
    public static func concatenate(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concatenate needs at least one tensor")
        let inner = Array(parts[0].shape.dropFirst())
        for part in parts {
            precondition(Array(part.shape.dropFirst()) == inner, "concatenate: shapes \(parts.map(\.shape)) differ")
        }
        let rows = parts.reduce(0) { $0 + $1.shape[0] }
        return Tensor(shape: [rows] + inner) { out in
            var cursor = 0
            for part in parts {
                part.withUnsafeBufferPointer { src in
                    if let s = src.baseAddress, src.count > 0 {
                        (out.baseAddress! + cursor).initialize(from: s, count: src.count)
                    }
                    cursor += src.count
                }
            }
        }
    }
}
