#!/bin/sh
# First start: create the dynamic-security file with its administrator, whose password comes from the compose
# secret (never from the environment). Vigil creates every other client and role through the plugin's API.
set -eu
file=/mosquitto/data/dynamic-security.json
if [ ! -f "$file" ]; then
  mosquitto_ctrl dynsec init "$file" admin "$(cat /run/secrets/mosquitto_admin_password)"
  # Mosquitto runs as the user mosquitto and saves every change to this file.
  chown mosquitto:mosquitto "$file"
fi
exec /docker-entrypoint.sh "$@"
