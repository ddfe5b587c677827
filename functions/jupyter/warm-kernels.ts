/**
 * Opt-in warm kernels (`NBTRIGGER_WARM_KERNEL=1` on the function, `warmKernel: true` for
 * `runNotebook`): after a run that succeeded, its kernel is reset and kept for the next run of
 * the same (server, credentials, kernelspec, notebook folder) in this process, which then skips
 * the kernel's start (≈0.5–0.9 s of a short run).
 *
 * Isolation, what a reset gives the next run (run as one silent request, checked to answer `ok`):
 * - a fresh namespace: IPython `reset(new_session=True)` (user variables, `In`/`Out`, `_`, the
 *   displayhook cache) and a new history session, so execution counts start at 1 again;
 * - the working directory, `os.environ` and `sys.path` as they were when the kernel started
 *   (a silent snapshot is taken before the first run's cells).
 * What it does not undo (a kernel is a process): modules stay imported with their state, threads
 * or files a run left open, monkeypatches of library code. Runs that need that isolation leave
 * the option off (the default). Only a run that succeeded returns its kernel; a failed, timed
 * out, cancelled or reconnected run deletes it. One kernel per key is kept; a concurrent run of
 * the same notebook starts its own.
 *
 * Never left running: each kept kernel is deleted after `NBTRIGGER_WARM_KERNEL_IDLE_SEC` idle
 * (default 300), when the event loop empties (`beforeExit`), and on `exit` (process.exit, or
 * SIGTERM/SIGINT with or without functions-framework's handlers) by a short synchronous child
 * that sends the DELETEs. A SIGKILL leaves the kernel to the server's own culler.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { NbtError } from '../errors.js';
import { KernelChannel } from './channel.js';
import { makeRequest, parentId, type Message } from './messages.js';
import { fetchKernelState } from './reconnect.js';
import { JupyterRest } from './rest.js';
import type { RestOptions } from './rest-transport.js';

/** Runs before the first run's cells: what the reset restores. */
export const SNAPSHOT_CODE = `import os as _nbt_os, sys as _nbt_sys
get_ipython()._nbtrigger_snapshot = (_nbt_os.getcwd(), dict(_nbt_os.environ), list(_nbt_sys.path))
del _nbt_os, _nbt_sys`;

/** Runs after a run: a fresh namespace and history session, the start's cwd, environment and sys.path. */
export const RESET_CODE = `def _nbt_reset():
    import os, sys
    ip = get_ipython()
    cwd, env, path = ip._nbtrigger_snapshot
    ip.reset(new_session=True)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.path[:] = path
_nbt_reset()`;

/** A silent request: no outputs broadcast, no history, no execution count. */
export function silentExecute(session: string, code: string): Message {
  return makeRequest(session, 'execute_request', {
    code,
    silent: true,
    store_history: false,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: false,
  });
}

interface Kept {
  kernelId: string;
  conn: RestOptions;
  timer: NodeJS.Timeout;
}

const kept = new Map<string, Kept>();
let hooked = false;

/** Idle time after which a kept kernel is deleted, ms. */
export function warmIdleMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.NBTRIGGER_WARM_KERNEL_IDLE_SEC);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 300_000;
}

/** The pool key: server, credentials (hashed), kernelspec and the notebook's folder (the kernel's cwd). */
export function warmKey(base: string, headers: Record<string, string>, kernelName: string, dir: string): string {
  const who = createHash('sha256')
    .update(JSON.stringify(Object.entries(headers).sort()))
    .digest('hex')
    .slice(0, 16);
  return JSON.stringify([base, who, kernelName, dir]);
}

/** Takes the kept kernel for `key` if it still lives on the server (it is then the caller's). */
export async function takeWarmKernel(
  key: string,
  rest: JupyterRest,
  connector?: RestOptions['connector'],
): Promise<string | undefined> {
  const k = kept.get(key);
  if (!k) return undefined;
  kept.delete(key);
  clearTimeout(k.timer);
  const state = await fetchKernelState({
    base: rest.base,
    headers: rest.headers,
    kernelId: k.kernelId,
    connector,
  }).catch(() => undefined);
  if (state?.state === 'alive') return k.kernelId;
  await deleteWith(k.conn, k.kernelId, 5000).catch(() => undefined);
  return undefined;
}

/**
 * Resets a kernel whose run succeeded and keeps it for the next run; when the reset fails or
 * a kernel is already kept for `key`, deletes it instead. Throws only when even the delete failed.
 */
export async function keepWarmKernel(
  key: string,
  kernelId: string,
  conn: RestOptions,
  idleMs = warmIdleMs(),
): Promise<'kept' | 'deleted'> {
  let ok = false;
  if (!kept.has(key))
    ok = await resetKernel(conn, kernelId).then(
      () => true,
      () => false,
    );
  if (!ok || kept.has(key)) {
    await deleteWith(conn, kernelId);
    return 'deleted';
  }
  hookExit();
  const timer = setTimeout(() => {
    if (kept.get(key)?.kernelId !== kernelId) return;
    kept.delete(key);
    void deleteWith(conn, kernelId).catch(() => undefined);
  }, idleMs);
  timer.unref();
  kept.set(key, { kernelId, conn, timer });
  return 'kept';
}

/** Kernels kept now (tests, diagnostics). */
export function warmKernelCount(): number {
  return kept.size;
}

/** Deletes every kept kernel now. */
export async function closeWarmKernels(): Promise<void> {
  const all = [...kept.values()];
  kept.clear();
  await Promise.all(
    all.map((k) => {
      clearTimeout(k.timer);
      return deleteWith(k.conn, k.kernelId).catch(() => undefined);
    }),
  );
}

/** Deletes a kernel through a client of its own, whose connection pool is closed afterwards. */
async function deleteWith(conn: RestOptions, kernelId: string, timeoutMs = 10_000): Promise<void> {
  const rest = new JupyterRest(conn);
  try {
    await rest.deleteKernel(kernelId, AbortSignal.timeout(timeoutMs));
  } finally {
    await rest.close();
  }
}

/** Runs {@link RESET_CODE} on its own channel; resolves when it answered `ok` and went idle. */
async function resetKernel(conn: RestOptions, kernelId: string, timeoutMs = 10_000): Promise<void> {
  const rest = new JupyterRest(conn);
  const session = `nbtrigger-reset-${kernelId}`;
  const signal = AbortSignal.timeout(timeoutMs);
  const ch = await KernelChannel.connect({
    server: conn.server,
    kernelId,
    sessionId: session,
    headers: rest.headers,
    signal,
    connector: conn.connector,
  });
  try {
    const req = silentExecute(session, RESET_CODE);
    await new Promise<void>((resolve, reject) => {
      let replied = false;
      let idle = false;
      const timer = setTimeout(() => reject(new NbtError('TIMEOUT', 'kernel reset did not answer')), timeoutMs);
      const done = (err?: NbtError): void => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      ch.listen(
        (m) => {
          if (parentId(m) !== req.header.msg_id) return;
          if (m.channel === 'shell' && m.header.msg_type === 'execute_reply') {
            if (m.content.status !== 'ok')
              return done(
                new NbtError('KERNEL_DIED', `kernel reset failed: ${String(m.content.ename ?? m.content.status)}`),
              );
            replied = true;
          } else if (m.channel === 'iopub' && m.header.msg_type === 'status' && m.content.execution_state === 'idle')
            idle = true;
          if (replied && idle) done();
        },
        (err) => done(err),
      );
      ch.send(req);
    });
  } finally {
    ch.close();
    await rest.close();
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // The event loop emptied: delete asynchronously (the loop then runs on until they are done).
  process.on('beforeExit', () => {
    if (kept.size > 0) void closeWarmKernels();
  });
  process.on('exit', deleteAllSync);
  // Without a handler a signal ends the process with no 'exit' event: take the default's place.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    if (process.listenerCount(sig) > 0) continue;
    process.once(sig, () => {
      deleteAllSync();
      process.kill(process.pid, sig);
    });
  }
}

/**
 * On 'exit' only synchronous work runs: a child process sends the DELETEs (credentials on its
 * stdin). It cannot run the guarded connector, so a guarded connection is pinned to the address
 * the connector last approved for that server (never a fresh DNS answer); one that never
 * connected sends nothing.
 */
function deleteAllSync(): void {
  if (kept.size === 0) return;
  const jobs = [...kept.values()].flatMap((k) => {
    const rest = new JupyterRest(k.conn);
    const pin = k.conn.connector?.lastPeer();
    if (k.conn.connector && !pin) return [];
    return [{ url: `${rest.base}/api/kernels/${encodeURIComponent(k.kernelId)}`, headers: rest.headers, pin }];
  });
  kept.clear();
  const script = `let s='';
process.stdin.on('data',d=>s+=d).on('end',()=>{for(const j of JSON.parse(s)){const u=new URL(j.url);
const o={method:'DELETE',headers:j.headers,timeout:4000};
if(j.pin)o.lookup=(h,x,cb)=>x&&x.all?cb(null,[j.pin]):cb(null,j.pin.address,j.pin.family);
const r=require(u.protocol==='https:'?'https':'http').request(u,o,(res)=>res.resume());
r.on('error',()=>{});r.on('timeout',()=>r.destroy());r.end()}})`;
  spawnSync(process.execPath, ['-e', script], {
    input: JSON.stringify(jobs),
    timeout: 5000,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
}
