#!/usr/bin/env bash
# Sweeps on a real Slurm and a real MPI launcher (issue 17; `make -f Makefile.runs test-cluster`).
#
#   tests/cluster/test_cluster.sh GRADEST DIR
#
# Brings up a one-node Slurm on this machine, everything under DIR (wiped first): munged with its
# own key and socket, slurmctld and slurmd from DIR/slurm.conf (SLURM_CONF), no cgroups, no
# systemd, no accounting. Then, each against the same sweep (tests/cluster/tiny.ini) run whole on
# this machine with `gradest sweep`:
#   1. experiments/slurm/array.sbatch, the README's array script (checked equal to README's
#      copy), submitted as a 2-task array; its 2 shards merged;
#   2. the same array with task 1 cancelled (scancel) once its first run has finished and its second
#      has started training, then submitted again: --resume runs only what is missing;
#   3. `mpirun -np 2` (OpenMPI) on the whole grid; its 2 shards merged.
# "Identical" is `gradest merge`'s: every dataset bit for bit and every attribute, wall-clock
# measurements excepted (store/merge.hpp); merge exits 0 only if every run found in both files is
# identical, and the run counts show both hold the same runs. Every daemon started here is stopped on
# exit, also on failure or interruption. Prints one PASS or FAIL line per check; exit 0 iff all pass.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 GRADEST DIR" >&2
  exit 2
fi
GRADEST=$(realpath "$1")
DIR=$(realpath -m "$2")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPT=$ROOT/experiments/slurm/array.sbatch
CONFIG=$ROOT/tests/cluster/tiny.ini
PYTHON=${PYTHON:-/usr/bin/python3}
JOB_TIMEOUT=${JOB_TIMEOUT:-240}  # seconds any one job, array or mpirun, may take
RUNS=4                           # runs in tiny.ini's grid
T0=$SECONDS

# Shares come from the scheduler of this test only, not from one this script may itself run under.
for v in $(compgen -e); do
  case $v in SLURM_* | SBATCH_* | SALLOC_* | SRUN_* | OMPI_* | PMI_* | PMIX_*) unset "$v" ;; esac
done

exec 3>&1  # PASS and FAIL lines reach the terminal from any redirection or command substitution
say() { printf '%s\n' "$*" >&3; }
pass() { say "PASS: $*"; }
fail() {
  say "FAIL: $*"
  exit 1
}
since() { echo "$(($SECONDS - $1))s"; }

# ---- daemons and their cleanup --------------------------------------------------------------------
MUNGED_PID="" SLURMCTLD_PID="" SLURMD_PID=""
SOCKET=$DIR/munge/munge.socket
export SLURM_CONF=$DIR/slurm.conf

show_logs() {
  for f in "$DIR"/log/*.log "$DIR"/jobs/*.out; do
    [ -s "$f" ] || continue
    say "---- last lines of $f"
    tail -n 15 "$f"
  done
}

# Processes of this test's jobs, slurmstepd and the jobs' own: they carry our SLURM_CONF.
job_processes() {
  local p env
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = $$ ] && continue
    mapfile -d "" env 2> /dev/null < "/proc/$p/environ" || continue
    case " ${env[*]} " in *" SLURM_CONF=$SLURM_CONF "*) ;; *) continue ;; esac
    case " ${env[*]} " in *" SLURM_JOB_ID="*) echo "$p" ;; *) [ "$(< "/proc/$p/comm")" = slurmstepd ] && echo "$p" ;; esac
  done
}

stop_pid() {  # PID NAME: SIGTERM, then SIGKILL after 10 s
  local pid=$1 name=$2 i
  [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null || return 0
  kill -TERM "$pid" 2> /dev/null || true
  for i in $(seq 100); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2> /dev/null; then
    say "$name (pid $pid) did not stop on SIGTERM: SIGKILL"
    kill -KILL "$pid" 2> /dev/null || true
  fi
  wait "$pid" 2> /dev/null || true
}

stop_cluster() {
  local i left
  if [ -n "$SLURMCTLD_PID" ] && kill -0 "$SLURMCTLD_PID" 2> /dev/null; then
    scancel --quiet "--user=$(id -un)" 2> /dev/null || true
    for i in $(seq 60); do
      [ -z "$(squeue -h -o %i 2> /dev/null)" ] && break
      sleep 0.5
    done
  fi
  stop_pid "$SLURMD_PID" slurmd
  stop_pid "$SLURMCTLD_PID" slurmctld
  stop_pid "$MUNGED_PID" munged
  SLURMD_PID="" SLURMCTLD_PID="" MUNGED_PID=""
  left=$(job_processes)
  if [ -n "$left" ]; then
    say "processes of this test's jobs left behind: $(echo $left); SIGKILL"
    kill -KILL $left 2> /dev/null || true
  fi
}

on_exit() {
  local status=$?
  trap - EXIT INT TERM
  if [ $status -ne 0 ]; then
    show_logs
    say "FAIL: test-cluster, after $(since $T0) (files in $DIR)"
  fi
  stop_cluster
  exit $status
}
trap on_exit EXIT
trap 'say "test-cluster: interrupted (SIGINT)"; exit 130' INT
trap 'say "test-cluster: interrupted (SIGTERM)"; exit 143' TERM

wait_until() {  # SECONDS WHAT COMMAND...: polls every 0.2 s
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@" > /dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "$what: not within ${limit}s"
    sleep 0.2
  done
}

alive() { kill -0 "$1" 2> /dev/null || fail "$2 exited; see $DIR/log/$2.log"; }

munge_works() { munge -n -S "$SOCKET" | unmunge -S "$SOCKET"; }
controller_up() {
  alive "$SLURMCTLD_PID" slurmctld
  scontrol ping | grep -q 'is UP'
}
node_idle() {
  alive "$SLURMD_PID" slurmd
  [ "$(sinfo -h -N -o %T)" = idle ]
}

start_cluster() {
  local host node ports
  host=$(hostname -s)
  # The node as slurmd sees it (CPUs, sockets, cores, threads), its memory left unconfigured.
  node=$(slurmd -C | head -n 1 | sed 's/ RealMemory=[0-9]*//')
  [[ $node == NodeName=* ]] || fail "slurmd -C printed no node line: $node"
  ports=$($PYTHON -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
  [ ${#SOCKET} -lt 100 ] || fail "the munge socket path $SOCKET is too long for a socket; use a shorter DIR"

  # munged: a key made for this test; --force accepts a checkout's directory permissions.
  if command -v mungekey > /dev/null; then
    mungekey --create --keyfile="$DIR/munge/munge.key"
  else
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  fi
  chmod 0600 "$DIR/munge/munge.key"
  munged --foreground --force --socket="$SOCKET" --key-file="$DIR/munge/munge.key" \
    --log-file="$DIR/log/munged.log" --pid-file="$DIR/run/munged.pid" --seed-file="$DIR/munge/munged.seed" \
    < /dev/null > "$DIR/log/munged.out" 2>&1 &
  MUNGED_PID=$!
  wait_until 30 "munged answering on $SOCKET" munge_works

  cat > "$SLURM_CONF" << EOF
# A one-node Slurm for tests/cluster/test_cluster.sh; every file under $DIR.
ClusterName=gradest-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${ports% *}
SlurmdPort=${ports#* }
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
PlugStackConfig=$DIR/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
KillWait=5
MinJobAge=600
MailProg=/bin/true
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  : > "$DIR/plugstack.conf"
  slurmctld -D -f "$SLURM_CONF" < /dev/null > "$DIR/log/slurmctld.out" 2>&1 &
  SLURMCTLD_PID=$!
  wait_until 60 "slurmctld up" controller_up
  slurmd -D -f "$SLURM_CONF" < /dev/null > "$DIR/log/slurmd.out" 2>&1 &
  SLURMD_PID=$!
  wait_until 60 "node $host idle" node_idle
}

# ---- jobs and results -----------------------------------------------------------------------------
# Submits the array script as a 2-task array on one CPU each, writing OUT; prints the job id.
submit() {
  GRADEST=$GRADEST CONFIG=$CONFIG OUT=$1 sbatch --parsable --array=0-1 --cpus-per-task=1 --time=10 \
    --output="$DIR/jobs/%x-%A_%a.out" "$SCRIPT"
}

# Waits for every task of job $1 to leave the queue; prints "task STATE exit" per array task.
wait_job() {
  local job=$1 deadline=$((SECONDS + JOB_TIMEOUT))
  while [ -n "$(squeue -h -j "$job" -o %i 2> /dev/null)" ]; do
    [ $SECONDS -lt $deadline ] || fail "job $job still queued or running after ${JOB_TIMEOUT}s"
    sleep 0.5
  done
  scontrol -o show job "$job" | sed -E 's/.*ArrayTaskId=([0-9]+).*JobState=([A-Z_]+).*ExitCode=([0-9:]+).*/\1 \2 \3/' | sort -n
}

runs_in() { $PYTHON -c 'import h5py, sys; print(len(h5py.File(sys.argv[1], "r")["runs"]))' "$1"; }
run_status() {  # FILE ID: the run's status, or "missing"
  $PYTHON -c 'import h5py, os, sys
path, run = sys.argv[1:]
status = h5py.File(path, "r")["runs"][run].attrs["status"] if os.path.exists(path) else "missing"
print(status.decode() if isinstance(status, bytes) else status)' "$1" "$2"
}

# The shards of OUT merged into OUT/all.h5, then compared with the whole sweep.
check_identical() {  # WHAT OUT
  local what=$1 out=$2 merged both n_whole n_merged n_both
  merged=$out/all.h5 both=$out/with-whole.h5
  "$GRADEST" merge "$out"/sweep-shard-*-of-2.h5 -o "$merged" > "$out/merge.log" 2>&1 ||
    fail "$what: gradest merge of the shards: $(tail -n 1 "$out/merge.log")"
  "$GRADEST" merge "$DIR/whole/sweep.h5" "$merged" -o "$both" > "$out/compare.log" 2>&1 ||
    fail "$what: differs from the sweep run whole: $(tail -n 1 "$out/compare.log")"
  n_whole=$(runs_in "$DIR/whole/sweep.h5") n_merged=$(runs_in "$merged") n_both=$(runs_in "$both")
  [ "$n_whole" = $RUNS ] && [ "$n_merged" = $RUNS ] && [ "$n_both" = $RUNS ] ||
    fail "$what: run counts whole $n_whole, merged $n_merged, together $n_both; expected $RUNS each"
  pass "$what: 2 shards merged, $n_merged runs, identical to the whole sweep's $n_whole runs"
}

shard_source() {  # LOG: the variable the shard came from, as gradest reports it
  sed -nE 's/^sweep [^:]*: .* in shard [0-9]+\/[0-9]+ \(([A-Z_]+)\).*/\1/p' "$1" | head -n 1
}

# ---- the test -------------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "test-cluster runs slurmd, which launches jobs as root: run it as root (a CI container, a VM)"
for tool in munged munge slurmctld slurmd sbatch squeue scontrol scancel mpirun; do
  command -v $tool > /dev/null || fail "$tool is not installed (make -f Makefile.runs test-cluster installs it)"
done
[ -x "$GRADEST" ] || fail "no gradest binary at $GRADEST"
[ "$DIR" != / ] || fail "DIR is /"
# Daemons and jobs left by an earlier run of this test that was killed outright (SIGKILL: no trap).
for f in "$DIR"/run/{munged,slurmctld,slurmd}.pid; do
  pid=$(cat "$f" 2> /dev/null) || continue
  if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' 2> /dev/null < "/proc/$pid/cmdline" | grep -qF "$DIR/"; then
    say "stopping $(basename "$f" .pid) (pid $pid) left by an earlier run"
    kill -KILL "$pid" 2> /dev/null || true
  fi
done
left=$(job_processes)
[ -z "$left" ] || { say "stopping processes of jobs left by an earlier run: $(echo $left)"; kill -KILL $left 2> /dev/null || true; }
rm -rf "$DIR"
mkdir -p "$DIR"/{munge,log,run,state,spool,jobs}
say "test-cluster: $GRADEST, files in $DIR, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"

# The script submitted is the README's.
readme_copy=$(awk '/^<!-- experiments\/slurm\/array.sbatch/ { at = 1; next }
  at == 1 && /^```/ { at = 2; next } at == 2 && /^```/ { exit } at == 2' "$ROOT/README.md")
[ -n "$readme_copy" ] || fail "README.md has no copy of experiments/slurm/array.sbatch after its marker comment"
[ "$readme_copy" = "$(cat "$SCRIPT")" ] ||
  fail "README.md's array script differs from $SCRIPT: $(diff <(echo "$readme_copy") "$SCRIPT" | head -n 5 | tr '\n' ' ')"
pass "README.md's array script is experiments/slurm/array.sbatch"

t=$SECONDS
"$GRADEST" sweep "$CONFIG" --jobs 2 --out "$DIR/whole" > "$DIR/log/whole.log" 2>&1 ||
  fail "the whole sweep: $(tail -n 1 "$DIR/log/whole.log")"
[ "$(runs_in "$DIR/whole/sweep.h5")" = $RUNS ] || fail "the whole sweep holds $(runs_in "$DIR/whole/sweep.h5") runs, not $RUNS"
pass "the sweep run whole on this machine (--jobs 2): $RUNS runs in $(since $t)"

t=$SECONDS
start_cluster
pass "one-node Slurm up in $(since $t): munged, slurmctld, slurmd ($(sinfo -h -N -o '%N, %c CPUs'), slurm $(sinfo -V | cut -d' ' -f2))"

# 1. The array script, 2 tasks.
t=$SECONDS
job=$(submit "$DIR/slurm")
states=$(wait_job "$job")
[ "$(echo $states)" = "0 COMPLETED 0:0 1 COMPLETED 0:0" ] || fail "array job $job: tasks (id state exit) $(echo $states)"
source=$(shard_source "$DIR/jobs/gradest-sweep-${job}_1.out")
[ "$source" = SLURM_ARRAY_TASK_ID ] || fail "array job $job: the shard came from '$source', not SLURM_ARRAY_TASK_ID"
pass "array job $job: 2 tasks COMPLETED in $(since $t), shards from $source"
check_identical "Slurm array" "$DIR/slurm"

# 2. Task 1 cancelled in its second run, then the array submitted again.
t=$SECONDS
mapfile -t shard1 < <("$GRADEST" sweep "$CONFIG" --dry-run --shard 1/2 | sed -nE 's/^  ([0-9a-f]{16}) .*/\1/p')
[ ${#shard1[@]} = 2 ] || fail "gradest sweep --dry-run --shard 1/2 listed ${#shard1[@]} runs, not 2"
cut=$DIR/cancel
job=$(submit "$cut")
first_done_second_running() {
  [ -n "$(squeue -h -j "${job}_1" -o %i)" ] || fail "task 1 of job $job ended before it could be cancelled"
  [ -e "$cut/runs/${shard1[0]}.h5" ] && grep -q '^step ' "$cut/logs/${shard1[1]}.log"
}
wait_until "$JOB_TIMEOUT" "task 1 of job $job finishing its first run and starting its second" first_done_second_running
scancel "${job}_1"
cancelled_at=$(since $t)
states=$(wait_job "$job")
[[ "$(echo $states)" == "0 COMPLETED 0:0 1 CANCELLED "* ]] ||
  fail "job $job with task 1 cancelled: tasks (id state exit) $(echo $states)"
second=$(run_status "$cut/runs/${shard1[1]}.h5" "${shard1[1]}")
[ "$(run_status "$cut/runs/${shard1[0]}.h5" "${shard1[0]}")" = completed ] && [ "$second" != completed ] &&
  [ ! -e "$cut/sweep-shard-1-of-2.h5" ] ||
  fail "the cancel did not cut task 1 in its second run (that run: $second; shard file present: $([ -e "$cut/sweep-shard-1-of-2.h5" ] && echo yes || echo no))"
pass "job $job: task 1 cancelled ${cancelled_at} after submission, in its second run (first run completed, second $second, no shard file); task 0 COMPLETED"
t=$SECONDS
job=$(submit "$cut")
states=$(wait_job "$job")
[ "$(echo $states)" = "0 COMPLETED 0:0 1 COMPLETED 0:0" ] || fail "resubmitted job $job: tasks (id state exit) $(echo $states)"
resumed=""
for task in 0 1; do
  resumed="$resumed task $task: $(grep -oE '[0-9]+ done already, [0-9]+ to run' "$DIR/jobs/gradest-sweep-${job}_$task.out");"
done
[ "$resumed" = " task 0: 2 done already, 0 to run; task 1: 1 done already, 1 to run;" ] ||
  fail "resubmitted job $job ran more or less than what was missing:$resumed"
pass "resubmitted job $job: 2 tasks COMPLETED in $(since $t);$resumed"
check_identical "Slurm array, cancelled and resubmitted" "$cut"

t=$SECONDS
stop_cluster
left=$(job_processes)
for pid in $left; do fail "process $pid of this test's jobs is still running"; done
pass "Slurm and munge stopped in $(since $t)"

# 3. MPI: mpirun starts 2 ranks, each runs its share.
t=$SECONDS
timeout "$JOB_TIMEOUT" mpirun -np 2 --oversubscribe --allow-run-as-root \
  "$GRADEST" sweep "$CONFIG" --jobs 1 --out "$DIR/mpi" --resume > "$DIR/log/mpirun.log" 2>&1 ||
  fail "mpirun: exit $? (log: $DIR/log/mpirun.log): $(tail -n 3 "$DIR/log/mpirun.log" | tr '\n' ' ')"
source=$(shard_source "$DIR/log/mpirun.log")
[ "$source" = OMPI_COMM_WORLD_RANK ] || fail "mpirun: the shard came from '$source', not OMPI_COMM_WORLD_RANK"
pass "mpirun -np 2: 2 ranks done in $(since $t), shards from $source"
check_identical "mpirun" "$DIR/mpi"

pass "test-cluster: every check, in $(since $T0)"
