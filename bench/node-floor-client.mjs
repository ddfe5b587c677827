// The floor of any Node client of a Jupyter server: bench/classic-client.py's run in as little Node as
// it takes, with the kernel POST as the very first statement (before the notebook read, before `ws`
// loads), so the kernel starts as soon as a Node process can ask for one. No checks, no record, no
// output written: it is a yardstick, not a runner. Its time against the classic client's is the least
// the nbtrigger CLI (a Node process) can take against it (docs/benchmarks.md).
// Everything is loaded with `require`, the cheapest way: an ESM import of node:http reads its lazy
// WebSocket getters on Node 22 (Node's own undici, ≈50 ms), and one of `ws` lexes each of its files.
//
// Usage: JUPYTER_TOKEN=... node node-floor-client.mjs HOST:PORT /path/nb.ipynb
// Prints one JSON line: the last execute_result's text/plain and the kernel id.
import module from 'node:module';

const require = module.createRequire(import.meta.url);
const { request } = require('node:http');
const { randomUUID } = require('node:crypto');

const [hostPort, nbPath] = process.argv.slice(2);
const at = hostPort.lastIndexOf(':');
const host = hostPort.slice(0, at);
const port = Number(hostPort.slice(at + 1));
const auth = `token ${process.env.JUPYTER_TOKEN}`;

/**
 * One REST call: resolves to the parsed body; rejects on an unexpected status. `onSent` is told once
 * the request has left for the socket (or failed).
 */
function call(method, path, body, expect, onSent = () => {}) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, method, path, headers: { Authorization: auth, 'Content-Type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => {
          if (res.statusCode === expect) resolve(text ? JSON.parse(text) : undefined);
          else reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`));
        });
      },
    );
    req.on('socket', (socket) => {
      if (socket.connecting) socket.once('connect', () => setImmediate(onSent));
      else setImmediate(onSent);
    });
    req.on('error', (e) => {
      onSent();
      reject(e);
    });
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

let sent;
const leaving = new Promise((resolve) => {
  sent = resolve;
});
const started = call('POST', '/api/kernels', { name: 'python3' }, 201, () => sent());
const read = call('GET', `/api/contents/${nbPath.replace(/^\/+/, '')}?type=notebook&content=1`, undefined, 200);
read.catch(() => {}); // awaited below, once the kernel it may outlive is in hand
// The synchronous load waits until the POST has left: it would hold the request back in Node's hands.
await leaving;
const WebSocket = require('ws');
const kernel = await started;
let last;
const results = new Map();
try {
  const model = await read;
  const session = randomUUID();
  const ws = new WebSocket(`ws://${hostPort}/api/kernels/${kernel.id}/channels?session_id=${session}`, {
    headers: { Authorization: auth },
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const done = new Promise((resolve, reject) => {
    let replied = false;
    let idle = false;
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      const parent = msg.parent_header?.msg_id;
      const kind = msg.header.msg_type;
      if (kind === 'execute_result') results.set(parent, msg.content.data['text/plain']);
      else if (kind === 'execute_reply' && parent === last) {
        if (msg.content.status !== 'ok') reject(new Error(`cell failed: ${msg.content.ename}`));
        replied = true;
      } else if (kind === 'status' && parent === last && msg.content.execution_state === 'idle') idle = true;
      if (replied && idle) resolve();
    });
  });
  for (const cell of model.content.cells) {
    if (cell.cell_type !== 'code') continue;
    last = randomUUID();
    ws.send(
      JSON.stringify({
        header: { msg_id: last, session, username: 'floor', msg_type: 'execute_request', version: '5.3' },
        parent_header: {},
        metadata: {},
        channel: 'shell',
        buffers: [],
        content: {
          code: Array.isArray(cell.source) ? cell.source.join('') : cell.source,
          silent: false,
          store_history: true,
          user_expressions: {},
          allow_stdin: false,
          stop_on_error: true,
        },
      }),
    );
  }
  await done;
  ws.close();
} finally {
  await call('DELETE', `/api/kernels/${kernel.id}`, undefined, 204);
}
process.stdout.write(`${JSON.stringify({ last: results.get(last) ?? null, kernel: kernel.id })}\n`);
process.exit(0);
