import Foundation

/// Threads our own loops may use: the setting of `ComputeOptions.apply()`, read under
/// ``ComputePolicy``'s lock (no unsynchronised global).
package var computeThreadCount: Int { ComputePolicy.threadCount }

/// Runs `body(range)` over `0..<count` split into at most `computeThreadCount` contiguous
/// chunks, in parallel when the work is large enough. `body` must not call BLAS unless the
/// caller wrapped the region in ``withSingleThreadedBLAS(_:)`` (one thread pool at a time).
package func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
    let threads = min(computeThreadCount, count / max(minimumPerChunk, 1))
    if threads <= 1 {
        body(0..<count)
        return
    }
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        let start = count * t / threads, end = count * (t + 1) / threads
        if start < end { body(start..<end) }
    }
}

/// Runs `body` with OpenBLAS limited to one thread, so our own parallel loops may call
/// ``gemmInsideRegion`` from several threads without oversubscribing the cores. The region
/// holds the process-wide BLAS gate (see ``ComputePolicy``): concurrent regions and BLAS calls
/// wait, and the configured count is restored before anyone else can call BLAS.
package func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
    try ComputePolicy.withSingleThreadedBLASRegion(body)
}

/// A pointer that may cross into `@Sendable` closures of one parallel region; the region's
/// chunks write disjoint elements.
package struct SendablePointer<T>: @unchecked Sendable {
    package let base: UnsafeMutablePointer<T>
    package init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}

/// Read-only twin of ``SendablePointer``.
package struct SendableConstPointer<T>: @unchecked Sendable {
    package let base: UnsafePointer<T>
    package init(_ base: UnsafePointer<T>) { self.base = base }
}
