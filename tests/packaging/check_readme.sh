#!/usr/bin/env bash
# packaging.readme_quickstart: the C quick start in README.md compiles warning-free and runs.
#
#   check_readme.sh README.md CC INCLUDE_DIR LIBSWOOLE_SO [SAN_FLAGS]
#
# Takes the first ```c block of the README, builds it as a user would (-Wall -Wextra -Werror,
# the compiler's default C dialect) against the build tree's headers and shared library, and
# runs it with "hello" on a pipe as standard input: it must print "read 5 bytes" and "tick"
# three times (in any order: the test does not depend on timing) and exit 0.
set -euo pipefail
readme=$1 cc=$2 inc=$3 lib=$4 san=${5:-}

fail() { echo "readme_quickstart: FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/swoole-readme.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

awk '/^```c$/ && !done { inblock = 1; next }
     /^```$/ && inblock { inblock = 0; done = 1 }
     inblock { print }' "$readme" >"$tmp/quickstart.c"
[ -s "$tmp/quickstart.c" ] || fail "no \`\`\`c block in $readme"

# shellcheck disable=SC2086 # the sanitizer flags are a list of words
if ! "$cc" -Wall -Wextra -Werror $san -I"$inc" "$tmp/quickstart.c" -o "$tmp/quickstart" \
        "$lib" "-Wl,-rpath,$(dirname "$lib")" 2>"$tmp/cc.log"; then
    cat "$tmp/cc.log" >&2
    fail "the quick start does not compile"
fi
out=$(printf hello | timeout 30 "$tmp/quickstart") || fail "the quick start exited with $?"
reads=$(printf '%s\n' "$out" | grep -cx 'read 5 bytes' || true)
ticks=$(printf '%s\n' "$out" | grep -cx 'tick' || true)
lines=$(printf '%s\n' "$out" | grep -c . || true)
if [ "$reads" != 1 ] || [ "$ticks" != 3 ] || [ "$lines" != 4 ]; then
    fail "unexpected output:
$out"
fi
echo "readme_quickstart: compiled and ran the README's quick start"
