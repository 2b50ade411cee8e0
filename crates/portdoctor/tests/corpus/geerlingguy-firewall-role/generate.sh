# firewall.bash is the role's templates/firewall.bash.j2 rendered with vars.yml the way Ansible's
# template module renders (jinja2, trim_blocks), i.e. the /etc/firewall.bash the role installs.
# Run as root inside a private network namespace (unshare -n) whose eth0 carries 10.0.1.10/24
# and 2001:db8:2::10/64 (the script's rp_filter writes land in that namespace's /proc/sys):
set -e
bash firewall.bash
iptables-save > iptables.rules
ip6tables-save > ip6tables.rules
