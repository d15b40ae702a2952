import Foundation

// MARK: - Reused scratch memory (issue 14, item 2: no per-step allocation)

/// Scratch memory that kernels borrow for the length of one call and give back, so a forward
/// pass does not allocate (and the kernel does not zero fresh pages for) the same packed
/// operands at every layer and step: the bf16 copy of a linear layer's input, attention's
/// gathered heads and scores.
///
/// Each borrower gets a buffer of its own (concurrent callers never share one): the smallest
/// free buffer that is large enough, else a new one. Returned buffers are kept for the next
/// caller, at most ``retainedLimit`` of them and ``retainedByteLimit`` bytes in all; the
/// smallest are freed first when either limit is passed. Contents are unspecified on loan.
package final class ScratchPool: @unchecked Sendable {
    /// The pool the kernels share.
    package static let shared = ScratchPool()

    /// The most free buffers kept between calls.
    package let retainedLimit: Int
    /// The most bytes kept in free buffers between calls.
    package let retainedByteLimit: Int

    private struct Block {
        let base: UnsafeMutableRawPointer
        let byteCount: Int
    }

    private let lock = NSLock()
    /// Free buffers, guarded by `lock`.
    private var free: [Block] = []
    /// Buffers allocated because none free was large enough (tests read it).
    private var allocations = 0

    /// A pool keeping at most `retainedLimit` buffers and `retainedByteLimit` bytes.
    package init(retainedLimit: Int = 16, retainedByteLimit: Int = 256 << 20) {
        self.retainedLimit = retainedLimit
        self.retainedByteLimit = retainedByteLimit
    }

    deinit {
        for block in free { block.base.deallocate() }
    }

    /// How many buffers the pool has allocated so far (a steady state allocates none).
    package var allocationCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return allocations
    }

    /// Bytes currently kept in free buffers.
    package var retainedBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return free.reduce(0) { $0 + $1.byteCount }
    }

    /// Runs `body` with at least `byteCount` bytes (64-byte aligned) that no one else uses until
    /// `body` returns.
    package func withBuffer<R>(byteCount: Int, _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        let block = take(max(byteCount, 1))
        defer { give(block) }
        return try body(block.base)
    }

    /// Runs `body` with room for `count` values of `T` (64-byte aligned).
    package func withBuffer<T, R>(of type: T.Type, count: Int, _ body: (UnsafeMutablePointer<T>) throws -> R) rethrows -> R {
        let bytes = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        precondition(!bytes.overflow, "ScratchPool: \(count) × \(MemoryLayout<T>.stride) bytes overflows")
        return try withBuffer(byteCount: bytes.partialValue) { raw in
            try body(raw.bindMemory(to: T.self, capacity: max(count, 1)))
        }
    }

    private func take(_ byteCount: Int) -> Block {
        lock.lock()
        // The smallest free buffer that fits.
        var best: Int?
        for (index, block) in free.enumerated() where block.byteCount >= byteCount {
            if best.map({ block.byteCount < free[$0].byteCount }) ?? true { best = index }
        }
        if let best {
            let block = free.remove(at: best)
            lock.unlock()
            return block
        }
        allocations += 1
        lock.unlock()
        return Block(base: .allocate(byteCount: byteCount, alignment: 64), byteCount: byteCount)
    }

    private func give(_ block: Block) {
        lock.lock()
        free.append(block)
        free.sort { $0.byteCount > $1.byteCount }
        var dropped: [Block] = []
        var total = free.reduce(0) { $0 + $1.byteCount }
        while free.count > retainedLimit || total > retainedByteLimit, let smallest = free.popLast() {
            total -= smallest.byteCount
            dropped.append(smallest)
        }
        lock.unlock()
        for block in dropped { block.base.deallocate() }
    }
}
