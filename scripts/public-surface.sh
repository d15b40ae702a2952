#!/usr/bin/env bash
# Counts the public surface of every library target: declarations whose access is `public`
# or `open` (types, functions, initialisers, properties, subscripts, typealiases, associated
# types, operators), one per line, in Sources/<Target>/**/*.swift. `public extension` lines
# are not declarations and are not counted; declarations marked `@_spi(...)` (on the same line
# or on the attribute lines just above), and the members of such types, are left out, since
# `import X` does not see them.
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
        FNR == 1 { spi = 0; depth = 0; hidden = -1 }
        {
            line = $0
            sub(/\/\/.*/, "", line)
            opens = gsub(/\{/, "{", line); closes = gsub(/\}/, "}", line)
            # An attribute line on its own: remember whether it was @_spi for the next declaration.
            if (line ~ /^[[:space:]]*@[A-Za-z_]+(\([^)]*\))?[[:space:]]*$/) { if (line ~ /@_spi\(/) spi = 1; next }
            isSPI = spi || line ~ /@_spi\(/
            spi = 0
            # Inside the body of an @_spi type everything is SPI too.
            if (hidden < 0 && line ~ /^[[:space:]]*(@[A-Za-z_]+(\([^)]*\))?[[:space:]]+)*((public|open)([[:space:]]|\())/ \
                && line !~ /^[[:space:]]*(@[A-Za-z_]+(\([^)]*\))?[[:space:]]+)*public[[:space:]]+extension[[:space:]]/ \
                && line ~ /(func|init|var|let|struct|class|enum|protocol|typealias|associatedtype|subscript|actor|case|operator|macro)([[:space:]]|\(|\?|!|<|$)/) {
                if (!isSPI) n++
                else if (line ~ /(struct|class|enum|protocol|actor|extension)[[:space:]]/ && opens > closes) hidden = depth
            }
            depth += opens - closes
            if (hidden >= 0 && depth <= hidden) hidden = -1
        }
        END { print n + 0 }' | awk '{ s += $1 } END { print s + 0 }')
    printf '%-16s %5d\n' "$target" "$count"
    total=$((total + count))
done
printf '%-16s %5d\n' total "$total"
