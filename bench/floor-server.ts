// The read-path bench's noise floor: a Node HTTP server that does no work. GET /bytes/<n> answers
// n bytes of JSON from memory, so the same load generator measures, on the same two cores, what
// one loopback round trip between two Node processes costs before any API, database or
// serialization work. Ours minus this floor is what our code can still win.
//
//   node --import tsx bench/floor-server.ts <port>      prints "floor server listening" when ready
import http from 'node:http';

const port = Number(process.argv[2]);
const bodies = new Map<number, Buffer>();

function bodyOf(bytes: number): Buffer {
  let body = bodies.get(bytes);
  if (!body) {
    const padding = Math.max(0, bytes - '{"padding":""}'.length);
    body = Buffer.from(JSON.stringify({ padding: 'x'.repeat(padding) }));
    bodies.set(bytes, body);
  }
  return body;
}

http
  .createServer((request, response) => {
    const match = /^\/bytes\/(\d{1,7})$/.exec(request.url ?? '');
    if (!match) {
      response.writeHead(404).end();
      return;
    }
    const body = bodyOf(Number(match[1]));
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    response.end(body);
  })
  .listen(port, '127.0.0.1', () => console.log('floor server listening'));
