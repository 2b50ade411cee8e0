# A real listener for the testbed, run inside the instance namespace. Prints "ready" once bound.
import argparse, socket, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--proto", default="tcp")
ap.add_argument("--bind", required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--v6only", type=int)
ap.add_argument("--device")
ap.add_argument("--backlog", type=int, default=128)
ap.add_argument("--no-accept", action="store_true")
ap.add_argument("--name", help="process name to show in /proc/PID/comm (prctl PR_SET_NAME)")
a = ap.parse_args()
if a.name:
    import ctypes
    ctypes.CDLL(None).prctl(15, a.name.encode(), 0, 0, 0)

fam = socket.AF_INET6 if ":" in a.bind else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM if a.proto == "tcp" else socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if a.v6only is not None:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, a.v6only)
if a.device:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.device.encode())
s.bind((a.bind, a.port))
if a.proto == "tcp":
    s.listen(a.backlog)
print("ready", flush=True)
if a.proto == "udp":
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)
elif a.no_accept:
    while True:
        time.sleep(60)
else:
    while True:
        c, _ = s.accept()
        c.close()
