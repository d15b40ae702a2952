#!/usr/bin/env bash
# Runs the test suite under ThreadSanitizer and AddressSanitizer, each in its own scratch
# folder (.build-tsan, .build-asan) so the normal .build is not rebuilt.
#
#   scripts/sanitize.sh            # both
#   scripts/sanitize.sh thread     # one; extra arguments go to `swift test` (e.g. --filter X)
#
# Slow: an instrumented debug build of the whole package, then the suite (see
# Documentation/Reliability.md for measured durations on two cores). Exit status is non-zero
# when either run fails or reports anything.
#
# The runs set FOURM_SANITIZER=<kind>: tests that measure wall-clock ratios keep their
# functional checks and skip only the timing assertion (instrumented FourM code against an
# uninstrumented OpenBLAS measures the instrumentation). Nothing else changes: the parity
# suites run with their normal inputs and tolerances.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
kinds=("thread" "address")
if [ $# -gt 0 ] && { [ "$1" = "thread" ] || [ "$1" = "address" ]; }; then
    kinds=("$1")
    shift
fi
status=0
for kind in "${kinds[@]}"; do
    scratch=".build-tsan"
    [ "$kind" = "address" ] && scratch=".build-asan"
    log="${FOURM_SANITIZE_LOG_DIR:-/tmp}/fourm-sanitize-$kind.log"
    echo "== $kind sanitizer (scratch $scratch, log $log)"
    start=$(date +%s)
    # TSan: report every race and fail at exit (exitcode 66) instead of stopping at the first,
    # so one run lists them all. ASan always stops at its first report. Leak checking is off:
    # the Swift runtime's caches and OpenBLAS's pool are never freed by design.
    FOURM_SANITIZER="$kind" \
        TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 history_size=4" \
        ASAN_OPTIONS="detect_leaks=0 halt_on_error=1" \
        swift test --sanitize="$kind" --scratch-path "$scratch" "$@" >"$log" 2>&1
    rc=$?
    seconds=$(( $(date +%s) - start ))
    reports=$(grep -cE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|runtime error:" "$log")
    summary=$(grep -E "Test run with|Executed [0-9]+ tests?" "$log" | tail -2 | tr '\n' ' ')
    if [ $rc -eq 0 ] && [ "$reports" -eq 0 ]; then
        echo "   $kind: clean in ${seconds}s: $summary"
    else
        status=1
        echo "   $kind: FAILED (exit $rc, $reports sanitizer report(s)) in ${seconds}s: $summary"
        grep -E "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|SUMMARY|✘|error:" "$log" | head -20
    fi
done
exit $status
