# The same steps as ../firehol-server/generate.sh, run in this directory (its firehol.conf).
. ../firehol-server/generate.sh
