#!/usr/bin/env bash
# Captures the REAL conntrack dumps of testdata/demo/dumps/ (root needed).
#
# A two-node "cluster" made of network namespaces, every address private or
# a documentation address (RFC 5737), so nothing can leave the machine:
#
#   demo-web-1 10.244.1.11 ─┐                       ┌─ demo-db-1   10.244.2.12
#   demo-web-2 10.244.1.12 ─┤ demo-node-a           │  demo-dns-1  10.244.2.53
#                           │ 10.0.1.10 ──┐   ┌──── demo-node-b 10.0.2.20
#                                         br0 (demo-vpc, 10.0.0.1/16, router)
#                                          │
#                            demo-inet: 192.0.2.10 (AWS S3 us-east-1 in the demo ranges)
#                                       192.0.2.200 (AWS eu-west-1)
#                                       198.51.100.7 (GCP)
#                                       203.0.113.9 (in no range file)
#
# node-a DNATs the ClusterIPs 10.96.0.10:80 (db) and 10.96.0.53:53/udp (dns)
# to node-b's pods and a NodePort 10.0.1.10:30080 to web-1; both nodes
# MASQUERADE pod traffic leaving the VPC. The traffic is listed in
# testdata/demo/README.md. Re-runnable: namespaces are removed first and at exit.
#
# Needs: iproute2, iptables, conntrack (conntrack-tools), python3, ping.
set -euo pipefail

OUT=${1:-"$(cd "$(dirname "$0")/.." && pwd)/testdata/demo/dumps"}
mkdir -p "$OUT"
NODE_A=ip-10-0-1-10.ec2.internal
NODE_B=ip-10-0-2-20.ec2.internal
NSS="demo-vpc demo-inet demo-node-a demo-node-b demo-web-1 demo-web-2 demo-db-1 demo-dns-1"

cleanup() {
    jobs -p | xargs -r kill 2>/dev/null || true
    for ns in $NSS; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
cleanup

for ns in $NSS; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
nsx() { local ns=$1; shift; ip netns exec "demo-$ns" "$@"; }

# The VPC: a bridge in demo-vpc, which also routes to the "internet".
ip -n demo-vpc link add br0 type bridge
ip -n demo-vpc addr add 10.0.0.1/16 dev br0
ip -n demo-vpc link set br0 up
nsx vpc sysctl -qw net.ipv4.ip_forward=1
for n in a:10.0.1.10 b:10.0.2.20; do
    node=${n%%:*} addr=${n#*:}
    ip link add eth0 netns "demo-node-$node" type veth peer name "v-$node" netns demo-vpc
    ip -n demo-vpc link set "v-$node" master br0 up
    ip -n "demo-node-$node" addr add "$addr/16" dev eth0
    ip -n "demo-node-$node" link set eth0 up
    ip -n "demo-node-$node" route add default via 10.0.0.1
    nsx "node-$node" sysctl -qw net.ipv4.ip_forward=1
done
ip -n demo-vpc route add 10.244.1.0/24 via 10.0.1.10
ip -n demo-vpc route add 10.244.2.0/24 via 10.0.2.20
ip -n demo-node-a route add 10.244.2.0/24 via 10.0.2.20
ip -n demo-node-b route add 10.244.1.0/24 via 10.0.1.10

# The "internet": one namespace holding every external address.
ip link add up0 netns demo-inet type veth peer name v-inet netns demo-vpc
ip -n demo-vpc addr add 192.168.255.1/30 dev v-inet
ip -n demo-vpc link set v-inet up
ip -n demo-inet addr add 192.168.255.2/30 dev up0
ip -n demo-inet link set up0 up
ip -n demo-inet route add default via 192.168.255.1
for a in 192.0.2.10 192.0.2.200 198.51.100.7 203.0.113.9; do
    ip -n demo-inet addr add "$a/32" dev lo
    ip -n demo-vpc route add "$a/32" via 192.168.255.2
done

# Pods: a veth into their node, /32 routes on the node side.
pod() { # name node ip
    local name=$1 node=$2 addr=$3 gw
    gw=$(echo "$addr" | awk -F. '{print $1"."$2"."$3".1"}')
    ip link add eth0 netns "demo-$name" type veth peer name "p-$name" netns "demo-node-$node"
    # /32 and an on-link gateway, as CNIs do: every packet goes via the node.
    ip -n "demo-$name" addr add "$addr/32" dev eth0
    ip -n "demo-$name" link set eth0 up
    ip -n "demo-$name" route add "$gw" dev eth0 scope link
    ip -n "demo-$name" route add default via "$gw" dev eth0
    ip -n "demo-node-$node" link set "p-$name" up
    ip -n "demo-node-$node" addr add "$gw/32" dev "p-$name" 2>/dev/null || true
    ip -n "demo-node-$node" route add "$addr/32" dev "p-$name"
}
pod web-1 a 10.244.1.11
pod web-2 a 10.244.1.12
pod db-1 b 10.244.2.12
pod dns-1 b 10.244.2.53

# kube-proxy's work on node-a, and SNAT of traffic leaving the VPC on both.
nsx node-a iptables -t nat -A PREROUTING -d 10.96.0.10/32 -p tcp --dport 80 \
    -j DNAT --to-destination 10.244.2.12:8080
nsx node-a iptables -t nat -A PREROUTING -d 10.96.0.53/32 -p udp --dport 53 \
    -j DNAT --to-destination 10.244.2.53:53
nsx node-a iptables -t nat -A PREROUTING -d 10.0.1.10/32 -p tcp --dport 30080 \
    -j DNAT --to-destination 10.244.1.11:8080
nsx node-a iptables -t nat -A OUTPUT -d 10.96.0.10/32 -p tcp --dport 80 \
    -j DNAT --to-destination 10.244.2.12:8080
for node in a b; do
    nsx "node-$node" iptables -t nat -A POSTROUTING -s 10.244.0.0/16 ! -d 10.0.0.0/8 -j MASQUERADE
    nsx "node-$node" sysctl -qw net.netfilter.nf_conntrack_acct=1
done
# No ICMP "port unreachable" for the unanswered UDP probe: it stays UNREPLIED.
nsx inet iptables -A INPUT -p udp --dport 9999 -j DROP

# Servers. Each answers a request with a fixed number of bytes.
SERVE='
import socket, sys, threading
def tcp(addr, port, size):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.recv(65536); c.sendall(b"x" * size); c.close()
def udp(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, port))
    while True:
        d, a = s.recvfrom(2048); s.sendto(d * 2, a)
for spec in sys.argv[1:]:
    kind, addr, port, *size = spec.split(":")
    f = (lambda a=addr, p=int(port), n=int(size[0]): tcp(a, p, n)) if kind == "tcp" else (lambda a=addr, p=int(port): udp(a, p))
    threading.Thread(target=f, daemon=True).start()
threading.Event().wait()
'
nsx inet timeout 60 python3 -c "$SERVE" tcp:192.0.2.10:443:20000 tcp:192.0.2.200:443:5000 \
    tcp:198.51.100.7:443:3000 tcp:203.0.113.9:80:1500 &
nsx web-1 timeout 60 python3 -c "$SERVE" tcp:10.244.1.11:8080:800 &
nsx web-2 timeout 60 python3 -c "$SERVE" tcp:10.244.1.12:8080:600 &
nsx db-1 timeout 60 python3 -c "$SERVE" tcp:10.244.2.12:8080:4000 &
nsx dns-1 timeout 60 python3 -c "$SERVE" udp:10.244.2.53:53 &
nsx node-a timeout 60 python3 -c "$SERVE" tcp:127.0.0.1:10248:2 &
sleep 1

# Clients, with fixed source ports so the dumps are easy to read.
CLIENT='
import socket, sys
kind, src, sport, dst, dport, size = sys.argv[1:]
if kind == "tcp":
    s = socket.socket(); s.bind((src, int(sport))); s.connect((dst, int(dport)))
    s.sendall(b"q" * int(size)); s.shutdown(socket.SHUT_WR)
    while s.recv(65536): pass
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((src, int(sport)))
    s.settimeout(1); s.sendto(b"q" * int(size), (dst, int(dport)))
    try: s.recvfrom(4096)
    except socket.timeout: pass
s.close()
'
req() { local ns=$1; shift; nsx "$ns" python3 -c "$CLIENT" "$@"; }
req web-1 tcp 10.244.1.11 41001 192.0.2.10 443 300     # S3 in our region   -> INTRA_REGION
req web-1 tcp 10.244.1.11 41002 192.0.2.200 443 200    # AWS eu-west-1      -> INTER_REGION
req web-2 tcp 10.244.1.12 41003 198.51.100.7 443 100   # GCP                -> PUBLIC_INTERNET
req web-2 tcp 10.244.1.12 41004 203.0.113.9 80 50      # no range           -> PUBLIC_INTERNET
req web-1 tcp 10.244.1.11 41005 10.244.1.12 8080 120   # pod->pod same node -> INTRA_VPC
req web-1 tcp 10.244.1.11 41006 10.96.0.10 80 150      # ClusterIP -> db-1 on node-b
req web-1 udp 10.244.1.11 41007 10.96.0.53 53 40       # DNS-like via ClusterIP -> dns-1
req web-2 udp 10.244.1.12 41008 203.0.113.9 9999 20    # unanswered UDP     -> [UNREPLIED]
req db-1 tcp 10.244.2.12 41009 192.0.2.10 443 400      # from node-b's pod  -> INTRA_REGION
req inet tcp 198.51.100.7 41010 10.0.1.10 30080 70     # NodePort inbound   -> web-1
req node-a tcp 10.0.1.10 41011 10.96.0.10 80 60        # the node itself    -> node_flow
req node-a tcp 127.0.0.1 41012 127.0.0.1 10248 10      # kubelet healthz    -> loopback
nsx web-1 ping -q -c 2 -s 56 -i 0.2 203.0.113.9 >/dev/null   # ICMP          -> protocol
sleep 1

nsx node-a conntrack -L >"$OUT/$NODE_A.txt"
nsx node-b conntrack -L >"$OUT/$NODE_B.txt"
echo "dumps written to $OUT:" >&2
wc -l "$OUT"/*.txt >&2
