#!/usr/bin/env bash
# Counts the public surface of every library target: declarations whose access is `public`
# or `open` (types, functions, initialisers, properties, subscripts, typealiases, associated
# types, operators), one per line, in Sources/<Target>/**/*.swift. `public extension` lines
# are not declarations and are not counted; declarations marked `@_spi(...)` (on the same line
# or on the attribute lines just above) are left out, since `import X` does not see them.
# Executable targets (fourm-cli, fourm-bench, fourm-fuzz) and examples have no public surface.
#
# Usage: scripts/public-surface.sh [repo-root]   (prints "<target> <count>" and a total)
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
total=0
for dir in "$root"/Sources/*/; do
    target="$(basename "$dir")"
    case "$target" in fourm-* | C*) continue ;; esac
    count=$(find "$dir" -name '*.swift' -print0 | xargs -0 -r awk '
        FNR == 1 { spi = 0 }
        # An attribute line on its own: remember whether it was @_spi for the next declaration.
        /^[[:space:]]*@[A-Za-z_]+(\([^)]*\))?[[:space:]]*$/ { if ($0 ~ /@_spi\(/) spi = 1; next }
        {
            line = $0
            sub(/\/\/.*/, "", line)
            if (line ~ /^[[:space:]]*(@[A-Za-z_]+(\([^)]*\))?[[:space:]]+)*((public|open)([[:space:]]|\())/ \
                && line !~ /^[[:space:]]*(@[A-Za-z_]+(\([^)]*\))?[[:space:]]+)*public[[:space:]]+extension[[:space:]]/ \
                && line ~ /(func|init|var|let|struct|class|enum|protocol|typealias|associatedtype|subscript|actor|case|operator|macro)([[:space:]]|\(|\?|!|<|$)/) {
                if (!spi && line !~ /@_spi\(/) n++
            }
            spi = 0
        }
        END { print n + 0 }' | awk '{ s += $1 } END { print s + 0 }')
    printf '%-16s %5d\n' "$target" "$count"
    total=$((total + count))
done
printf '%-16s %5d\n' total "$total"
