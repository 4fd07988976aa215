#!/usr/bin/env bash
# The wheels benchmarks/gpu_check.py needs on a lent GPU machine (Python
# 3.12, torch, numpy 2, no OpenMMLab packages, no network): the OpenMMLab
# libraries and their pure-Python needs for cp312, and mmcv built here
# without compiled ops (MMCV_WITH_OPS=0: a pure-Python wheel). Run here,
# then carry the folder (docs/gpu_check.md):
#
#   echo /.whl/ >> .git/info/exclude; bash benchmarks/gpu_wheels.sh .whl
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p "${1:-.whl}"
OUT=$(realpath "${1:-.whl}")
PY=$(realpath "${PY:-.venv/bin/python}")
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64)
# the libraries (requirements/runtime.txt's pins) and what they import that
# the GPU machine's image lacks (its package list: the device tool's KINDS.md)
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${PLATFORMS[@]}" -d "$OUT" \
    mmengine==0.10.7 mmdet==3.3.0 mmsegmentation==1.2.2 mmpretrain==1.2.0 \
    addict termcolor yapf platformdirs pycocotools terminaltables shapely \
    mat4py modelindex ordered-set prettytable wcwidth ftfy
# mmcv 2.1.0 has no wheel for this torch: the sdist that `make install`
# fetched and built (its build tools, setuptools<70 and wheel, beside it),
# built again without ops
BUILD=$(ls -d "${MMDATA_CACHE:-$HOME/.cache/mmdata}"/build/mmcv-2.1.0_* | head -n 1)
[ -f "$BUILD/src/setup.py" ] || { echo "error: no mmcv source under $BUILD: run make install first" >&2; exit 2; }
TMP=$(mktemp -d)
cp -r "$BUILD/src/." "$TMP"
(cd "$TMP" && rm -rf build && MMCV_WITH_OPS=0 PYTHONPATH="$BUILD/build-deps" \
    "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$OUT" .)
rm -rf "$TMP"
ls "$OUT"
du -sh "$OUT"
