#!/usr/bin/env bash
# Retrieval per case against batch size: one libguestfs appliance reads N
# guest disks, each holding a dump (kdh_guest_fetch_crash_batch).  Prints,
# per N (SIZES, default "1 2 4 8"): the appliance's launch, the mean time
# per disk (mount, find, copy, unmount), the whole batch and the batch per
# case.  RETRIEVE_DISK=path/disk.qcow2 (from `kdh run --keep-disk`) reads a
# real case's disk; by default a disk with a 40 MiB vmcore is made first.
# Run from the top of the tree (make bench builds build/bench-retrieve).
set -euo pipefail

sizes=${SIZES:-1 2 4 8}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

[ -x build/bench-retrieve ] || make -s build/bench-retrieve
echo "retrieve: batch sizes $sizes, ${RETRIEVE_DISK:-a made disk with a 40 MiB vmcore}, TCG"
# shellcheck disable=SC2086 # the sizes are separate arguments
build/bench-retrieve "$out" ${RETRIEVE_DISK:+"$RETRIEVE_DISK"} -- $sizes
