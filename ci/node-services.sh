# The cluster services that pods on the real node reach through the node IP: DNS
# (CoreDNS) and the API server. Sourced by ci/node, which sets N, DIR, NODE_IP,
# POD_CIDR, SERVICE_CIDR and the helpers (start, fail, wait_for, kubectl); not run alone.
#
# Both run on the host, bound to the node IP (the bridge's address), so they are reached
# only from the pod network and this machine: nothing listens on an outside interface.

COREDNS="$(tool_dir coredns "$COREDNS_VERSION")/bin/coredns"

# CoreDNS with the kubernetes plugin (the cluster's own kubeconfig, as the operator
# uses) answers cluster.local and the reverse zones of the pod and Service ranges;
# every other name gets NXDOMAIN from the template plugin, because nothing outside this
# machine may be looked up or reached. The kubelet hands pods the node IP as their
# nameserver (clusterDNS). `ready` turns 200 once the plugin has synced with the API.
start_coredns() {
  local d="$N/coredns" ready
  mkdir -p "$d"
  read -r ready < <(free_ports 1)
  echo "$ready" >"$d/ready.port"
  cat >"$d/Corefile" <<EOF
cluster.local in-addr.arpa ip6.arpa {
  bind $NODE_IP
  errors
  ready 127.0.0.1:$ready
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig $DIR/kubeconfig
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  template ANY ANY in-addr.arpa ip6.arpa {
    rcode NXDOMAIN
  }
  cache 30
}
. {
  bind $NODE_IP
  errors
  template ANY ANY . {
    rcode NXDOMAIN
  }
}
EOF
  start coredns "$COREDNS" -conf "$d/Corefile" -dns.port 53
  wait_for coredns "CoreDNS ready on $NODE_IP:53" curl -fsS "http://127.0.0.1:$ready/ready"
}

# kubernetes_endpoint_slice PORT: the `kubernetes` Service's endpoint, the forward below.
# The control plane runs --endpoint-reconciler-type none (its own address is loopback),
# so nothing else writes this slice; `down` deletes it with the node.
kubernetes_endpoint_slice() {
  kubectl apply --server-side --force-conflicts -f - <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes-llmstack-node
  namespace: default
  labels:
    kubernetes.io/service-name: kubernetes
    endpointslice.kubernetes.io/managed-by: llmstack.local-ci-node
addressType: IPv4
endpoints:
  - addresses: ["$NODE_IP"]
    conditions: {ready: true}
ports:
  - name: https
    port: $1
    protocol: TCP
EOF
}

# The API server from pods (in-cluster clients such as KubeRay's autoscaler sidecar):
# it listens on 127.0.0.1 only, so a forward on the node IP (same port) carries pod
# connections to it, and the `kubernetes` Service (10.96.0.1:443, named in the serving
# certificate) points at the forward. TLS passes through untouched.
start_apiserver_forward() {
  local port
  port=$(sed -n 's/^APISERVER_PORT=//p' "$DIR/ports.env")
  start apiserver-forward socat -L "$N/run/apiserver-forward.lock" \
    "TCP-LISTEN:$port,bind=$NODE_IP,fork,reuseaddr" "TCP:127.0.0.1:$port"
  wait_for apiserver-forward "API server on $NODE_IP:$port" curl -fsS --cacert "$DIR/pki/ca.crt" \
    --resolve "kubernetes.default.svc:$port:$NODE_IP" "https://kubernetes.default.svc:$port/readyz"
  quiet kubernetes_endpoint_slice "$port" || fail apiserver-forward "could not write the kubernetes EndpointSlice"
}

stop_node_services() {
  stop apiserver-forward
  stop coredns
  if kubectl get --raw /readyz >/dev/null 2>&1; then
    kubectl -n default delete endpointslice kubernetes-llmstack-node --ignore-not-found >/dev/null 2>&1 || true
  fi
}
