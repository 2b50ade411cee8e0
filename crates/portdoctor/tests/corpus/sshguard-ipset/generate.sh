# Run as root inside a private network namespace (unshare -n): sshguard's ipset backend, fed the
# two block commands sshguard sends for an IPv4 and an IPv6 attacker, and the iptables rules
# sshguard-setup(7) gives for the ipset backend; saved while the backend still runs.
set -e
(printf 'block 198.51.100.3 4 32\nblock 2001:db8:1::3 6 128\n'; sleep 2) | /usr/libexec/sshguard/sshg-fw-ipset &
sleep 1
iptables  -I INPUT -m set --match-set sshguard4 src -j DROP
ip6tables -I INPUT -m set --match-set sshguard6 src -j DROP
ipset save > ipset.rules
iptables-save > iptables.rules
ip6tables-save > ip6tables.rules
wait
