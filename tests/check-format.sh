#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks that every C source and header follows the committed .clang-format (no changes needed).
set -uo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format missing (apt-get install clang-format)"; exit 1; }
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null)
[ ${#files[@]} -gt 0 ] || { echo "no sources found (not a git checkout?)"; exit 1; }
if ! clang-format --dry-run -Werror --style=file "${files[@]}"; then
	echo "formatting differs from .clang-format: run clang-format -i --style=file on the files above"
	exit 1
fi
echo "${#files[@]} files follow .clang-format"
