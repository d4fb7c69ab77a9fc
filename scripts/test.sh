#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command: set up, build, then run every test (unit tests also under
# ASan+UBSan) and finish with "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

log() { printf '\033[1m[test]\033[0m %s\n' "$*"; }

# Sanitizer build of the unit tests (ASan + UBSan).
san_ok=true
if [ ! -f build-asan/build.ninja ]; then
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
		--buildtype=debug >/dev/null || san_ok=false
fi
$san_ok && { ninja -C build-asan >/dev/null || san_ok=false; }

# libFuzzer targets (clang): every parser gets a short run on each test pass.
fuzz_ok=true
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined \
		-Db_lundef=false --buildtype=debugoptimized >/dev/null || fuzz_ok=false
fi
$fuzz_ok && { ninja -C build-fuzz >/dev/null || fuzz_ok=false; }

rc=0
log "unit and integration tests (build/)"
meson test -C build --print-errorlogs --num-processes 1 || rc=1
if $san_ok; then
	log "unit tests, and the vhost, tap and policy suites, under ASan+UBSan (build-asan/)"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --suite unit --suite sanitize --num-processes 1 \
		--print-errorlogs || rc=1
fi

if $fuzz_ok; then
	log "fuzz targets, ${FUZZ_SECONDS:-20} s each (build-fuzz/)"
	meson configure build-fuzz -Dfuzz_seconds="${FUZZ_SECONDS:-20}" >/dev/null
	meson test -C build-fuzz --suite fuzz --print-errorlogs || rc=1
fi

python3 - "$san_ok" "$fuzz_ok" <<'PY'
# Count TAP subtests (every test here speaks TAP); a test that died without a plan counts
# as one failure.
import json, re, sys
passed = failed = skipped = 0
logs = ['build/meson-logs/testlog.json']
for ok, d, what in ((sys.argv[1], 'build-asan', 'sanitizer'), (sys.argv[2], 'build-fuzz', 'fuzzing')):
    if ok == 'true':
        logs.append(d + '/meson-logs/testlog.json')
    else:
        failed += 1
        print('FAIL  %s build' % what)
for path in logs:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        print('FAIL  no results in', path)
        continue
    for line in lines:
        t = json.loads(line)
        tag = 'asan:' if 'asan' in path else 'fuzz:' if 'fuzz' in path else ''
        p = f = s = 0
        for out in re.finditer(r'^(not ok|ok)\b[^#\n]*(#\s*(SKIP|TODO)\b)?', t.get('stdout') or '', re.M):
            if out.group(3) == 'SKIP':
                s += 1
            elif out.group(1) == 'ok':
                p += 1
            else:
                f += 1
        if re.search(r'^1\.\.0 # SKIP', t.get('stdout') or '', re.M):
            s += 1
        if t['result'] not in ('OK', 'SKIP', 'EXPECTEDFAIL') and f == 0:
            f = 1  # crashed, timed out or exited non-zero without a failing subtest
        if t['result'] == 'OK' and p + f + s == 0:
            p = 1  # not a TAP test (fuzzers): one test
        print('%-5s %s%s (%d passed, %d failed, %d skipped)' % (t['result'], tag, t['name'], p, f, s))
        passed += p
        failed += f
        skipped += s
print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
sys.exit(1 if failed else 0)
PY
summary=$?
[ $rc -ne 0 ] || [ $summary -ne 0 ] && exit 1
exit 0
