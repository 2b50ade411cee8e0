# Run as root inside a private network + mount namespace (unshare -n -m) whose eth0 carries
# 10.0.1.10/24 and 2001:db8:2::10/64, with /etc/arno-iptables-firewall bind-mounted from a scratch
# copy and tmpfs on /run and /var/log: the host is not touched. conf.d/00debconf.conf is the file
# the package's debconf writes, answered for eth0 with ports 22 and 80 open.
set -e
cat > /etc/arno-iptables-firewall/conf.d/00debconf.conf <<'CONF'
EXT_IF="eth0"
EXT_IF_DHCP_IP=0
OPEN_TCP="22 80"
OPEN_UDP=""
INT_IF=""
NAT=0
INTERNAL_NET=""
NAT_INTERNAL_NET=""
OPEN_ICMP=0
CONF
cat > /etc/arno-iptables-firewall/conf.d/50corpus.conf <<'CONF'
IPV6_SUPPORT=1
HOST_OPEN_TCP="198.51.100.3~8443 2001:db8:1::3~8443"
HOST_REJECT_TCP="0/0~113"
BLOCK_HOSTS="198.51.100.4"
CONF
arno-iptables-firewall start
iptables-save > iptables.rules
ip6tables-save > ip6tables.rules
