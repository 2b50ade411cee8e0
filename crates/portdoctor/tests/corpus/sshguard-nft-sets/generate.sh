# Run as root inside a private network namespace (unshare -n): sshguard's own firewall backend,
# fed the two block commands sshguard sends it for an IPv4 and an IPv6 attacker; the ruleset is
# listed while the backend still runs (it removes its tables when its input closes).
set -e
(printf 'block 198.51.100.3 4 32\nblock 2001:db8:1::3 6 128\n'; sleep 2) | /usr/libexec/sshguard/sshg-fw-nft-sets &
sleep 1
nft list ruleset > ruleset.nft
wait
