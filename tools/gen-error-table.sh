#!/bin/sh
# Prints the Markdown tables of libswoole's error codes, read from include/swoole/error.h:
# one table of the system codes, then one table per module range of the library's codes (the
# range comments inside SW_ERRNO_MAP_LIBRARY become the headings).
#
#     tools/gen-error-table.sh [path/to/error.h] > table.md
#
# docs/api/error.md embeds this output between its "BEGIN generated" and "END generated"
# markers; the test buffer.error_doc_lists_every_code checks that every code is there.
set -eu
here=$(dirname "$0")
header=${1:-"$here/../include/swoole/error.h"}
[ -r "$header" ] || { echo "gen-error-table.sh: cannot read $header" >&2; exit 1; }

awk '
function row(line,    name, value, msg) {
    # X(NAME, VALUE, "message") \
    sub(/^[ \t]*X\(/, "", line)
    name = line; sub(/,.*/, "", name)
    value = line; sub(/^[^,]*,[ \t]*/, "", value); sub(/,.*/, "", value)
    msg = line; sub(/^[^"]*"/, "", msg); sub(/"\)[ \t\\]*$/, "", msg)
    printf "| `SW_%s` | %s | %s |\n", name, value, msg
}
function table_head() {
    print "| Code | Value | Message (`sw_strerror`) |"
    print "|---|---|---|"
}
/^#define SW_ERRNO_MAP_SYSTEM\(X\)/ { part = "system"; print "### System codes (negated errno)"; print ""; table_head(); next }
/^#define SW_ERRNO_MAP_LIBRARY\(X\)/ { part = "library"; print ""; print "### Library codes"; next }
part != "" && /^[ \t]*\/\*.*\*\// {
    heading = $0
    sub(/^[ \t]*\/\*[ \t]*/, "", heading); sub(/[ \t]*\*\/.*$/, "", heading)
    print ""; print "#### " heading; print ""; table_head(); next
}
part != "" && /^[ \t]*X\(/ { row($0); if ($0 !~ /\\[ \t]*$/) part = ""; next }
part != "" && !/\\[ \t]*$/ { part = "" }
' "$header"
