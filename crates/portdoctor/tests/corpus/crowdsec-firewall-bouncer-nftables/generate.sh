# Run as root inside a private network + mount namespace (unshare -n -m, tmpfs on /run and
# /var/log): the bouncer, configured from the package's /etc/crowdsec/bouncers/crowdsec-firewall-bouncer.yaml
# (bouncer-nftables.yaml: mode nftables, the API key filled in, not daemonized, logs to stdout, prometheus off),
# polls lapi.py, a stand-in for CrowdSec's local API that answers the startup decisions stream with
# one IPv4 and one IPv6 ban; the ruleset is saved while the bouncer runs (it removes its rules on exit).
set -e
python3 lapi.py > lapi.log 2>&1 & L=$!
sleep 1.5
crowdsec-firewall-bouncer -c bouncer-nftables.yaml > bouncer-nftables.log 2>&1 & B=$!
sleep 4
nft list ruleset > ruleset.nft
kill $B; sleep 1; kill $L
