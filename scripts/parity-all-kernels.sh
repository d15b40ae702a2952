#!/usr/bin/env bash
# Runs the golden parity suites once per OpenBLAS kernel family this CPU can run, so a result
# that only holds for one GEMM rounding order shows up. Prints, per family, whether the suites
# passed and the near-ties the generation replays accepted (GenerationTraceTests).
#
#   scripts/parity-all-kernels.sh                      # default, Prescott, Haswell, SkylakeX, Cooperlake, onednn
#   scripts/parity-all-kernels.sh default Haswell      # only these
#
# "default" leaves OPENBLAS_CORETYPE unset (OpenBLAS's own choice). Every OpenBLAS family runs
# with FOURM_FP32_MATMUL=openblas, so all fp32 products take that family's rounding order;
# "onednn" runs the suites with fp32 linear layers on oneDNN's f32 matmul instead. A family whose instructions
# the CPU lacks is skipped (OpenBLAS would fall back silently and the run would prove nothing).
# Builds the tests once (debug); set FOURM_FIXTURES to check another fixture folder.
set -euo pipefail
cd "$(dirname "$0")/.."

suites='ForwardParityTests|WorkflowRunParityTests|WorkflowSetupParityTests|WorkflowDecodeParityTests|GenerationTraceTests|VQParityTests|VQBehaviourTests|DiVAEParityTests|DiVAEWrapperTests|SequenceHelperParityTests|WordPieceParityTests|SequenceCodecFixtureTests|DemoModelTests|PipelineTests|KernelTests'
families=("$@")
if [ ${#families[@]} -eq 0 ]; then families=(default Prescott Haswell SkylakeX Cooperlake onednn); fi

flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
supports() {
    case "$1" in
        default|Prescott|onednn) return 0 ;;
        Haswell) [[ $flags == *" avx2 "* && $flags == *" fma "* ]] ;;
        SkylakeX) [[ $flags == *" avx512f "* && $flags == *" avx512bw "* && $flags == *" avx512vl "* ]] ;;
        Cooperlake) [[ $flags == *" avx512_bf16 "* ]] ;;
        *) return 0 ;;
    esac
}

swift build --build-tests >/dev/null
status=0
summary=()
for family in "${families[@]}"; do
    if ! supports "$family"; then
        summary+=("$family: skipped (this CPU cannot run its kernels)")
        continue
    fi
    log=$(mktemp)
    if [ "$family" = default ]; then
        (unset OPENBLAS_CORETYPE; FOURM_FP32_MATMUL=openblas swift test --skip-build --filter "$suites" >"$log" 2>&1) && result=passed || result=FAILED
    elif [ "$family" = onednn ]; then
        (unset OPENBLAS_CORETYPE; FOURM_FP32_MATMUL=onednn swift test --skip-build --filter "$suites" >"$log" 2>&1) && result=passed || result=FAILED
    else
        OPENBLAS_CORETYPE="$family" FOURM_FP32_MATMUL=openblas swift test --skip-build --filter "$suites" >"$log" 2>&1 && result=passed || result=FAILED
    fi
    [ "$result" = passed ] || status=1
    ties=$(grep -h '^near-ties accepted:' "$log" | awk -F': ' '{split($3, a, " "); n += a[1]} END {print n + 0}')
    summary+=("$family: $result, $ties near-tie(s) accepted")
    echo "== $family: $result"
    grep -h '^near-ties accepted:' "$log" | grep -v ': 0 of' || true
    if [ "$result" != passed ]; then grep -E '✘|error:' "$log" | head -40; fi
    rm -f "$log"
done
echo
printf '%s\n' "${summary[@]}"
exit $status
