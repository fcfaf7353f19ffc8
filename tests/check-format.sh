#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/check-format.sh CLANG-FORMAT SOURCE-ROOT: every C file of the tree is
# formatted as .clang-format says; prints the files that are not and fails.
# Fix with: clang-format -i $(find common milters tools tests bench -name '*.[ch]')
set -u
format=$1
cd "$2" || exit 1
bad=0
for file in $(find common milters tools tests bench -name '*.[ch]' | sort); do
	if ! "$format" --dry-run --Werror "$file" >/dev/null 2>&1; then
		echo "not formatted: $file"
		bad=1
	fi
done
[ "$bad" = 0 ] && echo "every C file is formatted"
exit "$bad"
