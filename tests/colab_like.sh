#!/usr/bin/env bash
# The "Colab-like" check: run lesson 01 the way a student on Colab does, in a virtualenv shaped like Colab's.
#
# 1. A fresh virtualenv with what Colab ships and the course does not install: ipywidgets 7.7.1, the latest
#    transformers 4.x, a torch CPU wheel, and Colab's usual scientific and Jupyter stack. No peft, no
#    bitsandbytes, no bundled model, no ruamel.yaml, and no `course`: the set-up cell must bring them.
# 2. A git repository holding this working tree (tracked and untracked, not ignored, files), so the set-up
#    cell installs exactly the code under test with `pip install "peft-course[colab] @ git+file://…"`, as it
#    installs from GitHub on Colab.
# 3. Lesson 01 executed in smoke mode (COURSE_SMOKE=1) from a folder outside the repository, in a kernel that
#    has `google.colab` imported, with the lesson's own set-up cell (the generated one where the lesson does
#    not carry it yet); then checks that the course came from site-packages and that Colab's torch,
#    transformers and ipywidgets were left as they were.
#
#   bash tests/colab_like.sh                 # work folder: a new /tmp/colab-like.XXXXXX, kept for inspection
#   COLAB_LIKE_DIR=/tmp/x PYTHON=python3.12 TORCH_SPEC="torch==2.13.0" bash tests/colab_like.sh
#
# Needs network access to the package index (the set-up cell installs peft, bitsandbytes… as on Colab).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${COLAB_LIKE_DIR:-$(mktemp -d /tmp/colab-like.XXXXXX)}"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"           # the CPU wheel where the index serves it (as in CI)
TRANSFORMERS_SPEC="${TRANSFORMERS_SPEC:-transformers<5}"  # the latest 4.x: Colab may still ship 4.x
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
start=$SECONDS
step() { echo "== [$((SECONDS - start)) s] $*"; }
mkdir -p "$WORK"

step "1/4 Colab-like virtualenv in $WORK/venv"
rm -rf "$WORK/venv"
"$PYTHON" -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q "$TORCH_SPEC" "$TRANSFORMERS_SPEC" "ipywidgets==7.7.1" \
    accelerate sentence-transformers safetensors pandas matplotlib scikit-learn scipy \
    pydantic PyYAML tqdm regex markdown-it-py Pygments ipykernel nbclient nbformat
if (cd "$WORK" && "$PY" -c "import course" 2>/dev/null); then
    echo "the Colab-like venv already has a 'course' module: the set-up cell would not be tested" >&2; exit 1
fi
kept_before="$("$PY" -m pip freeze | grep -iE '^(torch|transformers|ipywidgets)==' | sort)"
echo "$kept_before"

step "2/4 git repository of this working tree in $WORK/repo"
rm -rf "$WORK/repo" && mkdir -p "$WORK/repo"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done \
    | xargs -0 cp --parents -t "$WORK/repo")
git -C "$WORK/repo" init -q
git -C "$WORK/repo" add -A
git -C "$WORK/repo" -c user.name=colab-like -c user.email=colab-like@localhost commit -qm "working tree"

step "3/4 lesson 01 in smoke mode, as on Colab"
rm -rf "$WORK/run" "$WORK/fake" && mkdir -p "$WORK/run" "$WORK/fake/google/colab"
: > "$WORK/fake/google/colab/__init__.py"   # `google` stays a namespace package (protobuf shares it)
cp "$ROOT/notebooks/01_lora_from_scratch.ipynb" "$WORK/run/"
(cd "$WORK/run" && env -u MPLBACKEND COURSE_REPO_URL="file://$WORK/repo" PYTHONPATH="$WORK/fake" COURSE_SMOKE=1 TQDM_DISABLE=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 SNAPSHOT="$WORK/repo" "$PY" - <<'EOF'
"""Execute the lesson with `google.colab` imported first, and the generator's set-up cell if it lacks one."""
import os
import sys
import time

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, os.environ["SNAPSHOT"])  # the generator, for this process only (not the kernel's path)
from course.colab import repository_url, setup_cell_source  # noqa: E402

sys.path.pop(0)
nb = nbformat.read("01_lora_from_scratch.ipynb", as_version=4)
setup = next(cell for cell in nb.cells if cell.cell_type == "code")
generated = setup_cell_source(url=repository_url(os.environ["SNAPSHOT"]))
if setup.source != generated:
    print("the lesson does not carry the generated set-up cell yet: running the generator's")
    setup.source = generated
nb.cells.insert(0, nbformat.v4.new_code_cell("import google.colab  # what Colab's kernel has imported"))
began = time.monotonic()
NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
print(f"lesson 01 ran in {time.monotonic() - began:.0f} s")
print("the set-up cell printed:", "".join(output.get("text", "") for output in setup.outputs).strip())
errors = [f"{o.ename}: {o.evalue}" for cell in nb.cells for o in cell.get("outputs", []) if o.output_type == "error"]
assert not errors, errors
EOF
)

step "4/4 what the set-up cell installed, and what it left alone"
(cd "$WORK" && "$PY" - <<'EOF'
import course, grader, sys
for module in (course, grader):
    assert "site-packages" in module.__file__, f"{module.__name__} came from {module.__file__}, not the install"
from course.data import load_sentiment
from grader import find_bank, load_bank
print("course from", course.__file__, "| data:", load_sentiment(train_size=8, eval_size=8).sizes,
      "| bank:", load_bank(find_bank("day48-lora-qlora")).id)
EOF
)
kept_after="$("$PY" -m pip freeze | grep -iE '^(torch|transformers|ipywidgets)==' | sort)"
if [ "$kept_before" != "$kept_after" ]; then
    echo "the set-up cell changed Colab's own packages:" >&2; diff <(echo "$kept_before") <(echo "$kept_after") >&2; exit 1
fi
step "done: Colab-like run passed ($WORK)"
