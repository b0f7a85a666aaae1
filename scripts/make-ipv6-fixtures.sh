#!/usr/bin/env bash
# Captures REAL dual-stack conntrack dumps for testdata/ipv6/ (SPEC §7).
#
# A node with one dual-stack pod, built out of network namespaces (root needed):
#
#   kn6-pod1 (10.244.1.11, 2001:db8:4a1:c701::11) ──┐
#   kn6-pod2 (2001:db8:4a1:c702::12, IPv6 only) ────┼── kn6-node ── kn6-ext
#                                                   (10.0.1.10, 2001:db8:4a1:c7aa::10)
#
# kn6-ext stands for everything outside the node and holds several addresses:
#   2001:db8:e0::20          an "AWS eu-west-1" IPv6 host (testdata/ipv6/ranges)
#   fd00:100::20             a ULA host (IPv6 private set)
#   64:ff9b::c000:20a        NAT64 of 192.0.2.10 (an "S3 us-east-1" IPv4 address)
#   2001:db8:4a1:c7ff::50    a non-pod VPC host in a subnet's IPv6 CIDR
#   192.0.2.10               the same S3 host over IPv4
# Only documentation addresses (RFC 3849, RFC 5737) and the NAT64 well-known
# prefix are used, nothing is routed off the machine, and no translator runs:
# the NAT64 address is simply assigned to kn6-ext, so the dump shows the
# address a pod of an IPv6 EKS cluster would connect to.
#
# Needs: iproute2, conntrack (1.4.7), ip6tables, python3.
set -euo pipefail

OUT=${1:-"$(cd "$(dirname "$0")/.." && pwd)/testdata/ipv6/dumps"}
mkdir -p "$OUT"
NSS="kn6-node kn6-pod1 kn6-pod2 kn6-ext"

cleanup() {
    for ns in $NSS; do ip netns del "$ns" 2>/dev/null || true; done
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT
cleanup

for ns in $NSS; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
N() { ip netns exec kn6-node "$@"; }
P1() { ip netns exec kn6-pod1 "$@"; }
P2() { ip netns exec kn6-pod2 "$@"; }
X() { ip netns exec kn6-ext "$@"; }

ip link add p1 netns kn6-pod1 type veth peer name n-p1 netns kn6-node
ip link add p2 netns kn6-pod2 type veth peer name n-p2 netns kn6-node
ip link add x0 netns kn6-ext type veth peer name n-x0 netns kn6-node
for l in "kn6-pod1 p1" "kn6-pod2 p2" "kn6-ext x0"; do
    set -- $l; ip -n "$1" link set "$2" up
done
for l in n-p1 n-p2 n-x0; do ip -n kn6-node link set "$l" up; done

# node
ip -n kn6-node addr add 10.244.1.1/24 dev n-p1
ip -n kn6-node addr add 2001:db8:4a1:c701::1/64 dev n-p1 nodad
ip -n kn6-node addr add 2001:db8:4a1:c702::1/64 dev n-p2 nodad
ip -n kn6-node addr add 10.0.1.10/24 dev n-x0
ip -n kn6-node addr add 2001:db8:4a1:c7aa::10/64 dev n-x0 nodad
ip -n kn6-node route add 192.0.2.0/24 dev n-x0
for a in 2001:db8:e0::/48 fd00:100::/64 64:ff9b::/96 2001:db8:4a1:c7ff::/64; do
    ip -n kn6-node -6 route add "$a" dev n-x0
done
# pods
ip -n kn6-pod1 addr add 10.244.1.11/24 dev p1
ip -n kn6-pod1 addr add 2001:db8:4a1:c701::11/64 dev p1 nodad
ip -n kn6-pod1 route add default via 10.244.1.1
ip -n kn6-pod1 -6 route add default via 2001:db8:4a1:c701::1
ip -n kn6-pod2 addr add 2001:db8:4a1:c702::12/64 dev p2 nodad
ip -n kn6-pod2 -6 route add default via 2001:db8:4a1:c702::1
# the outside
for a in 2001:db8:e0::20/128 fd00:100::20/128 64:ff9b::c000:20a/128 2001:db8:4a1:c7ff::50/128; do
    ip -n kn6-ext addr add "$a" dev x0 nodad
done
ip -n kn6-ext addr add 192.0.2.10/32 dev x0
ip -n kn6-ext route add 10.0.1.10/32 dev x0
ip -n kn6-ext route add 10.0.0.0/8 via 10.0.1.10
ip -n kn6-ext -6 route add 2001:db8:4a1:c7aa::/64 dev x0
ip -n kn6-ext -6 route add 2001:db8:4a1::/48 via 2001:db8:4a1:c7aa::10

N sysctl -qw net.ipv4.ip_forward=1
N sysctl -qw net.ipv6.conf.all.forwarding=1
# IPv6 conntrack hooks are only registered once an ip6tables rule needs them.
N ip6tables -A FORWARD -m conntrack --ctstate INVALID -j DROP
N ip6tables -A OUTPUT -m conntrack --ctstate INVALID -j DROP
N iptables -A FORWARD -m conntrack --ctstate INVALID -j DROP
N sysctl -qw net.netfilter.nf_conntrack_acct=1

# A dual-stack sink on kn6-ext (1000 bytes back) and an IPv6 "pod" on kn6-pod2 (500 bytes back).
serve() { # ns bind-address port reply-bytes
    ip netns exec "$1" timeout 60 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(5)
while True:
    c, _ = s.accept(); c.recv(4096); c.sendall(b"x" * int(sys.argv[3])); c.close()
' "$2" "$3" "$4" >/dev/null 2>&1 &
}
serve kn6-ext :: 8443 1000
serve kn6-pod2 2001:db8:4a1:c702::12 8080 500
sleep 1

connect() { # ns family source source-port destination port
    ip netns exec "$1" timeout 10 python3 -c '
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
s = socket.socket(fam); s.bind((sys.argv[2], int(sys.argv[3])))
s.connect((sys.argv[4], int(sys.argv[5]))); s.sendall(b"hello")
while s.recv(4096): pass
s.close()
' "$2" "$3" "$4" "$5" "$6"
}
# 1. pod -> pod over IPv6 (global addresses inside the "AWS" prefix): INTRA_VPC by the pod.
connect kn6-pod1 6 2001:db8:4a1:c701::11 41001 2001:db8:4a1:c702::12 8080
# 2. pod -> an eu-west-1 host: INTER_REGION.
connect kn6-pod1 6 2001:db8:4a1:c701::11 41002 2001:db8:e0::20 8443
# 3. pod -> a ULA host: INTRA_VPC (private set).
connect kn6-pod1 6 2001:db8:4a1:c701::11 41003 fd00:100::20 8443
# 4. pod -> NAT64 of an S3 IPv4 address: INTRA_REGION s3 by the embedded IPv4.
connect kn6-pod1 6 2001:db8:4a1:c701::11 41004 64:ff9b::c000:20a 8443
# 5. pod -> a VPC host in a subnet's IPv6 CIDR: INTRA_VPC with --subnets, else ec2.
connect kn6-pod1 6 2001:db8:4a1:c701::11 41005 2001:db8:4a1:c7ff::50 8443
# 6. the same S3 host over IPv4: labelled by both schemas.
connect kn6-pod1 4 10.244.1.11 41006 192.0.2.10 8443
# 7. the IPv6-only pod -> the eu-west-1 host.
connect kn6-pod2 6 2001:db8:4a1:c702::12 41007 2001:db8:e0::20 8443
# 8. the node itself over IPv6: node_flow.
connect kn6-node 6 2001:db8:4a1:c7aa::10 41008 2001:db8:e0::20 8443
sleep 1

N conntrack -L >"$OUT/list-default.txt" 2>&1
N conntrack -L -o extended >"$OUT/list-extended.txt" 2>&1
N cat /proc/net/nf_conntrack >"$OUT/proc-nf_conntrack.txt"
echo "fixtures written to $OUT" >&2
