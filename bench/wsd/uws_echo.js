// WebSocket echo on µWebSockets (bench/wsd/run.sh): every text or binary message on PATH comes
// back as it was, with its type. Needs the native µWebSockets binary of
// @trufflesuite/uws-js-unofficial (node 20: ABI 115); the package's silent fallback to a
// JavaScript implementation is refused, so the figures are always µWebSockets'.
//
//   node uws_echo.js PORT [PATH=/ws]      (PORT 0: any free port)
// Prints "listening on 127.0.0.1:PORT". Compression off, no automatic pings, no idle timeout.
'use strict';
const path = require('path');
const port = Number(process.argv[2] || 0);
const route = process.argv[3] || '/ws';
const dir = path.dirname(require.resolve('@trufflesuite/uws-js-unofficial/package.json'));
const bin = path.join(dir, 'binaries',
  `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
const uWS = require(bin); // throws when there is no native binary for this node
uWS.App().ws(route, {
  compression: uWS.DISABLED,
  maxPayloadLength: 16 << 20,
  maxBackpressure: 16 << 20,
  idleTimeout: 0,
  sendPingsAutomatically: false,
  message: (ws, message, isBinary) => { ws.send(message, isBinary); },
}).listen('127.0.0.1', port, (token) => {
  if (!token) {
    console.error(`uws_echo: cannot listen on 127.0.0.1:${port}`);
    process.exit(1);
  }
  console.log(`uws_echo ${bin}`);
  console.log(`listening on 127.0.0.1:${uWS.us_socket_local_port(token)}`);
});
