# Process and package helpers shared by ci/cluster, ci/node and ci/images. Source it
# after ci/lib.sh; do not run it. The caller sets STATE (the directory holding
# run/NAME.pid, whose path every started command line names) and LOGS (where NAME.log
# goes, prefixed by LOG_PREFIX).

# free_ports N: N distinct free TCP ports on 127.0.0.1, space separated.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z ]]
}

# pid_of NAME: the pid of a component started under STATE, if it is still that process.
# The command line must mention STATE, so a recycled pid is never taken for ours. It can
# read empty for an instant right after `start`, while setsid execs the component (seen
# once in CI, with kube-router on a machine busy importing images, as "exited while
# waiting" with nothing in its log), so an empty one is read again before it counts.
pid_of() {
  local f="$STATE/run/$1.pid" pid cmdline
  [[ -f $f ]] || return 1
  pid=$(<"$f")
  alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  if [[ -z $cmdline ]]; then
    sleep 0.5
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  fi
  [[ $cmdline == *"$STATE/"* ]] || return 1
  printf '%s' "$pid"
}

# log_of NAME: the log file of a component.
log_of() { printf '%s/%s%s.log' "$LOGS" "${LOG_PREFIX:-}" "$1"; }

# start NAME CMD ARGS...: run a component in its own session, output to its log.
start() {
  local name=$1
  shift
  setsid "$@" >"$(log_of "$name")" 2>&1 </dev/null &
  echo $! >"$STATE/run/$name.pid"
  disown  # no job notices if a failed start has to stop it
}

# stop NAME: TERM, then KILL after 10 s.
stop() {
  local pid deadline
  pid=$(pid_of "$1") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 10))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$STATE/run/$1.pid"
}

# quiet CMD...: run CMD, showing its output only if it fails.
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# ensure_debian_packages PKG...: install the Debian packages that are missing.
ensure_debian_packages() {
  local p missing=()
  for p in "$@"; do
    [[ $(dpkg-query -W -f '${Status}' "$p" 2>/dev/null) == *"ok installed"* ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing Debian packages: ${missing[*]}"
  quiet apt-get update
  DEBIAN_FRONTEND=noninteractive quiet apt-get install -y --no-install-recommends "${missing[@]}"
}
