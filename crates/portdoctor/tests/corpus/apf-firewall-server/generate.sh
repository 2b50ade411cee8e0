# Run as root inside a private network + mount namespace (unshare -n -m) whose eth0 carries
# 10.0.1.10/24, with /etc/apf-firewall and /etc/cron.d bind-mounted from scratch copies (APF links
# its refresh job into /etc/cron.d) and tmpfs on /run and /var/log: the host is not touched.
# SET_MONOKERN=1: this kernel has no loadable modules (APF would otherwise refuse to start);
# BLK_RESNET=0: APF's reserved-networks block list includes the documentation ranges the
# testbed's clients use, which would drop every flow.
set -e
C=/etc/apf-firewall/conf.apf
sed -i "s/^SET_MONOKERN=\"0\"/SET_MONOKERN=\"1\"/" $C
sed -i 's/^DEVEL_MODE="1"/DEVEL_MODE="0"/; s/^IG_TCP_CPORTS="22"/IG_TCP_CPORTS="22,80,443"/; s/^BLK_RESNET="1"/BLK_RESNET="0"/' $C
echo "tcp:in:d=8443:s=198.51.100.3" >> /etc/apf-firewall/allow_hosts.rules
echo "198.51.100.4" >> /etc/apf-firewall/deny_hosts.rules
apf -s
iptables-save > iptables.rules
