#!/usr/bin/env bash
# packaging.install_consumer: installs the current build into a temporary prefix and builds
# tests/packaging/consumer/consumer.c against it four ways, then runs each binary:
#
#   pc_shared     cc consumer.c $(pkg-config --cflags --libs swoole)
#   pc_static     cc consumer.c $(pkg-config --static --cflags swoole) with libswoole.a in the
#                 place of -lswoole and the rest of $(pkg-config --static --libs swoole)
#   cmake_shared  find_package(swoole CONFIG) + swoole::swoole
#   cmake_static  find_package(swoole CONFIG) + swoole::swoole_static
#
# The shared binaries must load libswoole.so.N from the temporary prefix (checked with ldd);
# the static ones must not need libswoole.so at all (checked with readelf). In a sanitizer
# build the consumers get the same -fsanitize flags, as a user of such a build would need.
#
#   install_consumer.sh BUILD_DIR SOURCE_DIR CMAKE CC VERSION SONAME GENERATOR [SAN_FLAGS]
set -euo pipefail

build=$1 src=$2 cmake=$3 cc=$4 version=$5 soname=$6 generator=$7 san=${8:-}

fail() { echo "install_consumer: FAIL: $*" >&2; exit 1; }
for tool in pkg-config readelf ldd; do
    command -v "$tool" >/dev/null || fail "$tool is missing (tools/setup-debian.sh installs it)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/swoole-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

# run LOG CMD...: runs CMD with its output in LOG, shown only when it fails.
run() {
    local log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        fail "command failed: $*"
    fi
}

run "$tmp/install.log" "$cmake" --install "$build" --prefix "$prefix"
pc=$(find "$prefix" -name swoole.pc -print -quit)
[ -n "$pc" ] || fail "swoole.pc was not installed"
libdir=$(dirname "$(dirname "$pc")")
for f in "$libdir/libswoole.a" "$libdir/$soname" "$libdir/libswoole.so" \
         "$libdir/cmake/swoole/swooleConfig.cmake" \
         "$libdir/cmake/swoole/swooleConfigVersion.cmake" "$prefix/include/swoole.h"; do
    [ -e "$f" ] || fail "not installed: ${f#"$prefix"/}"
done
echo "installed into $prefix (libdir ${libdir#"$prefix"/})"

export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
got=$(pkg-config --modversion swoole)
[ "$got" = "$version" ] || fail "pkg-config --modversion swoole: $got, want $version"
got=$(pkg-config --variable=prefix swoole)
[ "$(realpath "$got")" = "$(realpath "$prefix")" ] ||
    fail "swoole.pc points at prefix '$got', not at the one it was installed into ($prefix)"

expected="version $version
SW_EINVAL: invalid argument (EINVAL)
loop: 3 ticks, 3 bytes"

# check NAME KIND: runs $tmp/NAME and checks its output and how it links libswoole.
check() {
    local name=$1 kind=$2 bin=$tmp/$1 out
    if ! out=$(env -u LD_LIBRARY_PATH "$bin" 2>&1); then
        printf '%s\n' "$out" >&2
        fail "$name exited with an error"
    fi
    [ "$out" = "$expected" ] || fail "$name printed:
$out
--- want:
$expected"
    if [ "$kind" = shared ]; then
        local where
        where=$(env -u LD_LIBRARY_PATH ldd "$bin" | awk -v so="$soname" '$1 == so { print $3 }')
        [ -n "$where" ] || fail "$name does not load $soname"
        [ "$(realpath "$where")" = "$(realpath "$libdir/$soname")" ] ||
            fail "$name loads $where, not the library in $libdir"
    else
        if readelf -d "$bin" | grep -q 'NEEDED.*libswoole'; then
            fail "$name is linked with the static library but needs libswoole.so"
        fi
    fi
    echo "ok: $name"
}

cflags=(-std=c11 -Wall -Wextra -pedantic -Werror)
# shellcheck disable=SC2206 # the sanitizer flags are a list of words on purpose
sanflags=($san)
consumer=$src/consumer/consumer.c

# 1. pkg-config, shared. pkg-config gives -L but no run path: add one, as a user installing
# outside the loader's default paths has to (or sets LD_LIBRARY_PATH).
# shellcheck disable=SC2046 # pkg-config output is a list of words
run "$tmp/pc_shared.log" "$cc" "${cflags[@]}" "${sanflags[@]}" "$consumer" -o "$tmp/pc_shared" \
    $(pkg-config --cflags --libs swoole) "-Wl,-rpath,$libdir"
check pc_shared shared

# 2. pkg-config, static: the archive itself in the place of -lswoole.
static_libs=()
for w in $(pkg-config --static --libs swoole); do
    if [ "$w" = -lswoole ]; then
        static_libs+=("$libdir/libswoole.a")
    else
        static_libs+=("$w")
    fi
done
# shellcheck disable=SC2046
run "$tmp/pc_static.log" "$cc" "${cflags[@]}" "${sanflags[@]}" "$consumer" -o "$tmp/pc_static" \
    $(pkg-config --static --cflags swoole) "${static_libs[@]}"
check pc_static static

# 3 and 4. find_package(swoole CONFIG), both targets, in one CMake project.
gen_args=(-G "$generator")
run "$tmp/cmake_configure.log" "$cmake" -S "$src/consumer" -B "$tmp/cmake-build" "${gen_args[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" \
    -DCMAKE_PREFIX_PATH="$prefix" -DEXPECT_PREFIX="$prefix" -DEXPECT_VERSION="$version"
run "$tmp/cmake_build.log" "$cmake" --build "$tmp/cmake-build"
cp "$tmp/cmake-build/consumer_shared" "$tmp/cmake_shared"
cp "$tmp/cmake-build/consumer_static" "$tmp/cmake_static"
check cmake_shared shared
check cmake_static static

echo "install_consumer: 4 consumers built and run against $version"
