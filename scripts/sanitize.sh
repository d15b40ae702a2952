#!/usr/bin/env bash
# Runs the test suite under ThreadSanitizer and AddressSanitizer, each in its own scratch
# folder (.build-tsan, .build-asan) so the normal .build is not rebuilt.
#
#   scripts/sanitize.sh            # both
#   scripts/sanitize.sh thread     # one; extra arguments go to `swift test` (e.g. --filter X)
#
# Slow: an instrumented debug build of the whole package, then the suite (expect tens of
# minutes on two cores). Exit status is non-zero when either run fails.
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
    scratch=".build-${kind:0:1}san"
    [ "$kind" = "thread" ] && scratch=".build-tsan"
    [ "$kind" = "address" ] && scratch=".build-asan"
    log="/tmp/fourm-sanitize-$kind.log"
    echo "== $kind sanitizer (scratch $scratch, log $log)"
    # halt_on_error: the first report fails the run; OpenBLAS is not instrumented, so TSan only
    # sees FourM's own memory accesses around BLAS calls.
    if TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ASAN_OPTIONS="detect_leaks=0 halt_on_error=1" \
        swift test --sanitize="$kind" --scratch-path "$scratch" "$@" >"$log" 2>&1; then
        echo "   $kind: clean ($(grep -E 'Test run with' "$log" | tail -1))"
    else
        status=1
        echo "   $kind: FAILED"
        grep -E "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|SUMMARY|✘|error:" "$log" | head -20
    fi
done
exit $status
