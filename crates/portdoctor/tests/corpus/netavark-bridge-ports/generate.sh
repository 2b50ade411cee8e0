# Run as root inside a private network + mount namespace (unshare -n -m, tmpfs on /run): netavark,
# podman's network backend, sets up a container namespace on a bridge network with two published
# ports, from the network options podman would hand it (opts.json; bridge docker0, 10.88.0.0/24,
# the container at 10.88.0.2, -p 8080:80 and -p 15432:5432).
set -e
ip netns add ctr
mkdir -p cfg
/usr/lib/podman/netavark --config $PWD/cfg setup /run/netns/ctr < opts.json > setup-result.json
iptables-save > iptables.rules
