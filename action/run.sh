#!/usr/bin/env bash
# The GitHub Action's step (action.yml): installs loopwise with pip into a virtualenv of its own
# and runs `loopwise $LOOPWISE_ARGS --output-format github $LOOPWISE_SRC`. Its exit code is
# loopwise's: 1 with findings, which fails the job.
set -euo pipefail

version="${LOOPWISE_VERSION:-latest}"
if [ "$version" = latest ]; then
    requirement=loopwise
else
    requirement="loopwise==$version"
fi

# A virtualenv, not the runner's Python: Ubuntu's system Python refuses `pip install` (PEP 668),
# and the project's own environment keeps its packages.
python=$(command -v python3 || command -v python)
venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/loopwise-venv"
"$python" -m venv "$venv"
if [ -x "$venv/bin/python" ]; then
    bin="$venv/bin"
else
    bin="$venv/Scripts"
fi
"$bin/python" -m pip install --quiet --disable-pip-version-check "$requirement"
"$bin/loopwise" --version

# Word splitting is wanted: `args` and `src` hold several words, as on a command line.
# shellcheck disable=SC2086
exec "$bin/loopwise" ${LOOPWISE_ARGS:-check} --output-format github ${LOOPWISE_SRC:-.}
