# Sourced by bench/run_*.sh: how the PyTorch peer runs, and whether a ratio against it is printed.
# The peer is Debian's torch (/usr/bin/python3) on OpenBLAS (libopenblas0-pthread, which
# scripts/setup.sh --torch installs and Debian's alternatives then hand to torch), with the
# variables that pin OpenBLAS's kernel unset. Each bench/*.py prints a `peer ...` line
# (bench/torch_peer.py); peer_fair_or_explain FILE succeeds when that line says `fair yes`, and
# otherwise says why no ratio follows.
peer_python=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${PYTHON:-/usr/bin/python3}")

peer_fair_or_explain() {
  local line
  line=$(grep -m1 '^peer ' "$1" || true)
  if [[ -z "$line" ]]; then
    echo "no ratio: the PyTorch peer did not say which BLAS it loaded" >&2
    return 1
  fi
  echo "$line" | sed 's/^peer /pytorch peer: /'
  if [[ "$line" != *" fair yes" ]]; then
    echo "no ratio: PyTorch runs on the reference BLAS (or a pinned OpenBLAS), about 25x slower at matrix" \
      "products than OpenBLAS; install libopenblas0-pthread (scripts/setup.sh --torch)" >&2
    return 1
  fi
}
