#!/usr/bin/env bash
# Installs the Python tools tests/openapi_client.rs generates a client with, into a virtualenv:
# openapi-spec-validator (is docs/openapi.json a valid OpenAPI 3.1 document?) and
# datamodel-code-generator (the pydantic models a Python client is built from) and
# email-validator (the models check `format: email` fields).
# Usage: scripts/install-openapi-client.sh DIR  (CI: target/openapi-client). Idempotent.
set -euo pipefail
dir="${1:?usage: $0 DIR}"
pins=(openapi-spec-validator==0.9.0 datamodel-code-generator==0.97.0 email-validator==2.4.0)
stamp="$dir/.installed"
if [[ -f "$stamp" && "$(cat "$stamp")" == "${pins[*]}" ]]; then
  exit 0
fi
python3 -m venv "$dir"
"$dir/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
echo "${pins[*]}" > "$stamp"
