#!/usr/bin/env bash
# The test command (README, .ci/run): sets up what it needs, then runs the layers
# fastest first and stops at the first failing layer.
#
#   scripts/test.sh                 # all layers: lint unit fuzz installed integration molecule
#   scripts/test.sh lint unit       # only these layers
#   FEDBUS_FUZZ_SECONDS=60 scripts/test.sh fuzz   (atheris seconds per target, default 10)
#   FEDBUS_MOLECULE_SCENARIOS="broker" scripts/test.sh molecule   (default: molecule/ci-scenarios)
#   FEDBUS_MOLECULE_SCENARIOS=all scripts/test.sh molecule
#   FEDBUS_MOLECULE_JOBS=1 scripts/test.sh molecule   (one scenario at a time; default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

layers=("$@")
[ ${#layers[@]} -gt 0 ] || layers=(lint unit fuzz installed integration molecule)

# Each step prints the time since the start, so a slow layer shows in CI's log.
step() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "setup: Debian packages, virtualenv"
scripts/host-deps.sh
scripts/bootstrap.sh
# shellcheck disable=SC1091
. scripts/env.sh

# pytest exits 5 when it collected nothing: a layer without tests is a failure.
run_pytest() { python -m pytest "$@"; }

for layer in "${layers[@]}"; do
  case "$layer" in
    lint)
      step "lint: yamllint, ansible-lint (production), ruff, mypy, docs, ansible-test sanity"
      yamllint -s .
      ansible-lint -q
      ruff check .
      mypy
      scripts/gen-role-docs.py --check
      scripts/sanity.sh
      ;;
    unit)
      step "unit tests"
      run_pytest tests/unit -q
      ;;
    fuzz)
      # Hypothesis (deterministic, bounded examples), then atheris for a bounded time per
      # target from the seeds in tests/fuzz/corpus/; a crash leaves its input in .cache/fuzz/.
      step "fuzz: hypothesis properties, atheris (${FEDBUS_FUZZ_SECONDS:-10} s per target)"
      run_pytest tests/fuzz -q -p no:cacheprovider
      python tests/fuzz/run_atheris.py
      ;;
    installed)
      # The wheel as the roles build it, installed with the runtime pins in a fresh
      # virtualenv (.cache/installed-venv); tests/installed run there, fedbus NOT from src/.
      step "installed: the fedbus wheel in a fresh virtualenv (web UI, migrations, commands)"
      python tests/installed/harness.py -q
      ;;
    integration)
      step "integration tests (real RabbitMQ, SMTP, IRC, PostgreSQL, rsync, git; headless Chromium)"
      scripts/host-rabbitmq.sh start
      eval "$(scripts/host-rabbitmq.sh env)"
      run_pytest tests/integration tests/browser -q
      ;;
    molecule)
      step "molecule scenarios (local base image: scripts/build-image.sh)"
      docker info >/dev/null 2>&1 || { echo "test: the Docker engine is not reachable" >&2; exit 1; }
      scripts/build-image.sh >/dev/null
      # Default: the scenarios listed in molecule/ci-scenarios (those that fit CI's
      # time budget); FEDBUS_MOLECULE_SCENARIOS="a b" picks others, "all" runs every one.
      scenarios=${FEDBUS_MOLECULE_SCENARIOS:-$(grep -vE '^\s*(#|$)' molecule/ci-scenarios | tr '\n' ' ')}
      if [ "$scenarios" = all ]; then
        scenarios=$(ls molecule/*/molecule.yml | cut -d/ -f2 | tr '\n' ' ')
      fi
      # FEDBUS_MOLECULE_JOBS scenarios at a time (default 2): a scenario spends most of its
      # time waiting on containers (apt, services starting, the checks' timeouts), so two
      # overlap well on 2 cores. Each writes tests/output/molecule/<scenario>.log, printed
      # when it ends (in full if it failed).
      jobs=${FEDBUS_MOLECULE_JOBS:-2}
      logs=tests/output/molecule
      mkdir -p "$logs"
      declare -A running=()
      failed=()
      finish() {  # wait for one scenario to end, print its log, note a failure
        local pid rc=0
        wait -n -p pid "${!running[@]}" || rc=$?
        local name=${running[$pid]}
        unset "running[$pid]"
        if [ "$rc" -eq 0 ]; then
          step "molecule $name passed (the end of $logs/$name.log)"
          tail -n 40 "$logs/$name.log"
        else
          step "molecule $name FAILED (exit $rc): $logs/$name.log"
          cat "$logs/$name.log"
          failed+=("$name")
        fi
      }
      for scenario in $scenarios; do
        [ "${#running[@]}" -lt "$jobs" ] || finish
        step "molecule test -s $scenario (log: $logs/$scenario.log)"
        molecule test -s "$scenario" >"$logs/$scenario.log" 2>&1 &
        running[$!]=$scenario
      done
      while [ "${#running[@]}" -gt 0 ]; do finish; done
      [ "${#failed[@]}" -eq 0 ] || { echo "test: molecule failed: ${failed[*]}" >&2; exit 1; }
      ;;
    *) echo "test: unknown layer '$layer' (lint, unit, fuzz, installed, integration, molecule)" >&2; exit 2 ;;
  esac
done
step "all requested layers passed: ${layers[*]}"
