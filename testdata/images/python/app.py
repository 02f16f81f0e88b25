"""The python fixture: a Flask app on 127.0.0.1:$PORT (default 8082)."""
import decimal
import hashlib
import json
import os
import sqlite3

from flask import Flask, Response

app = Flask(__name__)


@app.route("/")
def index():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (n INTEGER)")
    db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1, 11)])
    (total,) = db.execute("SELECT sum(n) FROM t").fetchone()
    ctx = decimal.Context(prec=10)
    third = ctx.divide(decimal.Decimal(1), decimal.Decimal(3))
    body = {
        "app": "python",
        "sha256": hashlib.sha256(b"pare").hexdigest(),
        "sqlite_sum": total,
        "decimal": str(third),
    }
    return Response(json.dumps(body, sort_keys=True) + "\n", mimetype="application/json")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8082")))
