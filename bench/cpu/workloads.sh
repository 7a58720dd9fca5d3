#!/bin/sh
# The CPU workloads of bench/cpu, run by busybox sh in the guest and on the
# host alike (bench/cpu/run starts it; it is not meant to be run by hand).
#
#   workloads.sh BIN INPUT BB TMP RUNS SCALE WORKLOAD...
#
# BIN holds timeit and kernels (built for the side it runs on), INPUT is the
# 64 MiB text input, BB the busybox binary, TMP a scratch directory (tmpfs in
# the guest).  RUNS rounds over the WORKLOADs (gzip bzip2 sha256 int branch
# mem fp 7z); SCALE 8 is the full size of the C kernels, 1 is --quick (for
# 7z, which sizes its own work, SCALE*500 ms is the time it aims at per test:
# 4000 ms, its default, at full size).
# For each workload and round it prints
#   @@S NAME ROUND@@                                   before it starts
#   @@F NAME ROUND@@                                   as soon as it ends
#   @@R NAME ROUND REAL USER SYS CHECK@@               with its results
# where CHECK is the output size (compressors), the digest or the kernel's
# checksum: it must be the same on every side; for 7z, whose benchmark sizes
# its own work, it is rating=MIPS (7-Zip's total rating, from the Tot: line).
# Errors print @@E text@@.
set -u
bin=$1 input=$2 bb=$3 tmp=$4 runs=$5 scale=$6
shift 6

n() { # n BASE: a kernel's size argument, BASE at SCALE 8, at least 1
	v=$(($1 * scale / 8))
	[ "$v" -ge 1 ] || v=1
	echo "$v"
}

one() { # one NAME ROUND
	out=$tmp/out.$1 tf=$tmp/time.$1
	echo "@@S $1 $2@@"
	case $1 in
	gzip) "$bin/timeit" -i "$input" -o "$out" "$bb" gzip -9 -c 2>"$tf" ;;
	bzip2) "$bin/timeit" -i "$input" -o "$out" "$bb" bzip2 -9 -c 2>"$tf" ;;
	sha256) "$bin/timeit" -o "$out" "$bb" sha256sum "$input" 2>"$tf" ;;
	int) "$bin/timeit" -o "$out" "$bin/kernels" int "$(n 40)" 2>"$tf" ;;
	branch) "$bin/timeit" -o "$out" "$bin/kernels" branch "$(n 12)" 2>"$tf" ;;
	mem) "$bin/timeit" -o "$out" "$bin/kernels" mem "$(n 2)" 2>"$tf" ;;
	fp) "$bin/timeit" -o "$out" "$bin/kernels" fp "$(n 100)" 2>"$tf" ;;
	7z) "$bin/timeit" -o "$out" "$bin/7zz" b -mmt1 -md22 -mtimems=$((500 * scale)) 2>"$tf" ;;
	*) echo "@@E no workload $1@@"; return 1 ;;
	esac
	st=$?
	echo "@@F $1 $2@@"
	t=$(sed -n 's/^timeit real \([^ ]*\) user \([^ ]*\) sys \([^ ]*\)$/\1 \2 \3/p' "$tf")
	if [ "$st" -ne 0 ] || [ -z "$t" ]; then
		echo "@@E $1 failed (status $st): $(tr '\n' ' ' <"$tf")@@"
		rm -f "$out" "$tf"
		return 1
	fi
	case $1 in
	gzip | bzip2) c=$(wc -c <"$out" | tr -d ' ') ;;
	sha256) c=$(cut -d' ' -f1 <"$out") ;;
	7z) c=rating=$(sed -n 's/^Tot: .* \([0-9][0-9]*\) *$/\1/p' "$out") ;;
	*) c=$(cut -d' ' -f2 <"$out") ;;
	esac
	rm -f "$out" "$tf"
	echo "@@R $1 $2 $t $c@@"
}

r=1
while [ "$r" -le "$runs" ]; do
	for w in "$@"; do
		one "$w" "$r" || exit 1
	done
	r=$((r + 1))
done
echo "@@DONE@@"
