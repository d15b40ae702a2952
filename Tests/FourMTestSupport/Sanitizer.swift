import Foundation

/// Whether the tests run under a sanitizer: `scripts/sanitize.sh` sets `FOURM_SANITIZER` to
/// `thread` or `address`. A sanitizer slows FourM's own code 2–20× but not the uninstrumented
/// OpenBLAS, so timing ratios measured under it say nothing about the normal build; tests that
/// measure time keep their functional checks and skip only the timing assertion.
public enum Sanitizer {
    /// The sanitizer's name (`thread`, `address`), or nil in a normal run.
    public static let active: String? = {
        let value = ProcessInfo.processInfo.environment["FOURM_SANITIZER"] ?? ""
        return value.isEmpty ? nil : value
    }()
}
