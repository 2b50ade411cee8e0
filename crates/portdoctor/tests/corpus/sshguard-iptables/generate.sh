# Run as root inside a private network namespace (unshare -n): the chains sshguard-setup(7) has
# the administrator create (its "SSH, FTP, POP, IMAP services" variant), then sshguard's iptables
# backend fed the two block commands sshguard sends for an IPv4 and an IPv6 attacker.
set -e
iptables -N sshguard
ip6tables -N sshguard
iptables  -A INPUT -m multiport -p tcp --destination-ports 21,22,110,143 -j sshguard
ip6tables -A INPUT -m multiport -p tcp --destination-ports 21,22,110,143 -j sshguard
(printf 'block 198.51.100.3 4 32\nblock 2001:db8:1::3 6 128\n'; sleep 2) | /usr/libexec/sshguard/sshg-fw-iptables &
sleep 1
iptables-save > iptables.rules
ip6tables-save > ip6tables.rules
wait
