#!/usr/bin/env bash
# Set up .venv/ with the whole OpenMMLab stack and mmdata in editable mode.
#
# Every step is idempotent: re-running after a failure resumes where it stopped
# (the mmcv build keeps its object files in the cache folder and continues).
#
# Environment:
#   PYTHON            interpreter to create the venv with (default: python3.11 or python3)
#   VENV              venv folder (default: .venv)
#   MMDATA_CACHE_DIR  cache folder for built wheels (default: ~/.cache/mmdata)
#   MMCV_WHEEL        path to a prebuilt mmcv 2.1.0 wheel matching torch (skips the build)
#   MAX_JOBS          parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
CACHE_DIR=${MMDATA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mmdata}
MMCV_VERSION=$(sed -n 's/^mmcv==\([0-9.]*\).*/\1/p' requirements/mmcv.txt)
export MAX_JOBS=${MAX_JOBS:-$(nproc)}
export PIP_DISABLE_PIP_VERSION_CHECK=1

# pip runs quietly (-q): each step prints one header and its time; a failing
# step prints pip's error, the step and what to do.
STEP=""
STEP_START=$SECONDS
step_done() { [ -z "$STEP" ] || echo "    done in $((SECONDS - STEP_START)) s"; }
step() { step_done; STEP="$1"; STEP_START=$SECONDS; echo "==> [install] $1"; }
hint() { HINT="$1"; }
HINT="re-run 'make install'; it resumes where it stopped."
trap 'rc=$?; if [ $rc -ne 0 ]; then echo; echo "[install] FAILED at step: ${STEP}" >&2; echo "[install] what to do: ${HINT}" >&2; fi' EXIT

step "1/6 python virtualenv in ${VENV}"
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
hint "install Python 3.11 with venv support (Debian: apt-get install python3.11-venv) or set PYTHON=/path/to/python3.11"
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 required, found {sys.version.split()[0]}"'
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$(cd "$VENV" && pwd)/bin/python"
PIP=("$PY" -m pip)
"${PIP[@]}" install -q 'pip==24.3.1'

step "2/6 torch and torchvision (requirements/torch.txt)"
hint "check that PyPI is reachable; torch==2.14.1 and torchvision==0.29.1 must be installable with pip"
"${PIP[@]}" install -q -r requirements/torch.txt 'numpy<2'

step "3/6 mmcv ${MMCV_VERSION} with compiled ops"
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
PY_TAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
WHEEL_DIR="$CACHE_DIR/wheels/mmcv-${MMCV_VERSION}_torch-${TORCH_VERSION}_${PY_TAG}_$(uname -m)"
if "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '${MMCV_VERSION}')" 2>/dev/null; then
    echo "mmcv ${MMCV_VERSION} with ops already installed"
else
    if [ -n "${MMCV_WHEEL:-}" ]; then
        hint "MMCV_WHEEL=${MMCV_WHEEL} could not be installed; unset it to build from source"
        WHEEL="$MMCV_WHEEL"
    else
        WHEEL=$(ls "$WHEEL_DIR"/mmcv-"${MMCV_VERSION}"-*.whl 2>/dev/null | head -n 1 || true)
    fi
    if [ -n "$WHEEL" ]; then
        echo "using mmcv wheel $WHEEL"
    else
        BUILD_DIR="$CACHE_DIR/build/mmcv-${MMCV_VERSION}_torch-${TORCH_VERSION}_${PY_TAG}"
        mkdir -p "$BUILD_DIR"
        # mmcv's setup.py imports pkg_resources (setuptools<70): its build tools
        # go to a folder of their own, first on PYTHONPATH for the build only,
        # so that the venv keeps the setuptools torch requires
        hint "check that PyPI is reachable (requirements/build.txt: setuptools<70, wheel, ninja)"
        BUILD_DEPS="$BUILD_DIR/build-deps"
        if [ ! -f "$BUILD_DEPS/.complete" ]; then
            rm -rf "$BUILD_DEPS"
            # (--no-warn-conflicts: this folder is not the venv, its pins are meant)
            "${PIP[@]}" install -q --no-warn-conflicts --target "$BUILD_DEPS" -r requirements/build.txt
            touch "$BUILD_DEPS/.complete"
        fi
        BUILD_ENV=(env "PYTHONPATH=$BUILD_DEPS" "PATH=$BUILD_DEPS/bin:$PATH")
        if [ ! -f "$BUILD_DIR/src/setup.py" ]; then
            echo "fetching the mmcv ${MMCV_VERSION} sdist from PyPI"
            hint "check that PyPI is reachable; the mmcv sdist is fetched with pip download"
            rm -rf "$BUILD_DIR/sdist" "$BUILD_DIR/src.tmp"
            "${BUILD_ENV[@]}" "${PIP[@]}" download -q --no-deps --no-binary :all: \
                --no-build-isolation -d "$BUILD_DIR/sdist" "mmcv==${MMCV_VERSION}"
            mkdir -p "$BUILD_DIR/src.tmp"
            tar -xzf "$BUILD_DIR"/sdist/mmcv-"${MMCV_VERSION}".tar.gz -C "$BUILD_DIR/src.tmp" --strip-components=1
            # torch >= 2.6 headers need C++20; mmcv 2.1.0 passes -std=c++14/17.
            sed -i -E 's/-std=c\+\+1[47]/-std=c++20/g' "$BUILD_DIR/src.tmp/setup.py"
            mv "$BUILD_DIR/src.tmp" "$BUILD_DIR/src"
        fi
        echo "building mmcv ${MMCV_VERSION} against torch ${TORCH_VERSION} (about 11 min on 2 cores, MAX_JOBS=${MAX_JOBS})"
        hint "see the compiler error above; needs gcc/g++ and Python headers. Re-running resumes the build."
        rm -rf "$BUILD_DIR/dist"
        (cd "$BUILD_DIR/src" && MMCV_WITH_OPS=1 "${BUILD_ENV[@]}" "$PY" -m pip wheel --no-deps \
            --no-build-isolation --no-cache-dir -w "$BUILD_DIR/dist" .)
        mkdir -p "$WHEEL_DIR"
        BUILT=$(ls "$BUILD_DIR"/dist/mmcv-*.whl | head -n 1)
        cp "$BUILT" "$WHEEL_DIR/.tmp.whl" && mv "$WHEEL_DIR/.tmp.whl" "$WHEEL_DIR/$(basename "$BUILT")"
        WHEEL="$WHEEL_DIR/$(basename "$BUILT")"
        echo "cached $WHEEL"
    fi
    "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL"
fi

step "4/6 OpenMMLab libraries, runtime and test deps (requirements/runtime.txt, tests.txt)"
hint "check that PyPI is reachable; see requirements/runtime.txt for the pins"
# torch.txt again: it pins setuptools, which a dependency (openxlab, through
# openmim) would otherwise downgrade to 60.2
"${PIP[@]}" install -q -r requirements/torch.txt -r requirements/runtime.txt -r requirements/tests.txt

step "5/6 mmdata in editable mode"
hint "see pip's error above; the PEP 660 editable install needs setuptools>=77 in the venv"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e .
# openmim looks for configs/tools at <distribution location>/mmdata/.mim, and a
# PEP 660 editable install puts the distribution in site-packages without the
# package: link the package there (the same files; `import mmdata` is unchanged)
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
ln -sfn "$(pwd)/mmdata" "$SITE/mmdata"

step "6/6 check the installation"
hint "the installed stack does not import; run '$PY -c \"import mmcv.ops\"' to see why"
"$PY" - <<'EOF'
import torch, mmcv, mmcv.ops, mmengine, mmdet, mmseg, mmpretrain, mmdata
from mmcv.ops import nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
keep = nms(boxes, torch.tensor([0.9, 0.8]), 0.5)[1]
assert keep.tolist() == [0], keep
print(f"torch {torch.__version__}, mmcv {mmcv.__version__} (ops OK), mmengine {mmengine.__version__}, "
      f"mmdet {mmdet.__version__}, mmseg {mmseg.__version__}, mmpretrain {mmpretrain.__version__}, "
      f"mmdata {mmdata.__version__}")
EOF
"$PY" -m pip check >/dev/null || { "$PY" -m pip check; exit 1; }
step_done
echo "[install] done: $(du -sh "$VENV" | cut -f1) in ${VENV} (torch's CUDA build, also on a CPU machine)"
