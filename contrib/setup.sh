#!/bin/sh
# The README's first command: installs the Debian packages, builds wice and
# runs the main job (the demo).  Run as root from a fresh clone.
set -eu
cd "$(dirname "$0")/.."
contrib/install-deps.sh
[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure
make -j"$(nproc)"
make demo
