# The kernel oracle, run inside the client namespace: what does a real connect see?
#   client.py probe HOST PORT tcp|udp TIMEOUT   -> open | refused | timeout | error:ERRNO
#   client.py hold HOST PORT N                  -> opens N connections, prints "held", waits
import socket, sys, time

mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
if mode == "hold":
    held = []
    for _ in range(int(sys.argv[4])):
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.settimeout(2)
        c.connect((host, port))
        held.append(c)
    print("held", flush=True)
    time.sleep(3600)
proto, timeout = sys.argv[4], float(sys.argv[5])
s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
if len(sys.argv) > 6:
    s.bind((sys.argv[6], 0))
s.settimeout(timeout)
try:
    s.connect((host, port))
    if proto == "udp":
        s.send(b"ping")
        s.recv(100)
    else:
        # The handshake is not the whole story: the listener accepts and closes, so a working
        # connection reads end-of-file; one whose later packets are dropped hangs here.
        s.recv(1)
    print("open")
except (ConnectionRefusedError, ConnectionResetError):
    print("refused")
except (socket.timeout, TimeoutError):
    print("timeout")
except OSError as e:
    print("error:%d" % e.errno)
