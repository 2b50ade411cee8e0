# Replays libvirt's expected firewall commands (tests/networkxml2firewalldata/base.nftables @
# 42ab0148dd11727f7e3fd31dce4485469af290d5, then nat-default-linux.nftables @
# a4f38f6ffe6a9edc001d18890ccfc3f38e72fb94; the 'list table' probes left out) in a fresh network
# namespace with a bridge virbr0, then records `nft list ruleset`.
set -e
ip link add virbr0 type bridge
for fam in ip ip6; do
  nft add table $fam libvirt_network
  nft add chain $fam libvirt_network forward '{ type filter hook forward priority 0; policy accept; }'
  for c in guest_output guest_input guest_cross; do
    nft add chain $fam libvirt_network $c
    nft insert rule $fam libvirt_network forward counter jump $c
  done
  nft add chain $fam libvirt_network guest_nat '{ type nat hook postrouting priority 100; policy accept; }'
  nft add chain $fam libvirt_network postroute_mangle '{ type filter hook postrouting priority 0; policy accept; }'
done
nft -ae insert rule ip libvirt_network guest_output iif virbr0 counter reject
nft -ae insert rule ip libvirt_network guest_input oif virbr0 counter reject
nft -ae insert rule ip libvirt_network guest_cross iif virbr0 oif virbr0 counter accept
nft -ae insert rule ip libvirt_network guest_output ip saddr 192.168.122.0/24 iif virbr0 counter accept
nft -ae insert rule ip libvirt_network guest_input oif virbr0 ip daddr 192.168.122.0/24 ct state related,established counter accept
nft -ae insert rule ip libvirt_network guest_nat ip saddr 192.168.122.0/24 ip daddr '!=' 192.168.122.0/24 counter masquerade
nft -ae insert rule ip libvirt_network guest_nat meta l4proto udp ip saddr 192.168.122.0/24 ip daddr '!=' 192.168.122.0/24 counter masquerade to :1024-65535
nft -ae insert rule ip libvirt_network guest_nat meta l4proto tcp ip saddr 192.168.122.0/24 ip daddr '!=' 192.168.122.0/24 counter masquerade to :1024-65535
nft -ae insert rule ip libvirt_network guest_nat ip saddr 192.168.122.0/24 ip daddr 255.255.255.255/32 counter return
nft -ae insert rule ip libvirt_network guest_nat ip saddr 192.168.122.0/24 ip daddr 224.0.0.0/24 counter return
nft list ruleset > ruleset.nft
