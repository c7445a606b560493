#!/bin/sh
# Joins two pseudo-terminals with socat, for manual work with a serial Modbus peer:
#   hil/socat-pty-pair.sh [CLIENT_LINK] [DEVICE_LINK]
# creates two ptys linked at CLIENT_LINK (default /tmp/vigil-rtu-client) and DEVICE_LINK
# (default /tmp/vigil-rtu-device), raw and without echo, and relays bytes between them until
# Ctrl-C. Point a Modbus master (mbpoll, Vigil) at the client link and a slave at the device link.
#
# This is an unpaced relay without fault injection; the rig's own VirtualSerialLine (HIL target)
# adds pacing at the line's baud, corruption, drops, gaps and breaks.
set -eu
client=${1:-/tmp/vigil-rtu-client}
device=${2:-/tmp/vigil-rtu-device}
command -v socat >/dev/null 2>&1 || { echo "socat is not installed (apt-get install socat)" >&2; exit 1; }
echo "client side: $client"
echo "device side: $device"
echo "e.g.: mbpoll -m rtu -a 3 -b 19200 -P even -0 -r 0 -c 4 -t 4 -1 $client"
exec socat -d -d \
    "pty,raw,echo=0,link=$client" \
    "pty,raw,echo=0,link=$device"
