# Run as root inside a private network + mount namespace (unshare -n -m) whose eth0 carries
# 10.0.1.10/24 and 2001:db8:2::10/64, with tmpfs on /run, /var/log and /var/spool (FireHOL saves
# its last good firewall under /var/spool/firehol): the host's own firewall and files are not touched.
set -e
echo START_FIREHOL=YES > default-firehol
mount --bind default-firehol /etc/default/firehol
firehol $PWD/firehol.conf start
# Debian's FireHOL is built for iptables-legacy (/usr/lib/firehol/install.config).
iptables-legacy-save > iptables.rules
ip6tables-legacy-save > ip6tables.rules
