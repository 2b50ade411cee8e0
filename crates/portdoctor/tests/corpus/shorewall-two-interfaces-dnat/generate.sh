# Run as root inside a private network + mount namespace (unshare -n -m) whose eth0 carries
# 10.0.1.10/24, with /etc/shorewall and /var/lib/shorewall bind-mounted from scratch copies and
# tmpfs on /run and /var/log: the host's own firewall and /etc are not touched.
set -e
ip link add docker0 type bridge
ip addr add 10.88.0.1/24 dev docker0
ip link set docker0 up
E=/usr/share/doc/shorewall/examples/two-interfaces
cp $E/interfaces $E/policy $E/rules $E/zones $E/snat $E/stoppedrules $E/shorewall.conf /etc/shorewall/
sed -i 's/^STARTUP_ENABLED=No/STARTUP_ENABLED=Yes/' /etc/shorewall/shorewall.conf
sed -i 's/physical=eth1/physical=docker0/' /etc/shorewall/interfaces
cat >> /etc/shorewall/rules <<'RULES'
SSH(ACCEPT)	net:198.51.100.3	$FW
DNAT		net		loc:10.88.0.2:80	tcp	8080
DNAT		net		loc:10.88.0.2:81	tcp	8081
RULES
shorewall start
iptables-save > iptables.rules
