/**
 * Test helper: a bare Jupyter REST + kernel WebSocket client (none of nbtrigger's own code), to
 * start kernels, run one expression in one and read its result, and to find a server's kernel
 * processes in /proc (a pooled kernel is a child process of the server that no REST listing shows).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import WebSocket from 'ws';
import { findPython } from '../../cli/local/jupyter-server.js';

export interface RestServer {
  port: number;
  token: string;
}

/** A JSON REST call; throws unless the status is `expect`. */
export async function rest(
  s: RestServer,
  method: string,
  path: string,
  body?: unknown,
  expect = 200,
): Promise<unknown> {
  const res = await request(`http://127.0.0.1:${s.port}${path}`, {
    method: method as 'GET',
    headers: { authorization: `token ${s.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode !== expect) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/** `POST /api/kernels`; returns the kernel id. */
export async function startKernel(s: RestServer, name: string, path?: string): Promise<string> {
  const k = (await rest(s, 'POST', '/api/kernels', { name, ...(path === undefined ? {} : { path }) }, 201)) as {
    id: string;
  };
  return k.id;
}

/** Runs `code` in the kernel; resolves with the text/plain of its result (throws on an error reply). */
export async function evaluate(s: RestServer, kernelId: string, code: string): Promise<string> {
  const session = randomUUID();
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/api/kernels/${kernelId}/channels?session_id=${session}`, {
    headers: { authorization: `token ${s.token}` },
  });
  try {
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    const msgId = randomUUID();
    const done = new Promise<string>((ok, fail) => {
      let result: string | undefined;
      let replied = false;
      let idle = false;
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as {
          header: { msg_type: string };
          parent_header: { msg_id?: string };
          content: Record<string, unknown>;
        };
        if (m.parent_header.msg_id !== msgId) return;
        const t = m.header.msg_type;
        if (t === 'execute_result') result = (m.content.data as Record<string, string>)['text/plain'];
        if (t === 'execute_reply') {
          if (m.content.status !== 'ok')
            return fail(new Error(`${String(m.content.ename)}: ${String(m.content.evalue)}`));
          replied = true;
        }
        if (t === 'status' && m.content.execution_state === 'idle') idle = true;
        if (replied && idle) ok(result ?? '');
      });
      ws.once('close', () => fail(new Error('kernel channel closed')));
    });
    ws.send(
      JSON.stringify({
        header: {
          msg_id: msgId,
          session,
          username: 'test',
          date: new Date().toISOString(),
          msg_type: 'execute_request',
          version: '5.3',
        },
        parent_header: {},
        metadata: {},
        channel: 'shell',
        buffers: [],
        content: {
          code,
          silent: false,
          store_history: true,
          user_expressions: {},
          allow_stdin: false,
          stop_on_error: true,
        },
      }),
    );
    return await done;
  } finally {
    ws.terminate();
  }
}

/** The ipykernel processes that are alive (zombies left out), with their parent's pid; sorted by pid. */
export function liveKernels(): Array<{ pid: number; ppid: number }> {
  const out: Array<{ pid: number; ppid: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('ipykernel'))
        out.push({ pid: Number(entry), ppid: Number(ppid) });
    } catch {
      /* gone meanwhile */
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** The pids of the ipykernel processes whose parent is `pid`, zombies left out. */
export function kernelChildren(pid: number): number[] {
  return liveKernels()
    .filter((k) => k.ppid === pid)
    .map((k) => k.pid);
}

/** True while `pid` is a live process (a zombie, exited but not yet reaped, is not). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `check` until it returns a value (not undefined); the test runner's timeout bounds it. */
export async function until<T>(check: () => T | undefined | Promise<T | undefined>, everyMs = 25): Promise<T> {
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs the Python expression `expr` in the kernel and parses its value, sent as JSON (binds no name). */
export async function evaluateJson(s: RestServer, kernelId: string, expr: string): Promise<unknown> {
  const code = `type('J', (), {'__repr__': lambda self, v=(${expr}): __import__('json').dumps(v)})()`;
  return JSON.parse(await evaluate(s, kernelId, code));
}

/**
 * A Python expression for everything a notebook could tell apart between two kernels: folder,
 * environment, import path, IPython's folder history, execution count, user names, loaded modules.
 */
export const KERNEL_PORTRAIT = `([__import__('os').getcwd(), dict(__import__('os').environ), __import__('sys').path,
 [str(d) for d in _dh], get_ipython().execution_count, sorted(k for k in globals() if not k.startswith('_')),
 sorted(__import__('sys').modules)])`;

/**
 * Writes the kernelspec `name` into the `JUPYTER_PATH` folder `jupyterPath`: ipykernel's own python3
 * argv with this machine's Python, then `extraArgs`.
 */
export async function writePythonKernelspec(
  jupyterPath: string,
  name: string,
  extraArgs: string[] = [],
): Promise<void> {
  const dir = join(jupyterPath, 'kernels', name);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'kernel.json'),
    JSON.stringify({
      argv: [findPython(), '-m', 'ipykernel_launcher', '-f', '{connection_file}', ...extraArgs],
      display_name: name,
      language: 'python',
    }),
  );
}
