# The ruby fixture: a WEBrick server on 127.0.0.1:$PORT (default 8083).
require 'bigdecimal'
require 'json'
require 'openssl'
require 'webrick'
require 'zlib'

port = Integer(ENV.fetch('PORT', '8083'))
server = WEBrick::HTTPServer.new(BindAddress: '127.0.0.1', Port: port, AccessLog: [])
server.mount_proc '/' do |_req, res|
  body = {
    app: 'ruby',
    sha256: OpenSSL::Digest::SHA256.hexdigest('pare'),
    crc32: Zlib.crc32('pare'),
    deflated: Zlib::Deflate.deflate('pare' * 100).bytesize < 400,
    bigdecimal: (BigDecimal('1') / 3).round(10).to_s('F')
  }
  res['Content-Type'] = 'application/json'
  res.body = JSON.generate(body) + "\n"
end
trap('TERM') { server.shutdown }
trap('INT') { server.shutdown }
server.start
