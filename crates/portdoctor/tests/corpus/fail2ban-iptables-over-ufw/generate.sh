set -e
iptables-restore < /work/wt/corpus/crates/portdoctor/tests/corpus/ufw-mixed/iptables.rules
ip6tables-restore < /work/wt/corpus/crates/portdoctor/tests/corpus/ufw-mixed/ip6tables.rules
# fail2ban action.d/iptables.conf, type=multiport, name=sshd, port="ssh,2222", protocol=tcp, chain=INPUT
for ipt in "iptables -w" "ip6tables -w"; do
  if [ "$ipt" = "iptables -w" ]; then bt="REJECT --reject-with icmp-port-unreachable"; ip=198.51.100.3; else bt="REJECT --reject-with icmp6-port-unreachable"; ip=2001:db8:1::3; fi
  { $ipt -C f2b-sshd -j RETURN >/dev/null 2>&1; } || { $ipt -N f2b-sshd || true; $ipt -A f2b-sshd -j RETURN; }
  for chain in $(echo 'INPUT' | sed 's/,/ /g'); do for proto in $(echo 'tcp' | sed 's/,/ /g'); do
  { $ipt -C $chain -p $proto -m multiport --dports ssh,2222 -j f2b-sshd >/dev/null 2>&1; } || { $ipt -I $chain -p $proto -m multiport --dports ssh,2222 -j f2b-sshd; }
  done; done
  $ipt -I f2b-sshd 1 -s $ip -j $bt
done
iptables-save > iptables.rules; ip6tables-save > ip6tables.rules
