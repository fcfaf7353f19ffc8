# SPDX-License-Identifier: BSD-2-Clause
# bench/lib.sh: what the bench scripts share.

# field NAME: the numbers of JSON key NAME in the lines on stdin, one a line
field() { grep -o "\"$1\":[0-9.]*" | cut -d: -f2; }

# median: of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
