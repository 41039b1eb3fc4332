// WebSocket echo on node's `ws` with bufferutil (bench/wsd/run.sh): every text or binary
// message on PATH comes back as it was, with its type. bufferutil must load (ws falls back to
// JavaScript masking without telling); utf-8-validate is not needed on node >= 18.14, where
// ws uses buffer.isUtf8.
//
//   node ws_echo.js PORT [PATH=/ws]       (PORT 0: any free port)
// Prints "listening on 127.0.0.1:PORT". permessage-deflate off.
'use strict';
require('bufferutil'); // throws when the native module is missing
const { WebSocketServer } = require('ws');
if (process.env.WS_NO_BUFFER_UTIL) {
  console.error('ws_echo: WS_NO_BUFFER_UTIL is set; unset it');
  process.exit(1);
}
const port = Number(process.argv[2] || 0);
const route = process.argv[3] || '/ws';
const wss = new WebSocketServer({
  host: '127.0.0.1', port, path: route, perMessageDeflate: false, maxPayload: 16 << 20,
  backlog: 4096,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => { ws.send(data, { binary: isBinary }); });
  ws.on('error', (e) => { console.error(`ws_echo: ${e.message}`); });
});
wss.on('error', (e) => { console.error(`ws_echo: ${e.message}`); process.exit(1); });
wss.on('listening', () => {
  console.log(`ws_echo ws ${require('ws/package.json').version} bufferutil ` +
    require('bufferutil/package.json').version);
  console.log(`listening on 127.0.0.1:${wss.address().port}`);
});
