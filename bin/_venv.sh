# Sourced by bin/run and bin/test: make .venv (Python 3.11+) and install both distributions into
# it, editable: the router (pyproject.toml, with the development tools) and the demo services
# (demo/pyproject.toml); again only when either pyproject.toml has changed since the last install.
find_python() {
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  python=$(find_python)
  echo "creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml demo/pyproject.toml | .venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])')"
if [ ! -f "$stamp" ]; then
  echo "installing the project and its dependencies into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' -e ./demo
  # the one distribution before the router and the demo services were apart
  .venv/bin/python -m pip uninstall --quiet --disable-pip-version-check -y pyfederation 2>/dev/null || true
  rm -f .venv/.installed-*
  touch "$stamp"
fi
