#!/bin/bash
# The InfluxDB 1.x image creates its first users from INFLUXDB_ADMIN_PASSWORD and INFLUXDB_USER_PASSWORD, which
# it reads from the environment only. Read them from the compose secrets instead, so that the passwords are in
# neither docker-compose.yml nor `docker inspect`, then hand over to the image's own entrypoint.
set -euo pipefail
INFLUXDB_ADMIN_PASSWORD="$(< /run/secrets/influxdb_admin_password)"
INFLUXDB_USER_PASSWORD="$(< /run/secrets/vigil_influx_password)"
export INFLUXDB_ADMIN_PASSWORD INFLUXDB_USER_PASSWORD
exec /entrypoint.sh "$@"
