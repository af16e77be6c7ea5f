#!/usr/bin/env bash
# Stop the single-node SLURM started by start-slurm.sh (idempotent).
set -u
for daemon in slurmd slurmctld munged; do
  if pgrep -x "$daemon" >/dev/null; then
    pkill -x "$daemon"
  fi
done
for _ in $(seq 20); do
  running=0
  for daemon in slurmd slurmctld munged; do
    pgrep -x "$daemon" >/dev/null && running=1
  done
  [ "$running" = 0 ] && break
  sleep 0.5
done
echo "stop-slurm: stopped"
