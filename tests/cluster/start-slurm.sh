#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine (Debian's slurm-wlm and munge), for
# the cluster tests. Idempotent: when the cluster already answers, it only says so.
# Needs root. State, spool and logs live under $BIOREPRO_SLURM_DIR (default
# /var/lib/biorepro-slurm); stop it with tests/cluster/stop-slurm.sh.
set -euo pipefail

STATE=${BIOREPRO_SLURM_DIR:-/var/lib/biorepro-slurm}

if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
  echo "start-slurm: SLURM is already running ($(sinfo -h -o '%P %D %T' | head -1))"
  exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "start-slurm: slurm-wlm/munge missing and not root" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

mkdir -p "$STATE"/{ctld,d,log} /etc/slurm /run/munge /var/log/munge /etc/munge
chown munge:munge /run/munge /var/log/munge /etc/munge 2>/dev/null || true
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
if ! pgrep -x munged >/dev/null; then
  su -s /bin/sh munge -c "munged --force" 2>/dev/null || munged --force
fi

cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=biorepro-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=600
ReturnToService=2
MpiDefault=none
NodeName=localhost CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd

for _ in $(seq 60); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed)'; then
    break
  fi
  scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
  sleep 1
done
if ! sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed)'; then
  echo "start-slurm: the node did not become idle; last log lines:" >&2
  tail -n 20 "$STATE"/log/*.log >&2 || true
  exit 1
fi

job=$(sbatch --parsable --wrap true -o /dev/null)
for _ in $(seq 60); do
  squeue -h -j "$job" 2>/dev/null | grep -q . || break
  sleep 1
done
if squeue -h -j "$job" 2>/dev/null | grep -q .; then
  echo "start-slurm: test job $job did not finish in 60 s" >&2
  exit 1
fi
echo "start-slurm: SLURM is up ($(sinfo -h -o '%P %D %T %c CPUs' | head -1)); test job $job ran"
