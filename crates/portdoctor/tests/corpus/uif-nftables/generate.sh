# Run as root inside a private network + mount namespace (unshare -n -m) whose eth0 carries
# 10.0.1.10/24 and 2001:db8:2::10/64: uif loads its rules with nft, into that namespace only.
# uif.conf / uif6.conf are the package's /etc/uif/uif.conf and uif6.conf with their last include
# ("/etc/uif/uif.conf.d/*") pointed at corpus.conf / corpus6.conf (in this directory).
set -e
sed -e "s|\"/etc/uif/uif.conf.d/\*\"|\"$PWD/corpus.conf\"|" /etc/uif/uif.conf > uif.conf
sed -e "s|\"/etc/uif/uif.conf.d/\*\"|\"$PWD/corpus6.conf\"|" /etc/uif/uif6.conf > uif6.conf
uif -c uif.conf
uif -6 -c uif6.conf
nft list ruleset > ruleset.nft
