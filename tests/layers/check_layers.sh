#!/usr/bin/env bash
# The layers are enforced by the build: a file of layer L is compiled against build/layers/L/, which
# holds links to L and the layers below it only. For every pair of layers this asks the compiler,
# with L's include root, whether a header of each layer is found (__has_include, from an empty
# directory): its own and lower layers' headers must be found, higher layers' must not. A change to
# the include roots that would let a lower layer include a higher one fails here.
# usage: check_layers.sh CXX SOURCE_DIR BUILD_DIR layer...   (layers bottom to top)
set -u
cxx=$1 source=$2 build=$3
shift 3
layers=("$@")
empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
cd "$empty" || exit 1
passed=0 failed=0
found() {  # found ROOT HEADER: does ROOT's include path reach HEADER?
  printf '#if !__has_include("%s")\n#error not found\n#endif\n' "$2" |
    "$cxx" -std=c++20 -E -I "$1" -x c++ - > /dev/null 2>&1
}
for ((i = 0; i < ${#layers[@]}; ++i)); do
  root=$build/layers/${layers[$i]}
  for ((j = 0; j < ${#layers[@]}; ++j)); do
    other=${layers[$j]}
    header=$(cd "$source" && ls "$other"/*.hpp 2>/dev/null | head -n 1)
    [ -n "$header" ] || { echo "FAIL: no header in $other/"; failed=$((failed + 1)); continue; }
    if found "$root" "$header"; then reachable=yes; else reachable=no; fi
    if [ "$j" -le "$i" ]; then expected=yes; else expected=no; fi
    if [ "$reachable" = "$expected" ]; then
      passed=$((passed + 1))
    else
      echo "FAIL: layer ${layers[$i]} reaches $header: $reachable (expected $expected)"
      failed=$((failed + 1))
    fi
  done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
