#!/usr/bin/env bash
# packaging.exports: the shared library exports only the public API and has the right SONAME.
#
#   check_exports.sh LIBSWOOLE_SO EXPECTED_SONAME [NM] [READELF]
#
# Every defined dynamic symbol must start with sw_ (public, SW_API) and none with sw__ (the
# internal prefix: those are hidden by -fvisibility=hidden and must never leak).
set -euo pipefail
lib=$1 want_soname=$2 nm=${3:-nm} readelf=${4:-readelf}

fail() { echo "exports: FAIL: $*" >&2; exit 1; }
[ -f "$lib" ] || fail "$lib does not exist"

soname=$("$readelf" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
[ "$soname" = "$want_soname" ] || fail "SONAME is '$soname', want '$want_soname'"

syms=$("$nm" -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u)
total=$(printf '%s\n' "$syms" | grep -c . || true)
[ "$total" -gt 0 ] || fail "no defined dynamic symbols at all"
# In fuzzing builds (SWOOLE_BUILD_FUZZ) the coverage instrumentation makes the linker export
# the bounds of its own sections (__start___sancov_*, __stop___sancov_*); they are not ours.
foreign=$(printf '%s\n' "$syms" | grep -v '^sw_' | grep -v '^__st\(art\|op\)___sancov_' || true)
internal=$(printf '%s\n' "$syms" | grep '^sw__' || true)
[ -z "$foreign" ] || fail "exported symbols without the sw_ prefix:
$foreign"
[ -z "$internal" ] || fail "internal sw__ symbols are exported:
$internal"
echo "exports: $total symbols, all sw_*, none sw__*; SONAME $soname"
