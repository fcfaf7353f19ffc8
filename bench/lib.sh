# SPDX-License-Identifier: BSD-2-Clause
# bench/lib.sh: what the bench scripts share.

# field NAME: the numbers of JSON key NAME in the lines on stdin, one a line
field() { grep -o "\"$1\":[0-9.]*" | cut -d: -f2; }

# median: of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# start_filter NAME COMMAND...: starts a filter in the background, its
# stderr and stdout to $DIR/NAME.log; sets ${NAME^^}_PID and adds it to PIDS
start_filter() {
	local name=$1
	shift
	"$@" >"$DIR/$name.log" 2>&1 &
	PIDS+=($!)
	printf -v "${name^^}_PID" '%s' $!
}

# wait_sockets NAME...: each filter's $DIR/NAME.sock within 5 s, or exit 1 with its log
wait_sockets() {
	local name
	for name in "$@"; do
		for _ in $(seq 1 500); do [ -S "$DIR/$name.sock" ] && break; sleep 0.01; done
		[ -S "$DIR/$name.sock" ] || { echo "$name did not start:" >&2; cat "$DIR/$name.log" >&2; exit 1; }
	done
}

# medians PATTERN: "MSG/S P99_MS CPU_MS" over the lines of $RAW that hold PATTERN
medians() {
	local rows
	rows=$(grep -F -- "$1" "$RAW")
	echo "$(field msgs_per_s <<<"$rows" | median) $(field p99_ms <<<"$rows" | median)" \
		"$(field milter_cpu_ms_per_msg <<<"$rows" | median)"
}
