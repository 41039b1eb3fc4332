#!/usr/bin/env bash
# packaging.headers_c11 / packaging.headers_cxx17: every public header compiles alone.
#
#   check_headers.sh c|c++ COMPILER INCLUDE_DIR
#
# For each of include/swoole.h and include/swoole/*.h, a translation unit that includes only
# that header, twice (the include guard must hold), is compiled with -Wall -Wextra -pedantic
# -Werror as C11 (plus -Wshadow -Wstrict-prototypes) or as C++17, with no feature-test macros:
# a header may not depend on _GNU_SOURCE or on what its includer included before it. The list
# of headers is read from the directory, so a new header is checked without registering it.
# Exit 77 (skipped) when no compiler for the language was found.
set -euo pipefail
lang=$1 compiler=$2 inc=$3

if [ -z "$compiler" ] || ! command -v "$compiler" >/dev/null 2>&1; then
    echo "headers: no $lang compiler found: skipped"
    exit 77
fi
case $lang in
    c) ext=c; flags=(-x c -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -pedantic -Werror) ;;
    c++) ext=cpp; flags=(-x c++ -std=c++17 -Wall -Wextra -Wshadow -pedantic -Werror) ;;
    *) echo "usage: check_headers.sh c|c++ COMPILER INCLUDE_DIR" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/swoole-headers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

n=0 failed=0
for h in "$inc/swoole.h" "$inc"/swoole/*.h; do
    rel=${h#"$inc"/}
    printf '#include <%s>\n#include <%s>\n' "$rel" "$rel" >"$tmp/t.$ext"
    if ! "$compiler" "${flags[@]}" -I"$inc" -c "$tmp/t.$ext" -o "$tmp/t.o" 2>"$tmp/err"; then
        echo "headers: FAIL: $rel does not compile alone as $lang:" >&2
        cat "$tmp/err" >&2
        failed=$((failed + 1))
    fi
    n=$((n + 1))
done
[ "$failed" -eq 0 ] || { echo "headers: $failed of $n headers failed as $lang" >&2; exit 1; }
echo "headers: $n headers compile alone as $lang ($compiler ${flags[*]})"
