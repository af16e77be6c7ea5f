#!/usr/bin/env bash
# Stop the single-node SLURM started by start-slurm.sh (idempotent).
set -u
for daemon in slurmd slurmctld munged; do
  if pgrep -x "$daemon" >/dev/null; then
    pkill -x "$daemon"
  fi
done
for _ in $(seq 20); do
  pgrep -x 'slurmd|slurmctld|munged' >/dev/null || break
  sleep 0.5
done
echo "stop-slurm: stopped"
