"""The load-balancer testbed's moving parts, one mode per process.

  target NAME PORT            an HTTP service that answers "200 NAME" (the targets)
  balancer SRC PORT HEALTH T… a TCP proxy on 0.0.0.0:PORT, as an ALB node: every connection is
                              completed here, then forwarded from SRC to a healthy target (all of
                              them when none is healthy: AWS fails open); a target that does not
                              answer in 0.4 s earns the client "504". A health checker connects
                              from SRC to each target every 200 ms (1 s timeout) and writes what
                              it saw to HEALTH (JSON: address → [state, reason]).
  fetch ADDR PORT             one HTTP request; prints the status line, or timeout/refused/closed
"""
import json, os, socket, sys, threading, time


def target(name, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.listen(64)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, name), daemon=True).start()


def serve(c, name):
    try:
        c.settimeout(2)
        if c.recv(4096):
            c.sendall(f"HTTP/1.0 200 OK\r\n\r\n{name}".encode())
    except OSError:
        pass
    c.close()


def dial(src, addr, timeout):
    """'healthy', or AWS's reason the connection failed."""
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.bind((src, 0))
        s.connect(addr)
        return s, "healthy"
    except socket.timeout:
        s.close()
        return None, "Target.Timeout"
    except OSError:
        s.close()
        return None, "Target.FailedHealthChecks"


def balancer(src, port, health, targets):
    targets = [(t.rsplit(":", 1)[0], int(t.rsplit(":", 1)[1])) for t in targets]
    seen = {}

    def check():
        while True:
            for t in targets:
                s, word = dial(src, t, 1.0)
                if s:
                    s.close()
                seen[t[0]] = word
            tmp = health + ".tmp"
            with open(tmp, "w") as f:
                json.dump(seen, f)
            os.replace(tmp, health)
            time.sleep(0.2)

    threading.Thread(target=check, daemon=True).start()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(64)
    print("ready", flush=True)
    turn = 0
    while True:
        c, _ = ls.accept()
        healthy = [t for t in targets if seen.get(t[0]) == "healthy"] or targets
        turn += 1
        order = healthy[turn % len(healthy):] + healthy[:turn % len(healthy)]
        threading.Thread(target=forward, args=(c, src, order), daemon=True).start()


def forward(c, src, order):
    # 0.4 s a target: with both tried, the client still hears the 504 within its 2 s.
    for t in order:
        s, _ = dial(src, t, 0.4)
        if s:
            break
    else:
        try:
            c.recv(4096)
            c.sendall(b"HTTP/1.0 504 Gateway Timeout\r\n\r\n")
        except OSError:
            pass
        c.close()
        return
    s.settimeout(2)
    c.settimeout(2)
    try:
        s.sendall(c.recv(4096))
        while True:
            b = s.recv(4096)
            if not b:
                break
            c.sendall(b)
    except OSError:
        pass
    s.close()
    c.close()


def fetch(addr, port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((addr, int(port)))
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except socket.timeout:
        print("timeout")
        return
    except ConnectionRefusedError:
        print("refused")
        return
    except OSError as e:
        print(f"error {e.strerror}")
        return
    print(data.decode(errors="replace").replace("\r\n\r\n", " ").strip() or "closed")


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "target":
        target(*args)
    elif mode == "balancer":
        balancer(args[0], args[1], args[2], args[3:])
    else:
        fetch(*args)
