// The node fixture: an http server on 127.0.0.1:$PORT (default 8084).
'use strict';
const crypto = require('crypto');
const http = require('http');
const zlib = require('zlib');

const port = Number(process.env.PORT || 8084);
const server = http.createServer((req, res) => {
  const body = JSON.stringify({
    app: 'node',
    sha256: crypto.createHash('sha256').update('pare').digest('hex'),
    gzipRoundTrip: zlib.gunzipSync(zlib.gzipSync('pare')).toString(),
  }) + '\n';
  if (/\bgzip\b/.test(req.headers['accept-encoding'] || '')) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    res.end(zlib.gzipSync(body));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(body);
});
server.listen(port, '127.0.0.1', () => console.log(`node listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
