// A small app with npm-installed dependencies, loaded at start.
const http = require("http");
const fs = require("fs");
const path = require("path");
const Mustache = require("mustache");
const debug = require("debug")("pare");
const ms = require("ms");

const template = fs.readFileSync(path.join(__dirname, "views", "index.mustache"), "utf8");
const port = Number(process.env.PORT || 8097);

http.createServer((req, res) => {
  debug("%s %s", req.method, req.url);
  if (req.url !== "/") {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found\n");
    return;
  }
  const body = Mustache.render(template, {
    app: "npm",
    modules: JSON.stringify(["mustache", "debug", "ms"]),
    ms: ms(90061000, { long: true }),
  });
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(body.trim() + "\n");
}).listen(port, "127.0.0.1", () => debug("listening on %d", port));
