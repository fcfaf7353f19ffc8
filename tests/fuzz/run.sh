#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/fuzz/run.sh MINUTES [TARGET...]
#
# Builds the libFuzzer targets if needed and fuzzes each one in turn, MINUTES
# in all: every target gets MINUTES * 60 / number-of-targets seconds (at least
# 10) through -max_total_time, so "run.sh 16" is two minutes for each of the
# eight targets. Building comes on top of that; the fuzzing is bounded, and a
# watchdog kills a fuzzer that overruns its time by more than two minutes.
#
# TARGET defaults to every directory under tests/fuzz/corpus/. One fuzzing
# process at a time (no -jobs/-workers, no -fork). Each target stops at its
# first crash, leak, timeout or out-of-memory; the file libFuzzer writes for
# it is listed, and the script exits 1 if any target found one.
#
# Environment:
#   PC_FUZZ_BUILD  build directory (default: build-fuzz/ in the tree, which
#                  .gitignore covers); configured with CC=clang -Dfuzzing=true
#                  when it does not exist yet
#   PC_FUZZ_WORK   scratch directory (default: $TMPDIR or /tmp, then
#                  portcullis-fuzz); corpus/TARGET/ is the growing corpus,
#                  seeded from tests/fuzz/corpus/TARGET/ and kept between
#                  runs; runs/STAMP/ holds each run's logs and crash files
#   PC_FUZZ_ARGS   more libFuzzer options, e.g. "-max_len=8192"
#
# A target with a dictionary, tests/fuzz/TARGET.dict, is given it (-dict).
# Nothing is written into the source tree except the build directory.
set -eu

usage() {
	echo "usage: $0 MINUTES [TARGET...]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
minutes=$1
shift
case $minutes in
'' | *[!0-9]*) usage ;;
esac
[ "$minutes" -ge 1 ] || usage

src=$(cd "$(dirname "$0")/../.." && pwd)
fuzz_src=$src/tests/fuzz
build=${PC_FUZZ_BUILD:-$src/build-fuzz}
work=${PC_FUZZ_WORK:-${TMPDIR:-/tmp}/portcullis-fuzz}
extra_args=${PC_FUZZ_ARGS:-}

if [ $# -eq 0 ]; then
	for dir in "$fuzz_src"/corpus/*/; do
		set -- "$@" "$(basename "$dir")"
	done
fi
for name in "$@"; do
	[ -d "$fuzz_src/corpus/$name" ] || {
		echo "$0: no target '$name' (no tests/fuzz/corpus/$name/)" >&2
		exit 2
	}
done

# --- build
if [ ! -f "$build/build.ninja" ]; then
	command -v clang >/dev/null || {
		echo "$0: clang not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
		exit 2
	}
	CC=clang meson setup "$build" "$src" -Dfuzzing=true
fi
if ! meson configure "$build" | grep -Eq '^[[:space:]]*fuzzing[[:space:]]+true'; then
	echo "$0: $build is not a fuzzing build (meson configure $build -Dfuzzing=true)" >&2
	exit 2
fi
ninja -C "$build" >/dev/null

# --- fuzz
seconds=$((minutes * 60 / $#))
[ "$seconds" -ge 10 ] || seconds=10
run=$work/runs/$(date +%Y%m%d-%H%M%S)
mkdir -p "$run"
echo "fuzzing $# target(s), ${seconds}s each; logs in $run"

# the last value of a libFuzzer "stat::NAME:" line in log, or empty
stat() {
	sed -n "s/^stat::$1:[[:space:]]*//p" "$2" | tail -n 1
}

summary=$run/summary
printf '%-18s %5s %12s %8s %6s %7s %s\n' target secs execs exec/s new corpus crashes >"$summary"
failed=0
for name in "$@"; do
	exe=$build/tests/fuzz/fuzz-$name
	corpus=$work/corpus/$name
	artifacts=$run/artifacts/$name
	log=$run/$name.log
	dict=
	[ -x "$exe" ] || {
		echo "$0: $exe was not built" >&2
		exit 2
	}
	mkdir -p "$corpus" "$artifacts"
	for seed in "$fuzz_src/corpus/$name"/*; do
		[ -e "$corpus/$(basename "$seed")" ] || cp "$seed" "$corpus/"
	done
	[ ! -f "$fuzz_src/$name.dict" ] || dict=-dict=$fuzz_src/$name.dict

	echo "  $name ..."
	rc=0
	start=$(date +%s)
	# shellcheck disable=SC2086 # PC_FUZZ_ARGS and dict are split on purpose
	(cd "$run" && timeout --kill-after=30 $((seconds + 120)) "$exe" \
		-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts/" $dict $extra_args "$corpus") >"$log" 2>&1 || rc=$?
	elapsed=$(($(date +%s) - start))

	execs=$(stat number_of_executed_units "$log")
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
	rate=$(stat average_exec_per_sec "$log")
	# libFuzzer divides by whole seconds: a run that crashed at once says 0
	if [ "${rate:-0}" = 0 ] && [ -n "$execs" ]; then
		rate=$((execs / (elapsed > 0 ? elapsed : 1)))
	fi
	new=$(stat new_units_added "$log")
	files=$(find "$corpus" -type f | wc -l)
	crashes=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o \
		-name 'timeout-*' -o -name 'oom-*' \) | sort)
	count=$(printf '%s' "$crashes" | grep -c . || true)
	printf '%-18s %5s %12s %8s %6s %7s %s\n' "$name" "$elapsed" "${execs:--}" "${rate:--}" \
		"${new:--}" "$files" "$count" >>"$summary"
	if [ "$count" -gt 0 ]; then
		failed=1
		printf '%s\n' "$crashes" | sed 's/^/    /' >>"$summary"
		why=$(grep -m 1 -E '^(SUMMARY|==[0-9]+==ERROR)|runtime error|ERROR:|fuzz-[a-z-]+:' \
			"$log" || true)
		# printf, not echo: the line may hold backslashes that echo would interpret
		printf '    %.300s\n' "${why:-see $log}" >>"$summary"
	elif [ "$rc" -ne 0 ]; then
		failed=1
		echo "    fuzzer exited with status $rc without a crash file: see $log" >>"$summary"
	fi
done

echo
cat "$summary"
if [ "$failed" -ne 0 ]; then
	echo "FAILED: reproduce with $build/tests/fuzz/fuzz-TARGET FILE"
	exit 1
fi
echo "no crashes"
