// The benchmark's upstream: a bare node:http server answering a fixed 32-byte JSON body, the
// same body the peers harness (../shared/bench/peers) uses, so numbers compare across rigs.
import { createServer } from 'node:http';

const body = Buffer.from('{"ok":true,"service":"upstream"}');
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
