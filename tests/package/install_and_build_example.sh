#!/usr/bin/env bash
# ctest Package.InstalledExampleBuildsAndTrains: `cmake --install` of the library (component library) into
# a temporary prefix, then examples/cpp configured against that prefix alone (not the build tree), built,
# run, and its printed test accuracy checked against a bound.
# Usage: tests/package/install_and_build_example.sh BUILD_DIR SOURCE_DIR CXX_COMPILER [C_COMPILER]
# (no C compiler in a build without MPI, whose package alone needs C)
set -euo pipefail
build="$1" source="$2" cxx="$3" cc="${4:-}"
# The example reached 99.4% on its 1000 test points (2-64-64-3, Adam, 30 epochs); a program that trains at
# all clears 90%, one whose training is broken stays near chance (33%).
min_accuracy=90
prefix="$(mktemp -d "${TMPDIR:-/tmp}/cudamlp-package.XXXXXX")"
trap 'rm -rf -- "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix/install" --component library >/dev/null
cmake -S "$source/examples/cpp" -B "$prefix/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix/install" \
  -DCMAKE_CXX_COMPILER="$cxx" ${cc:+-DCMAKE_C_COMPILER="$cc"} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null
found="$(sed -n 's/^cudamlp_DIR:PATH=//p' "$prefix/build/CMakeCache.txt")"
if [[ "$found" != "$prefix/install/"* ]]; then
  echo "the example found cudamlp at '$found', not in the install prefix $prefix/install" >&2
  exit 1
fi
cmake --build "$prefix/build" >/dev/null
output="$("$prefix/build/spirals")"
echo "$output"
accuracy="$(sed -n 's/.*test accuracy \([0-9.]*\)%.*/\1/p' <<<"$output")"
if [[ -z "$accuracy" ]] || ! awk -v a="$accuracy" -v m="$min_accuracy" 'BEGIN { exit !(a > m) }'; then
  echo "the installed example's test accuracy '${accuracy}' is not above ${min_accuracy}%" >&2
  exit 1
fi
