#!/usr/bin/env bash
# https.sh PORT PATH: GET https://127.0.0.1:PORT/PATH (the fixtures' own
# self-signed certificates: not verified) and print the body.
set -euo pipefail
exec curl -sS -k --fail --max-time 10 "https://127.0.0.1:$1$2"
