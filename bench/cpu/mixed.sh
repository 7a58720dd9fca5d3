#!/bin/sh
# The mixed workloads of bench/cpu (`bench/cpu/run --mixed`), run by busybox
# sh in the guest: system calls, page faults and I/O rather than pure CPU.
#
#   mixed.sh DISK TMP RUNS SCALE WORKLOAD...
#
# DISK is the bench disk mounted read-write (bin/, data/blk, tree/), TMP a
# scratch directory.  Workloads:
#   forkexec   a shell loop that forks and execs 250*SCALE short processes
#              (half a static `kernels nop`, half a busybox `cat` in a pipe)
#   blkgzip    gzip (default level) of DISK/data/blk to a file on the same
#              disk, then sync; the page cache is dropped first
#   findgrep   find over DISK/tree, then grep -r for a word in every file;
#              page cache dropped first
# Output lines are those of workloads.sh (@@S/@@F/@@R/@@E, @@DONE@@).
# shellcheck disable=SC2016 # the inner sh -c scripts expand their own "$1"...
set -u
disk=$1 tmp=$2 runs=$3 scale=$4
shift 4
bin=$disk/bin

drop() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

one() { # one NAME ROUND
	out=$tmp/out.$1 tf=$tmp/time.$1
	case $1 in
	forkexec) ;;
	blkgzip | findgrep) drop ;;
	*) echo "@@E no workload $1@@"; return 1 ;;
	esac
	echo "@@S $1 $2@@"
	case $1 in
	forkexec)
		"$bin/timeit" -o "$out" sh -c '
			i=0
			while [ $i -lt "$1" ]; do
				"$2" nop
				echo $i | cat >/dev/null
				i=$((i + 1))
			done
			echo $i' sh $((125 * scale)) "$bin/kernels" 2>"$tf"
		;;
	blkgzip)
		"$bin/timeit" -o "$out" sh -c 'gzip -c "$1" >"$2" && sync && wc -c <"$2"' \
			sh "$disk/data/blk" "$disk/out.gz" 2>"$tf"
		;;
	findgrep)
		"$bin/timeit" -o "$out" sh -c 'echo "$(find "$1" -type f | wc -l)/$(grep -rl "$2" "$1" | wc -l)"' \
			sh "$disk/tree" plout 2>"$tf"
		;;
	esac
	st=$?
	echo "@@F $1 $2@@"
	t=$(sed -n 's/^timeit real \([^ ]*\) user \([^ ]*\) sys \([^ ]*\)$/\1 \2 \3/p' "$tf")
	c=$(tr -d ' \n' <"$out")
	rm -f "$out" "$tf" "$disk/out.gz"
	if [ "$st" -ne 0 ] || [ -z "$t" ]; then
		echo "@@E $1 failed (status $st)@@"
		return 1
	fi
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
