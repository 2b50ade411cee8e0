# Run as root inside a private network + mount namespace (unshare -n -m) whose eth0 carries
# 10.0.1.10/24 and 2001:db8:2::10/64, with /etc/shorewall, /etc/shorewall6, /var/lib/shorewall,
# /var/lib/shorewall6 bind-mounted from scratch copies and tmpfs on /run and /var/log: the host's
# own firewall and /etc are not touched.
set -e
for t in shorewall shorewall6; do
  cp /usr/share/doc/$t/examples/one-interface/interfaces /usr/share/doc/$t/examples/one-interface/policy \
     /usr/share/doc/$t/examples/one-interface/rules /usr/share/doc/$t/examples/one-interface/zones \
     /usr/share/doc/$t/examples/one-interface/$t.conf /etc/$t/
  sed -i 's/^STARTUP_ENABLED=No/STARTUP_ENABLED=Yes/' /etc/$t/$t.conf
done
cat >> /etc/shorewall/rules <<'RULES'
SSH(ACCEPT)	net		$FW
Web(ACCEPT)	net		$FW
ACCEPT		net:198.51.100.3	$FW	tcp	8443
REJECT		net		$FW	tcp	9001
RULES
cat >> /etc/shorewall6/rules <<'RULES'
SSH(ACCEPT)	net		$FW
Web(ACCEPT)	net		$FW
ACCEPT		net:<2001:db8:1::3>	$FW	tcp	8443
REJECT		net		$FW	tcp	9001
RULES
shorewall start
iptables-save > iptables.rules
shorewall6 start
ip6tables-save > ip6tables.rules
