#!/usr/bin/env bash
# Captures REAL conntrack dumps for testdata/conntrack/real/.
#
# Builds a tiny "cluster" out of network namespaces (root needed):
#
#   kn-pod1 (10.244.1.11, fd00:1::11) ──┐
#                                        kn-node ── kn-ext (192.168.100.20, fd00:100::20)
#   kn-pod2 (10.244.2.12)  ─────────────┘   (NAT: ClusterIP 10.96.0.10:80 -> 10.244.2.12:8080,
#                                             MASQUERADE to 192.168.100.1 towards kn-ext)
#
# then sends known traffic from kn-pod1 and dumps kn-node's conntrack table
# in every output format. Everything stays inside these namespaces; nothing
# leaves the machine. Re-runnable: namespaces are removed first and at exit.
#
#   make-conntrack-fixtures.sh [OUT]              testdata/conntrack/real/
#   make-conntrack-fixtures.sh --baseline [OUT]   testdata/conntrack/baseline/:
#       two snapshots (`conntrack -L`, and `-o id`) a few seconds apart with
#       known traffic in between, for `label --baseline` (SPEC §8); what was
#       sent is written to OUT/traffic.json
#
# Needs: iproute2, conntrack (1.4.7), iptables, python3, curl, ping.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODE=real
if [ "${1:-}" = "--baseline" ]; then
    MODE=baseline
    shift
fi
OUT=${1:-"$ROOT/testdata/conntrack/$MODE"}
mkdir -p "$OUT"
NSS="kn-node kn-pod1 kn-pod2 kn-ext"

cleanup() {
    for ns in $NSS; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
cleanup

for ns in $NSS; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
N() { ip netns exec kn-node "$@"; }
P1() { ip netns exec kn-pod1 "$@"; }
P2() { ip netns exec kn-pod2 "$@"; }
X() { ip netns exec kn-ext "$@"; }

# links: <ns>:<ifname> <-> kn-node:<ifname>
ip link add p1 netns kn-pod1 type veth peer name n-p1 netns kn-node
ip link add p2 netns kn-pod2 type veth peer name n-p2 netns kn-node
ip link add x0 netns kn-ext type veth peer name n-x0 netns kn-node
for l in "kn-pod1 p1" "kn-pod2 p2" "kn-ext x0"; do
    set -- $l; ip -n "$1" link set "$2" up
done
for l in n-p1 n-p2 n-x0; do ip -n kn-node link set "$l" up; done

ip -n kn-node addr add 10.244.1.1/24 dev n-p1
ip -n kn-node addr add 10.244.2.1/24 dev n-p2
ip -n kn-node addr add 192.168.100.1/24 dev n-x0
ip -n kn-node addr add fd00:1::1/64 dev n-p1 nodad
ip -n kn-node addr add fd00:100::1/64 dev n-x0 nodad
ip -n kn-pod1 addr add 10.244.1.11/24 dev p1
ip -n kn-pod1 addr add fd00:1::11/64 dev p1 nodad
ip -n kn-pod1 route add default via 10.244.1.1
ip -n kn-pod1 -6 route add default via fd00:1::1
ip -n kn-pod2 addr add 10.244.2.12/24 dev p2
ip -n kn-pod2 route add default via 10.244.2.1
ip -n kn-ext addr add 192.168.100.20/24 dev x0
ip -n kn-ext addr add fd00:100::20/64 dev x0 nodad
ip -n kn-ext -6 route add default via fd00:100::1
# kn-ext has no route back to the pod networks: it only sees the node (MASQUERADE).

N sysctl -qw net.ipv4.ip_forward=1
N sysctl -qw net.ipv6.conf.all.forwarding=1

# Conntrack is created on first use in a namespace; touch it before the sysctls.
N iptables -t nat -A PREROUTING -d 10.96.0.10/32 -p tcp --dport 80 \
    -j DNAT --to-destination 10.244.2.12:8080
N iptables -t nat -A POSTROUTING -o n-x0 -j MASQUERADE
# IPv6 conntrack hooks are only registered once an ip6tables rule needs them.
N ip6tables -A FORWARD -m conntrack --ctstate INVALID -j DROP
N sysctl -qw net.netfilter.nf_conntrack_acct=1
N sysctl -qw net.netfilter.nf_conntrack_timestamp=1
# Raw SCTP packets below carry no CRC32c; let conntrack accept them.
N sysctl -qw net.netfilter.nf_conntrack_checksum=0
# A conntrack mark on ICMP, a zone on UDP-Lite, a tuple zone (zone-orig=) on GRE.
N iptables -t mangle -A PREROUTING -p icmp -j CONNMARK --set-mark 42
N iptables -t raw -A PREROUTING -p udplite -j CT --zone 7
N iptables -t raw -A PREROUTING -p gre -j CT --zone-orig 9 || echo "note: CT --zone-orig unsupported" >&2
# Connection labels need a label map; the dump prints the names from it.
LABELS_CONF=/etc/xtables/connlabel.conf
if [ ! -e "$LABELS_CONF" ]; then
    mkdir -p /etc/xtables
    printf '0 kn-dns\n1 kn-web\n' >"$LABELS_CONF"
fi
LABEL0=$(awk '$1=="0"{print $2}' "$LABELS_CONF")
N iptables -t mangle -A PREROUTING -p udp --dport 5353 -m connlabel --label "$LABEL0" --set \
    || echo "note: connlabel unsupported" >&2

# Services: an HTTP "pod" behind the ClusterIP, a UDP echo and a TCP sink on kn-ext.
P2 timeout 60 python3 -m http.server 8080 --bind 10.244.2.12 >/dev/null 2>&1 &
X timeout 60 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.100.20", 5353))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
' >/dev/null 2>&1 &
X timeout 60 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.168.100.20", 8443)); s.listen(5)
while True:
    c, _ = s.accept(); c.recv(4096); c.sendall(b"x" * 1000); c.close()
' >/dev/null 2>&1 &
sleep 1

if [ "$MODE" = baseline ]; then
    # A TCP echo server that keeps connections open.
    X timeout 60 python3 -c '
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.168.100.20", 8444)); s.listen(5)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' >/dev/null 2>&1 &
    sleep 1
    # The driver runs in kn-pod1 and takes the snapshots in kn-node itself,
    # so traffic and snapshots interleave exactly as written.
    rm -f "$OUT"/snap*.txt
    P1 python3 - "$OUT" <<'PY'
import json, socket, struct, subprocess, sys, time

out = sys.argv[1]
EXT = "192.168.100.20"
ICMP_ID = 4660
sent = {}

def node(*cmd):
    return subprocess.run(["ip", "netns", "exec", "kn-node", *cmd],
                          check=True, capture_output=True)

def snapshot(name):
    time.sleep(0.5)  # let delayed ACKs go out first
    at = time.time()
    for suffix, opts in (("", []), ("-id", ["-o", "id"])):
        r = node("conntrack", "-L", *opts)
        with open(f"{out}/{name}{suffix}.txt", "wb") as f:
            f.write(r.stdout + r.stderr)  # conntrack's summary line last
    return int(at)

def tcp(port):
    s = socket.socket()
    s.bind(("10.244.1.11", port))
    s.connect((EXT, 8444))
    return s

def echo_tcp(s, n):
    s.sendall(b"t" * n)
    got = 0
    while got < n:
        got += len(s.recv(65536))

def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.244.1.11", port))
    s.settimeout(2)
    return s

def echo_udp(s, sizes):
    for n in sizes:
        s.sendto(b"u" * n, (EXT, 5353))
        s.recvfrom(2048)

def checksum(b):
    b += b"\0" * (len(b) % 2)
    c = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while c >> 16:
        c = (c & 0xFFFF) + (c >> 16)
    return ~c & 0xFFFF

def ping(seq, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(2)
    body = b"p" * n
    hdr = struct.pack("!BBHHH", 8, 0, 0, ICMP_ID, seq)
    s.sendto(struct.pack("!BBHHH", 8, 0, checksum(hdr + body), ICMP_ID, seq) + body, (EXT, 0))
    while True:
        p, _ = s.recvfrom(4096)
        ihl = (p[0] & 15) * 4
        t, _, _, pid, pseq = struct.unpack("!BBHHH", p[ihl:ihl + 8])
        if t == 0 and pid == ICMP_ID and pseq == seq:
            return

# Before the first snapshot.
a = tcp(41001); echo_tcp(a, 1000)                      # open across both snapshots
b = tcp(41002); echo_tcp(b, 500)                       # ends in between
u1 = udp(41003); echo_udp(u1, [10])                    # nothing more: unchanged
u2 = udp(41004); echo_udp(u2, [20, 20])                # grows
u3 = udp(41005); echo_udp(u3, [100, 100, 100, 100])    # its tuple is reused
ping(1, 56); ping(2, 56)                               # ICMP, id 4660, grows
t1 = snapshot("snap1")

# In between.
echo_tcp(a, 3000)
b.close(); time.sleep(0.5)
node("conntrack", "-D", "-p", "tcp", "--orig-port-src", "41002")   # as if expired
echo_udp(u2, [30, 30, 30])
node("conntrack", "-D", "-p", "udp", "--orig-port-src", "41005")   # as if expired...
echo_udp(u3, [5])                                                  # ...and reused
u4 = udp(41006); echo_udp(u4, [7, 7])                  # starts after the first snapshot
ping(3, 56)
time.sleep(1)
t2 = snapshot("snap2")

json.dump({
    "snap1": t1, "snap2": t2,
    "note": "payload bytes; UDP datagram sizes are echoed back one for one; TCP "
            "payloads are echoed in full; ICMP echo payload sizes (id 4660)",
    "tcp_open": {"sport": 41001, "dport": 8444, "before": 1000, "between": 3000},
    "tcp_ended": {"sport": 41002, "dport": 8444, "before": 500, "between": "closed, then conntrack -D"},
    "udp_unchanged": {"sport": 41003, "dport": 5353, "before": [10], "between": []},
    "udp_grows": {"sport": 41004, "dport": 5353, "before": [20, 20], "between": [30, 30, 30]},
    "udp_reused": {"sport": 41005, "dport": 5353, "before": [100, 100, 100, 100],
                   "between": "conntrack -D, then [5]", "after_reuse": [5]},
    "udp_new": {"sport": 41006, "dport": 5353, "before": [], "between": [7, 7]},
    "icmp": {"id": ICMP_ID, "before": [56, 56], "between": [56]},
}, open(f"{out}/traffic.json", "w"), indent=2)
a.close()
PY
    echo "baseline fixtures written to $OUT" >&2
    exit 0
fi

# Event streams run while traffic flows.
N timeout 12 conntrack -E >"$OUT/events.txt" 2>&1 &
E1=$!
N timeout 12 conntrack -E -o timestamp >"$OUT/events-timestamp.txt" 2>&1 &
E2=$!
N timeout 12 conntrack -E -o timestamp,extended,id >"$OUT/events-timestamp-extended-id.txt" 2>&1 &
E3=$!
N timeout 12 conntrack -E -o ktimestamp,id >"$OUT/events-ktimestamp-id.txt" 2>&1 &
E4=$!
N timeout 12 conntrack -E -o xml >"$OUT/events-xml.txt" 2>&1 &
E5=$!
sleep 1

send_raw() { # ns proto hex-payload dst
    ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, int(sys.argv[1]))
s.sendto(bytes.fromhex(sys.argv[2]), (sys.argv[3], 0))
' "$2" "$3" "$4"
}

# 1. TCP via the ClusterIP (DNAT to kn-pod2), with a fixed source port.
P1 curl -s --local-port 40001 -o /dev/null http://10.96.0.10/
# 2. TCP to the external host (MASQUERADE), 1000 bytes back.
P1 python3 -c '
import socket
s = socket.socket(); s.bind(("10.244.1.11", 40002)); s.connect(("192.168.100.20", 8443))
s.sendall(b"hello"); d = b""
while True:
    b = s.recv(4096)
    if not b: break
    d += b
s.close()
'
# 3. ICMP: 3 echo requests of 100 bytes payload -> 3 packets, 3*(20+8+100)=384 bytes each way.
P1 ping -q -c 3 -s 100 -i 0.2 192.168.100.20 >/dev/null
# 4. UDP: one 5-byte datagram echoed -> 1 packet, 20+8+5=33 bytes each way.
P1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.244.1.11", 40004))
s.settimeout(2); s.sendto(b"hello", ("192.168.100.20", 5353)); s.recvfrom(100)
'
# 5. ICMPv6: 2 echo requests of 56 bytes -> 2 packets, 2*(40+8+56)=208 bytes each way.
P1 ping -6 -q -c 2 -s 56 -i 0.2 fd00:100::20 >/dev/null
# 6. UDP over IPv6, unanswered -> [UNREPLIED].
P1 python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("fd00:1::11", 40006))
s.sendto(b"hi", ("fd00:100::20", 9999))
'
# 7. UDP-Lite (zone 7), unanswered.
P1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, 2, 136); s.bind(("10.244.1.11", 40007))
s.sendto(b"lite", ("192.168.100.20", 9007))
'
# 8. SCTP INIT (raw: sport 40008, dport 9008, vtag 0, INIT chunk).
send_raw kn-pod1 132 9c4823300000000000000000010000140102030400010000000a000a00000001 192.168.100.20
# 9. GRE (version 0, IPv4 payload type), zone-orig 9.
send_raw kn-pod1 47 00000800450000140000000040000000 192.168.100.20
# 10. An IP protocol conntrack has no tracker for (253, experimental) -> "unknown".
send_raw kn-pod1 253 6b6e2d74657374 192.168.100.20
sleep 1

dump() { # file, conntrack args...
    local f=$1; shift
    N conntrack -L "$@" >"$OUT/$f" 2>&1
}
dump list-default.txt
dump list-extended.txt -o extended
dump list-id.txt -o id
dump list-ktimestamp.txt -o ktimestamp
dump list-timestamp.txt -o timestamp
dump list-labels.txt -o labels
dump list-extended-id.txt -o extended,id
dump list-ipv6.txt -f ipv6
dump list-xml.txt -o xml
N cat /proc/net/nf_conntrack >"$OUT/proc-nf_conntrack.txt"

# Userspace-triggered event: deleting the UDP flow shows up as
# "[DESTROY] ... [USERSPACE] portid=N progname=conntrack" in the event streams.
N conntrack -D -p udp --orig-port-dst 5353 >/dev/null 2>&1 || true

# Accounting off: new flows carry no packets=/bytes=.
N sysctl -qw net.netfilter.nf_conntrack_acct=0
P1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.244.1.11", 40011))
s.settimeout(2); s.sendto(b"hello", ("192.168.100.20", 5353)); s.recvfrom(100)
'
N conntrack -L -p udp --orig-port-src 40011 >"$OUT/list-noacct.txt" 2>&1

wait "$E1" "$E2" "$E3" "$E4" "$E5" || true
echo "fixtures written to $OUT" >&2
