#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's demo command: set up, build, install, then run vnicd with two guests.
# Usage: scripts/demo.sh [--keep]   (--keep leaves vnicd running afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec python3 scripts/demo.py "$@"
