#!/bin/sh
# The project's #include "..." lines, resolved to files the way the compiler
# finds them (the including file's folder first, then -I src, then -I top;
# a bare name only in the including file's folder).  Two outputs:
#
#   include-graph.sh           one line per folder of src/, signaling/ and
#                              proxy/: "src/daemon -> proxy signaling ..."
#   include-graph.sh --edges   one line per include, tab-separated:
#                              FILE  NAME  TARGET  ("-" if it resolves to no
#                              file of the project); tests/ included
#
# `make include-graph` prints the first; tests/unit/layout.test checks the
# second against the floor plan in docs/ARCHITECTURE.md.  System includes
# <...> and "config.h" are left out.
set -eu
top_srcdir=${top_srcdir:-$(dirname "$0")/../..}
cd "$top_srcdir"

edges() {
	files=$(find src signaling proxy tests -type f -name '*.[ch]' | LC_ALL=C sort)
	# $files is split on purpose: the tree's paths have no spaces.
	# shellcheck disable=SC2086
	printf '%s\n' "$files" | awk '
		function norm(p,    n, part, out, i, k, r) {
			n = split(p, part, "/")
			k = 0
			for (i = 1; i <= n; i++) {
				if (part[i] == "" || part[i] == ".")
					continue
				if (part[i] == "..") {
					if (k == 0)
						return ""
					k--
					continue
				}
				out[++k] = part[i]
			}
			r = out[1]
			for (i = 2; i <= k; i++)
				r = r "/" out[i]
			return r
		}
		function resolve(dir, name,    c) {
			if (name !~ /\//)
				return (dir "/" name) in known ? dir "/" name : "-"
			c = norm(dir "/" name)
			if (c in known) return c
			c = norm("src/" name)
			if (c in known) return c
			c = norm(name)
			if (c in known) return c
			return "-"
		}
		NR == FNR { known[$0] = 1; next }
		/^[ \t]*#[ \t]*include[ \t]*"/ {
			name = $0
			sub(/^[^"]*"/, "", name)
			sub(/".*/, "", name)
			if (name == "config.h")
				next
			dir = FILENAME
			sub(/\/[^\/]*$/, "", dir)
			printf "%s\t%s\t%s\n", FILENAME, name, resolve(dir, name)
		}' - $files
}

graph() {
	edges | awk -F '\t' '
		function folder(f) { sub(/\/[^\/]*$/, "", f); return f }
		$1 ~ /^tests\// { next }
		{
			from = folder($1)
			seen[from] = 1
			if ($3 == "-" || folder($3) == from)
				next
			dep[from "\t" folder($3)] = 1
		}
		END {
			for (f in seen) print f
			for (e in dep) print e
		}' | LC_ALL=C sort -u | awk -F '\t' '
		NF == 1 { if (line != "") print line; line = $1 " ->"; next }
		{ line = line " " $2 }
		END { if (line != "") print line }'
}

case ${1:-} in
--edges) edges ;;
"") graph ;;
*) echo "usage: $0 [--edges]" >&2; exit 2 ;;
esac
