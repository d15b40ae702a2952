#!/usr/bin/env bash
# Fuzzes one FourM parser with libFuzzer for a given time.
#
#   scripts/fuzz.sh TARGET SECONDS [extra libFuzzer options]
#   TARGET: safetensors | tokenizer | sequence | image | json
#
# Builds `fourm-fuzz` with `-sanitize=fuzzer,address` in .build-fuzz (SwiftPM's generated
# main hides libFuzzer's, so main.swift starts it through LLVMFuzzerRunDriver), seeds a
# corpus in .build-fuzz/corpus/TARGET from the fixtures and the structure-aware seeds in
# Fuzz/seeds/TARGET (huge shapes, overflowing products, duplicated keys, ...), and runs for
# SECONDS. Crashes land in .build-fuzz/findings/TARGET. The last line of libFuzzer's log
# (executions, exec/s, coverage) is printed for Documentation/Reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh TARGET SECONDS}"
seconds="${2:?usage: scripts/fuzz.sh TARGET SECONDS}"
shift 2
scripts/bootstrap.sh
scratch=.build-fuzz
swift build --product fourm-fuzz --scratch-path "$scratch" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld >/tmp/fourm-fuzz-build.log 2>&1 || {
    echo "fuzz build failed; see /tmp/fourm-fuzz-build.log"; tail -20 /tmp/fourm-fuzz-build.log; exit 1; }
binary="$(swift build --product fourm-fuzz --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld --show-bin-path)/fourm-fuzz"
corpus="$scratch/corpus/$target"
findings="$scratch/findings/$target"
mkdir -p "$corpus" "$findings"
fixtures="${FOURM_FIXTURES:-../shared/fixtures}"
[ -d /work/shared/fixtures ] && [ ! -d "$fixtures" ] && fixtures=/work/shared/fixtures
case "$target" in
    safetensors) find "$fixtures/models" Sources/FourM/Resources/DemoModel -name '*.safetensors' -size -3M 2>/dev/null | head -20 | xargs -r cp -t "$corpus" ;;
    tokenizer) find "$fixtures" Sources/FourM/Resources/DemoModel -name '*tokenizer*.json' 2>/dev/null | head -5 | xargs -r cp -t "$corpus" ;;
    image) cp Tests/FourMImageTests/Resources/*.png Tests/FourMImageTests/Resources/*.jpg "$corpus" ;;
    json) cp Fuzz/seeds/tokenizer/* Fuzz/seeds/safetensors/* "$corpus" 2>/dev/null || true ;;
esac
[ -d "Fuzz/seeds/$target" ] && cp Fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
log="/tmp/fourm-fuzz-$target.log"
# -rss_limit_mb: a parser that allocates more than 2 GB for a small input is a finding too.
# -max_len 64 KiB: the released tokenizer and checkpoint seeds are megabytes, which drops the
# rate to a few executions per second; the structure-aware seeds are small. Override by
# passing -max_len=N after SECONDS.
set +e
FOURM_FUZZ_TARGET="$target" "$binary" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
    -artifact_prefix="$findings/" -print_final_stats=1 "$@" >"$log" 2>&1
status=$?
set -e
grep -E "^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::peak_rss_mb|ERROR|SUMMARY|Done [0-9]+ runs" "$log" | tail -8
echo "fuzz $target: exit $status, findings: $(ls "$findings" | wc -l) (log $log)"
exit $status
