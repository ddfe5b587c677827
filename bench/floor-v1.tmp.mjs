// The floor of any Node client of a Jupyter server: bench/classic-client.py's run in as little Node as
// it takes, with the kernel POST as the very first statement (before the notebook read, before `ws`
// loads), so the kernel starts as soon as a Node process can ask for one. No checks, no record, no
// output written: it is a yardstick, not a runner. Its time against the classic client's is the least
// the nbtrigger CLI (a Node process) can take against it (docs/benchmarks.md).
//
// Usage: JUPYTER_TOKEN=... node node-floor-client.mjs HOST:PORT /path/nb.ipynb
// Prints one JSON line: the last execute_result's text/plain and the kernel id.
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';

const [hostPort, nbPath] = process.argv.slice(2);
const at = hostPort.lastIndexOf(':');
const host = hostPort.slice(0, at);
const port = Number(hostPort.slice(at + 1));
const auth = `token ${process.env.JUPYTER_TOKEN}`;

/** One REST call: resolves to the parsed body; rejects on an unexpected status. */
function call(method, path, body, expect) {
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
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function v1(channel, parts) {
  const bufs = [Buffer.from(channel), ...parts.map((p) => Buffer.from(JSON.stringify(p)))];
  const n = bufs.length + 1; const head = Buffer.alloc(8 * (n + 1)); head.writeBigUInt64LE(BigInt(n), 0);
  let o = head.length; head.writeBigUInt64LE(BigInt(o), 8);
  bufs.forEach((b, i) => { o += b.length; head.writeBigUInt64LE(BigInt(o), 8 * (i + 2)); });
  return Buffer.concat([head, ...bufs]);
}
const started = call('POST', '/api/kernels', { name: 'python3' }, 201);
const read = call('GET', `/api/contents/${nbPath.replace(/^\/+/, '')}?type=notebook&content=1`, undefined, 200);
read.catch(() => {}); // awaited below, once the kernel it may outlive is in hand
const loading = import('ws');
const kernel = await started;
let last;
const results = new Map();
try {
  const [{ default: WebSocket }, model] = await Promise.all([loading, read]);
  const session = randomUUID();
  const ws = new WebSocket(`ws://${hostPort}/api/kernels/${kernel.id}/channels?session_id=${session}`, ['v1.kernel.websocket.jupyter.org'], {
    headers: { Authorization: auth },
  }, );
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const done = new Promise((resolve, reject) => {
    let replied = false;
    let idle = false;
    ws.on('message', (data) => {
      const n = Number(data.readBigUInt64LE(0));
      const off = []; for (let i = 0; i < n; i++) off.push(Number(data.readBigUInt64LE(8 * (i + 1))));
      const part = (i) => JSON.parse(data.toString('utf8', off[i], off[i + 1]));
      const msg = { header: part(1), parent_header: part(2), content: part(4) };
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
    ws.send(v1('shell', [{ msg_id: last, session, username: 'floor', msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() }, {}, {}, {
          code: Array.isArray(cell.source) ? cell.source.join('') : cell.source,
          silent: false,
          store_history: true,
          user_expressions: {},
          allow_stdin: false,
          stop_on_error: true,
        }]));
  }
  await done;
  ws.close();
} finally {
  await call('DELETE', `/api/kernels/${kernel.id}`, undefined, 204);
}
process.stdout.write(`${JSON.stringify({ last: results.get(last) ?? null, kernel: kernel.id })}\n`);
process.exit(0);
