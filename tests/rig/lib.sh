# Shared by tests/rig/{install,up,down,smoke}. Sourced, never run.
# shellcheck shell=bash

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RIG_HOME=${AIMC_RIG_HOME:-${HOME:-/root}/.cache/aimc-rig}
RIG_VENV=$RIG_HOME/venv
RIG_PY=$RIG_VENV/bin/python

rig_log() { printf 'rig: %s\n' "$*" >&2; }
rig_die() { printf 'rig: error: %s\n' "$*" >&2; exit 1; }

# rig_need TOOL HINT: fail clearly when a tool is missing.
rig_need() {
    command -v "$1" >/dev/null 2>&1 || rig_die "'$1' not found: $2"
}

# The tools that `up` and `smoke` use; `install` provides them.
rig_need_installed() {
    rig_need docker-registry "run tests/rig/install (Debian package docker-registry)"
    rig_need skopeo "run tests/rig/install (Debian package skopeo)"
    rig_need htpasswd "run tests/rig/install (Debian package apache2-utils)"
    rig_need curl "run tests/rig/install (Debian package curl)"
    rig_need jq "run tests/rig/install (Debian package jq)"
    rig_need setsid "Debian package util-linux"
    [ -x "$RIG_PY" ] || rig_die "no venv at $RIG_VENV: run tests/rig/install (or set AIMC_RIG_HOME)"
    [ -f "$RIG_VENV/.aimc-rig-stamp" ] || rig_die "venv at $RIG_VENV is incomplete: run tests/rig/install"
}

# The run dir of a started rig: $1, else $AIMC_RIG_RUN.
rig_run_dir() {
    local run=${1:-${AIMC_RIG_RUN:-}}
    [ -n "$run" ] || rig_die "which rig? pass the run dir that 'up' printed, or set AIMC_RIG_RUN"
    [ -f "$run/rig.env" ] || rig_die "$run/rig.env not found: is the rig up?"
    (cd "$run" && pwd)
}

# Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat): with the PID,
# it names one process, so `down` never signals a recycled PID.
rig_starttime() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # The command name (field 2) may hold spaces: cut after its closing parenthesis.
    stat=${stat##*) }
    # Now field 3 is the first word: field 22 is word 20.
    set -- $stat
    printf '%s\n' "${20}"
}

# rig_alive PID: the process exists and is not a zombie (PID 1 here reaps orphans late).
rig_alive() {
    local state
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
