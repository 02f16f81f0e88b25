"""A bottle app in a virtualenv, reading a data file relative to its working directory."""
import hashlib
import json
import os
import sys

import bottle


@bottle.route("/")
def index():
    counts = {}
    with open(os.path.join("data", "counts.txt"), encoding="utf-8") as f:
        for line in f:
            name, n = line.split()
            counts[name] = int(n)
    bottle.response.content_type = "application/json"
    return json.dumps({
        "app": "venv",
        "bottle": bottle.__version__,
        "venv": sys.prefix != sys.base_prefix,
        "total": sum(counts.values()),
        "sha256": hashlib.sha256(b"pare").hexdigest(),
    }, sort_keys=True) + "\n"


bottle.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8096")), server="wsgiref", quiet=True)
