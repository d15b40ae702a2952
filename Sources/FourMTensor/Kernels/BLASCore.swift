import CBLAS
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The kernel family OpenBLAS picked for this CPU (e.g. "SkylakeX", "Haswell", "Prescott").
package func openBLASCoreName() -> String {
    guard let name = openblas_get_corename() else { return "unknown" }
    return String(cString: name)
}

/// A faster OpenBLAS core type when OpenBLAS fell back to a generic SSE kernel on a CPU that
/// has AVX-512 or AVX2 (Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and picks
/// "Prescott", running sgemm ~5× slower). Nil when OPENBLAS_CORETYPE is already set (we
/// never override a choice made by the machine or the user) or nothing better is known.
package func suggestedOpenBLASCoreType() -> String? {
    #if os(Linux)
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil { return nil }
        let generic: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Northwood", "Banias", "unknown"]
        guard generic.contains(openBLASCoreName()),
            let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    #else
        return nil
    #endif
}

/// For FourM's own executables: restarts the process once with `OPENBLAS_CORETYPE` set to
/// ``suggestedOpenBLASCoreType()`` (OpenBLAS reads it only at load) and `OMP_WAIT_POLICY` set
/// to `passive` (see ``suggestedOpenMPWaitPolicy()``; libgomp reads it only at load).
/// Variables already set are never overridden; `FOURM_KEEP_BLAS_CORE=1` disables the restart.
/// Returns normally when nothing is to be done or the restart fails.
package func restartWithFasterBLASCoreIfUseful() {
    #if os(Linux)
        let environment = ProcessInfo.processInfo.environment
        guard environment["FOURM_KEEP_BLAS_CORE"] == nil else { return }
        let core = suggestedOpenBLASCoreType(), waitPolicy = suggestedOpenMPWaitPolicy()
        guard core != nil || waitPolicy != nil else { return }
        if let core { setenv("OPENBLAS_CORETYPE", core, 1) }
        if let waitPolicy { setenv("OMP_WAIT_POLICY", waitPolicy, 1) }
        setenv("FOURM_KEEP_BLAS_CORE", "1", 1)  // never loop
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returned: keep going with the current settings.
    #endif
}

/// `passive` when `OMP_WAIT_POLICY` is unset, else nil. oneDNN (the bf16 path) runs on
/// libgomp, whose threads by default spin for a while after each parallel region; FourM
/// alternates oneDNN with OpenBLAS and its own loops, so spinning threads steal the cores the
/// next kernel needs. Measured on the shared 2-core machine: the 4M-21_B pass in bf16 went
/// from 1.16× to 0.52× the fp32 time (Documentation/Performance.md).
package func suggestedOpenMPWaitPolicy() -> String? {
    ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] == nil ? "passive" : nil
}
