# Run as root inside a private network + mount namespace (unshare -n -m) whose eth0 carries
# 10.0.1.10/24, with tmpfs on /run and /var/log: a second dockerd, private to that namespace (its
# own data-root, exec-root, socket and managed containerd; /etc/docker bind-mounted from an empty
# directory so the host's daemon.json and key.json are neither read nor written). The image is an
# empty rootfs from docker import; the container runs the host's python3 through read-only bind
# mounts. The host's own docker daemon and firewall are not touched.
set -e
W=$PWD
mount --bind $W/etc-docker /etc/docker
mkdir -p rootfs/etc && echo corpus > rootfs/etc/hostname && tar -C rootfs -cf rootfs.tar .
dockerd --data-root $W/data --exec-root $W/exec --pidfile $W/docker.pid -H unix://$W/docker.sock \
  --bip 10.88.0.1/24 --storage-driver vfs > dockerd.log 2>&1 &
D="docker -H unix://$W/docker.sock"
for i in $(seq 1 30); do $D version >/dev/null 2>&1 && break; sleep 1; done
$D import rootfs.tar corpus-empty
$D run -d --name web -p 8080:80 -p 127.0.0.1:8081:81 -v /usr:/usr:ro -v /lib:/lib:ro -v /lib64:/lib64:ro -v /bin:/bin:ro \
  corpus-empty /usr/bin/python3 -m http.server 80 > cid
sleep 2
$D ps
iptables-save > iptables.rules
$D version --format '{{.Server.Version}}' > version.txt
$D rm -f web
kill $(cat docker.pid); sleep 3
