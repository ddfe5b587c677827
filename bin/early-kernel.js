// The kernel of `nbtrigger run --server` asked for before the CLI loads. A run spends most of its
// start waiting for its kernel; Node takes about a tenth of a second to load the CLI, so the kernel
// POST goes out first, with nothing but node:http, and the CLI's load overlaps the kernel's start.
// The run takes this kernel when it is the one its own early start would ask for (same server,
// kernelspec and folder: functions/run/plan-step.ts); otherwise it is deleted, and the bin deletes
// one nobody took once the command is done. A kernel asked for here is never left running.
//
// Only for the plainest case, where nothing the runner checks can differ: a loopback server written
// as 127.0.0.1 or [::1] (no name to resolve, no TLS, no ID token), plain http, a token (--token or
// JUPYTER_TOKEN), and a notebook given as its path on the server, in plain characters (no `.` or
// `..` segment: each part starts with a letter, a digit or `_`).
// Anything else: no early kernel, and the run starts its own as usual.
//
// Spec: docs/running.md (the kernel asked for first);
// https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html
import module from 'node:module';

// node:http through `require`, not `import`: an ESM import of a builtin reads every export, and on
// Node 22 node:http's lazy WebSocket getters load Node's own undici then, ≈50 ms before the POST
// could leave (docs/benchmarks.md).
const { request } = module.createRequire(import.meta.url)('node:http');

/** `run` options that take a value (cli/commands/run-command.ts), and the one that takes two. */
const VALUED = new Set([
  '--server',
  '--token',
  '--kernel',
  '--timeout',
  '--cell-timeout',
  '--start-timeout',
  '--max-output',
  '--parameters-file',
  '--output',
  '--output-root',
]);
const PAIRED = new Set(['-p', '--parameter']);
const LOOPBACK = /^(127\.0\.0\.1|\[::1\]):(\d{1,5})$/;
const SERVER_PATH = /^\/(?:[A-Za-z0-9_][A-Za-z0-9._ -]*\/)*[A-Za-z0-9_][A-Za-z0-9._ -]*\.ipynb$/;
/** How long the POST and the DELETE may take; the body read is bounded too. */
const TIMEOUT_MS = 10_000;
const MAX_BODY = 64 * 1024;

/** What `argv` (after `run`) says, as far as the early kernel needs it; undefined when it should not start one. */
export function earlyKernelArgs(argv, env) {
  let server;
  let token;
  let kernel;
  const positionals = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const key = eq > 0 ? a.slice(0, eq) : a;
    if (PAIRED.has(key)) {
      i += 2;
    } else if (VALUED.has(key)) {
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (key === '--server') server = value;
      else if (key === '--token') token = value;
      else if (key === '--kernel') kernel = value;
    } else if (key === '--use-https' || key === '--help' || key === '-h') {
      return undefined;
    } else if (!a.startsWith('-')) positionals.push(a);
  }
  token ??= env.JUPYTER_TOKEN;
  const where = LOOPBACK.exec(server ?? '');
  const notebook = positionals[0];
  if (!where || !token || positionals.length !== 1 || !SERVER_PATH.test(notebook)) return undefined;
  const port = Number(where[2]);
  if (port < 1 || port > 65535) return undefined;
  const host = where[1];
  // The folder the runner starts its kernel in: the notebook's, relative to the server root ('' for the root).
  const path = notebook.slice(1, Math.max(notebook.lastIndexOf('/'), 1));
  return { host: host === '[::1]' ? '::1' : host, port, origin: `http://${host}:${port}`, token, name: kernel, path };
}

/**
 * One call to the server: resolves to [status, body text]; rejects on a network error or the timeout.
 * `onSent` is told once the request has left for the socket (or failed).
 */
function call(a, method, path, body, onSent = () => {}) {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: `token ${a.token}`, 'User-Agent': 'nbtrigger-early-kernel' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const req = request({ host: a.host, port: a.port, method, path, headers, timeout: TIMEOUT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
        if (text.length > MAX_BODY) req.destroy(new Error('answer too large'));
      });
      res.on('end', () => resolve([res.statusCode, text]));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    // Sent once connected: the request waits in the socket until then, and the CLI's load, which
    // blocks the event loop, would hold the connection back with it.
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

/**
 * Asks for the kernel now when `argv` (after `run`) allows it (see the top of this file); answers
 * the PreStartedKernel the runner takes (functions/run/early-kernel.ts), or undefined.
 */
export function preStartKernel(argv, env) {
  const a = earlyKernelArgs(argv, env);
  if (!a) return undefined;
  const body = { ...(a.name === undefined ? {} : { name: a.name }), path: a.path };
  let sent;
  // Bounded: a server slow to accept costs the CLI at most this much of a wait before it loads.
  const leaving = new Promise((resolve) => {
    sent = resolve;
    setTimeout(resolve, 50).unref();
  });
  const started = call(a, 'POST', '/api/kernels', body, () => sent()).then(
    ([status, text]) => {
      if (status !== 201) return undefined;
      try {
        const k = JSON.parse(text);
        return typeof k?.id === 'string' && k.id !== '' && typeof k.name === 'string'
          ? { id: k.id, name: k.name }
          : undefined;
      } catch {
        return undefined;
      }
    },
    () => undefined,
  );
  let owner; // 'runner' once taken, 'bin' once being deleted here
  let gone;
  return {
    /**
     * Resolves once the POST has left (or failed): the CLI's load blocks the event loop for a while,
     * and a request still in Node's hands would wait for it.
     */
    leaving,
    origin: a.origin,
    name: a.name,
    path: a.path,
    take() {
      if (owner !== undefined) return Promise.resolve(undefined);
      owner = 'runner';
      return started;
    },
    discard() {
      if (owner === 'runner') return Promise.resolve();
      owner = 'bin';
      gone ??= started.then(async (k) => {
        if (!k) return;
        const [status] = await call(a, 'DELETE', `/api/kernels/${encodeURIComponent(k.id)}`).catch(() => [0]);
        if (status !== 204 && status !== 404)
          process.stderr.write(
            `nbtrigger: could not delete kernel ${k.id} on ${a.origin} (${status || 'no answer'})\n`,
          );
      });
      return gone;
    },
  };
}
