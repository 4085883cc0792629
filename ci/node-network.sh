# The real node's network: kernel settings, the pod bridge with its guard, the CNI
# config, and NetworkPolicy enforcement (kube-router's firewall controller). Sourced by
# ci/node, which sets N, DIR, BRIDGE, NODE_IP, NODE_SUBNET, NODE_NAME, POD_CIDR,
# SERVICE_CIDR, GUARD_CHAIN and the helpers (start, fail, wait_for, log); not run alone.
#
# What keeps traffic on this machine: pods get routes for the pod and Service CIDRs
# only (no default route), nothing is masqueraded, and the guard drops pod or Service
# traffic that would leave by any interface but the bridge (and lo).

KUBE_ROUTER="$(tool_dir kube-router "$KUBE_ROUTER_VERSION")/bin/kube-router"

# kubelet insists on these kernel settings and writes them itself; set them here so the
# originals are saved and `down` restores them. ip_forward lets pods reach Services
# (traffic comes back out of the bridge after kube-proxy's DNAT).
SYSCTLS=(net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 vm.overcommit_memory=1
  vm.panic_on_oom=0 kernel.panic=10 kernel.panic_on_oops=1
  kernel.keys.root_maxkeys=1000000 kernel.keys.root_maxbytes=25000000)

set_sysctls() {
  local kv
  if [[ ! -f $N/sysctl.orig ]]; then
    for kv in "${SYSCTLS[@]}"; do printf '%s=%s\n' "${kv%%=*}" "$(sysctl -n "${kv%%=*}")"; done >"$N/sysctl.orig"
  fi
  for kv in "${SYSCTLS[@]}"; do quiet sysctl -w "$kv"; done
}

restore_sysctls() {
  local kv
  [[ -f $N/sysctl.orig ]] || return 0
  while read -r kv; do sysctl -w "$kv" >/dev/null 2>&1 || true; done <"$N/sysctl.orig"
}

# mangle GUARD_CHAIN/-OUT: the guard lives in the mangle table, which every packet
# crosses before the filter table. In filter it would sit behind kube-router's jumps
# (kept first in INPUT/FORWARD/OUTPUT on every sync) and their ACCEPT of traffic the
# policies allow. Forwarded traffic may only go bridge to bridge; anything to a pod or
# Service address (after kube-proxy's DNAT, in POSTROUTING) must leave by the bridge.
mangle() { iptables -t mangle "$@"; }

start_guard() {
  mangle -N "$GUARD_CHAIN" 2>/dev/null || mangle -F "$GUARD_CHAIN"
  mangle -A "$GUARD_CHAIN" -o "$BRIDGE" -i "$BRIDGE" -j RETURN
  mangle -A "$GUARD_CHAIN" -i "$BRIDGE" -j DROP
  mangle -A "$GUARD_CHAIN" -o "$BRIDGE" -j DROP
  mangle -C FORWARD -j "$GUARD_CHAIN" 2>/dev/null || mangle -I FORWARD 1 -j "$GUARD_CHAIN"
  mangle -N "$GUARD_CHAIN-OUT" 2>/dev/null || mangle -F "$GUARD_CHAIN-OUT"
  mangle -A "$GUARD_CHAIN-OUT" -o lo -j RETURN  # the node IP itself (kubelet)
  mangle -A "$GUARD_CHAIN-OUT" -d "$POD_CIDR" ! -o "$BRIDGE" -j DROP
  mangle -A "$GUARD_CHAIN-OUT" -d "$SERVICE_CIDR" ! -o "$BRIDGE" -j DROP
  mangle -C POSTROUTING -j "$GUARD_CHAIN-OUT" 2>/dev/null || mangle -I POSTROUTING 1 -j "$GUARD_CHAIN-OUT"
}

stop_guard() {
  mangle -D FORWARD -j "$GUARD_CHAIN" 2>/dev/null || true
  mangle -D POSTROUTING -j "$GUARD_CHAIN-OUT" 2>/dev/null || true
  mangle -F "$GUARD_CHAIN" 2>/dev/null && mangle -X "$GUARD_CHAIN" 2>/dev/null || true
  mangle -F "$GUARD_CHAIN-OUT" 2>/dev/null && mangle -X "$GUARD_CHAIN-OUT" 2>/dev/null || true
}

# CNI: the bridge (created here so the node IP exists before the kubelet starts), host
# routes keeping pod and Service traffic on the bridge, the guard, and the network
# config containerd hands to the bridge plugin.
start_cni() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr replace "$NODE_IP/${NODE_SUBNET#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  ip route replace "$POD_CIDR" dev "$BRIDGE" src "$NODE_IP"
  ip route replace "$SERVICE_CIDR" dev "$BRIDGE" src "$NODE_IP"
  start_guard

  mkdir -p "$N/cni/net.d" "$N/cni/ipam"
  cat >"$N/cni/net.d/10-llmstack.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "llmstack",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$N/cni/ipam",
        "ranges": [[{"subnet": "$NODE_SUBNET", "gateway": "$NODE_IP"}]],
        "routes": [
          {"dst": "$POD_CIDR", "gw": "$NODE_IP"},
          {"dst": "$SERVICE_CIDR", "gw": "$NODE_IP"}
        ]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": false}
  ]
}
EOF
  python3 -m json.tool "$N/cni/net.d/10-llmstack.conflist" >/dev/null || fail cni "invalid network config"
  [[ $(ip -4 addr show dev "$BRIDGE") == *"inet $NODE_IP/"* ]] || fail cni "bridge $BRIDGE has no $NODE_IP"
  log "cni: bridge $BRIDGE $NODE_IP, pods in $NODE_SUBNET, no default route: ok at $((SECONDS - UP_STARTED))s"
}

# NetworkPolicy: kube-router with only its firewall controller (no routing, no service
# proxy, no CNI), which turns the policies into iptables rules and ipsets for the pods
# of this node; kube-proxy keeps the Services. Traffic from the node itself to its pods
# stays allowed (kubelet probes, the operator's dashboard calls through the API
# server). It watches the cluster with a copy of the admin kubeconfig, as CoreDNS does
# (a copy under the node's directory, so its command line names it: see pid_of). No
# health or metrics listener: it is ready once its top-level chain exists.
start_kube_router() {
  cp "$DIR/kubeconfig" "$N/kube-router.kubeconfig"
  NODE_NAME=$NODE_NAME start kube-router "$KUBE_ROUTER" --kubeconfig "$N/kube-router.kubeconfig" \
    --hostname-override "$NODE_NAME" --run-firewall=true --run-router=false --run-service-proxy=false \
    --run-loadbalancer=false --enable-cni=false --enable-ipv6=false --service-cluster-ip-range "$SERVICE_CIDR" \
    --health-port 0 --metrics-port 0 --iptables-sync-period 1m -v 1
  wait_for kube-router "kube-router's NetworkPolicy chains" iptables -t filter -S KUBE-ROUTER-FORWARD
}

# After kube-router stops: its jumps, chains and ipsets. Its own --cleanup-config (v2.1.0)
# leaves the filter chains in place and then crashes in the service proxy's cleanup, so
# they are removed here by kube-router's fixed names and prefixes.
KUBE_ROUTER_CHAINS='^(KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)|KUBE-NWPLCY-.*|KUBE-POD-FW-.*)$'
clean_kube_router() {
  local chain n
  for chain in INPUT FORWARD OUTPUT; do
    for n in $(iptables -L "$chain" -n --line-numbers 2>/dev/null | awk '/kube-router netpol/ {print $1}' | sort -rn); do
      iptables -D "$chain" "$n" 2>/dev/null || true
    done
  done
  local chains
  chains=$(iptables -S 2>/dev/null | awk '$1 == "-N" {print $2}' | grep -E "$KUBE_ROUTER_CHAINS" || true)
  for chain in $chains; do iptables -F "$chain" 2>/dev/null || true; done
  for chain in $chains; do iptables -X "$chain" 2>/dev/null || true; done
  for n in $(ipset list -n 2>/dev/null | grep -E '^KUBE-(SRC|DST)-' || true); do
    ipset destroy "$n" 2>/dev/null || true
  done
}

network_down() {
  local v
  for v in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$v" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true  # its routes go with it
  stop_guard
  # The kubelet's own chains (kube-proxy --cleanup removed kube-proxy's).
  local ipt tc
  for ipt in iptables ip6tables; do
    "$ipt" -D INPUT -j KUBE-FIREWALL 2>/dev/null || true
    "$ipt" -D OUTPUT -j KUBE-FIREWALL 2>/dev/null || true
    for tc in filter/KUBE-FIREWALL filter/KUBE-KUBELET-CANARY nat/KUBE-KUBELET-CANARY \
      mangle/KUBE-KUBELET-CANARY mangle/KUBE-IPTABLES-HINT; do
      "$ipt" -t "${tc%/*}" -F "${tc#*/}" 2>/dev/null && "$ipt" -t "${tc%/*}" -X "${tc#*/}" 2>/dev/null || true
    done
  done
}
