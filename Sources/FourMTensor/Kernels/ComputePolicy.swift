import CBLAS
import Foundation

/// FourM's CPU concurrency policy: one BLAS call at a time per process, each with every core.
///
/// OpenBLAS keeps one process-wide thread pool and one process-wide thread count. When several
/// threads call a multi-threaded sgemm at once they fight over that pool (on two cores, 8
/// tasks sharing one `Pipeline` ran 5–60× slower than the same calls one after another), and
/// changing the thread count while another thread is inside BLAS is a data race. So:
///
/// - every BLAS call in FourM goes through ``ComputePolicy/withBLAS(_:)``, which holds the
///   process-wide *BLAS gate* (a lock) for the duration of the call;
/// - the thread count is a setting: ``ComputeOptions/apply()`` writes it under the gate (so
///   never during a BLAS call) and under a settings lock, and kernels read it under that lock;
/// - the one place that runs single-threaded BLAS from many threads (attention over heads)
///   holds the gate for its whole region, sets one thread, calls the unlocked
///   ``gemmInsideRegion`` from its workers, and restores the setting before releasing the
///   gate, so no other caller ever sees the temporary count.
///
/// The bf16 path's oneDNN matrix products (``OneDNNRuntime``) take the same gate for each
/// execution and set oneDNN's OpenMP thread count to the configured count inside it, so they
/// follow the same rules as an OpenBLAS call.
///
/// Concurrent callers (tasks sharing a `Pipeline` or `FourMModel`, or different models) are
/// therefore safe and deterministic: every BLAS call runs with the configured thread count or
/// inside a region that is the same for every caller, so results equal sequential results
/// bit for bit, and the total time stays close to the sequential time. Non-BLAS kernels of
/// different callers may run at the same time; they share no mutable state.
package enum ComputePolicy {
    /// Serialises BLAS calls and thread-count changes (lock order: gate, then settings).
    private static let gate = NSLock()
    /// Guards ``configuredThreads``.
    private static let settingsLock = NSLock()
    /// The thread count set by `ComputeOptions.apply()`; guarded by `settingsLock`.
    nonisolated(unsafe) private static var configuredThreads = ProcessInfo.processInfo.activeProcessorCount

    /// The configured thread count (OpenBLAS and FourM's own loops).
    package static var threadCount: Int {
        settingsLock.lock()
        defer { settingsLock.unlock() }
        return configuredThreads
    }

    /// Sets the thread count once for the process: waits for the BLAS call in progress, if
    /// any, then applies it to OpenBLAS and to FourM's loops.
    package static func setThreadCount(_ count: Int) {
        let count = max(1, count)
        gate.lock()
        defer { gate.unlock() }
        settingsLock.lock()
        configuredThreads = count
        settingsLock.unlock()
        openblas_set_num_threads(Int32(count))
    }

    /// Runs `body` (which calls BLAS) while holding the BLAS gate.
    @inline(__always)
    package static func withBLAS<R>(_ body: () throws -> R) rethrows -> R {
        gate.lock()
        defer { gate.unlock() }
        return try body()
    }

    /// Runs `body` holding the BLAS gate with OpenBLAS at one thread, for loops that call
    /// ``gemmInsideRegion`` from several threads. Restores the configured count before the
    /// gate is released. `body` must not call the locking ``gemm`` (it would wait forever).
    package static func withSingleThreadedBLASRegion<R>(_ body: () throws -> R) rethrows -> R {
        gate.lock()
        defer { gate.unlock() }
        let configured = threadCount
        if configured == 1 { return try body() }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(configured)) }
        return try body()
    }
}
