set -e
# fail2ban action.d/nftables.conf, type=multiport, name=sshd, port="ssh,8080", protocol=tcp, table inet f2b-table
for fam in inet inet6; do
  if [ $fam = inet ]; then af=ip; at=ipv4_addr; set=addr-set-sshd; ip=198.51.100.3; else af=ip6; at=ipv6_addr; set=addr6-set-sshd; ip=2001:db8:1::3; fi
  nft add table inet f2b-table
  nft -- add chain inet f2b-table f2b-chain \{ type filter hook input priority -1 \; \}
  nft add set inet f2b-table $set \{ type $at\; flags interval\; \}
  for proto in $(echo 'tcp' | sed 's/,/ /g'); do
  nft add rule inet f2b-table f2b-chain $proto dport \{ $(echo 'ssh,8080' | sed s/:/-/g) \} $af saddr @$set reject
  done
  nft add element inet f2b-table $set \{ $ip \}
done
nft list ruleset > ruleset.nft
