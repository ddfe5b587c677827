/**
 * The physical limit of a run, measured directly with a bare client (undici + ws, none of
 * nbtrigger's own code), so nbtrigger's overhead can be read against it:
 *
 * - kernel start: from `POST /api/kernels` until the `kernel_info_reply` to a
 *   `kernel_info_request` sent on the just-opened channel (split into the POST itself and
 *   channel open + kernel_info);
 * - cells: all `execute_request`s sent at once (pipelined); wall time until the last cell's
 *   execute_reply and iopub idle, and the execution time the kernel reports (per cell,
 *   reply `header.date` − reply `metadata.started`, summed);
 * - kernel delete: `DELETE /api/kernels/{id}` (not part of the limit; shown for context).
 *
 * `physical limit` = kernel start + the cells' execution as the kernel reports it (the
 * definition of the performance issue); the pipelined wall time shows what the transport adds.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import WebSocket from 'ws';
import { isoToEpochMs, nowMs } from './stats.js';

export interface BareServer {
  host: string;
  port: number;
  token: string;
}

interface Msg {
  header: { msg_id: string; msg_type: string; date?: string };
  parent_header: { msg_id?: string };
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  channel: string;
}

function message(session: string, msgType: string, content: Record<string, unknown>): Msg & { buffers: [] } {
  return {
    header: {
      msg_id: randomUUID(),
      session,
      username: 'bench',
      date: new Date().toISOString(),
      msg_type: msgType,
      version: '5.3',
    } as Msg['header'],
    parent_header: {},
    metadata: {},
    content,
    channel: 'shell',
    buffers: [],
  };
}

/** Measures kernel start and pipelined execution of `sources` on a `kernelName` kernel; always deletes the kernel. */
export async function measurePhysical(
  server: BareServer,
  sources: readonly string[],
  label: string,
  timeoutMs = 60_000,
  tag = '',
  kernelName = 'python3',
): Promise<Record<string, number>> {
  const base = `http://${server.host}:${server.port}`;
  const headers = { authorization: `token ${server.token}`, 'content-type': 'application/json' };
  const t0 = nowMs();
  const body = JSON.stringify({ name: kernelName });
  const res = await request(`${base}/api/kernels`, { method: 'POST', headers, body });
  const kernel = (await res.body.json()) as { id?: string };
  if (res.statusCode !== 201 || !kernel.id) throw new Error(`POST /api/kernels answered ${res.statusCode}`);
  const tPosted = nowMs();
  let ws: WebSocket | undefined;
  try {
    const session = randomUUID();
    ws = new WebSocket(`ws://${server.host}:${server.port}/api/kernels/${kernel.id}/channels?session_id=${session}`, {
      headers,
      perMessageDeflate: false,
    });
    const socket = ws;
    const inbox = new Inbox(socket, timeoutMs);
    await new Promise<void>((ok, fail) => {
      socket.once('open', () => ok());
      socket.once('error', fail);
    });
    const info = message(session, 'kernel_info_request', {});
    const gotInfo = inbox.waitFor(
      (m) => m.header.msg_type === 'kernel_info_reply' && m.parent_header.msg_id === info.header.msg_id,
    );
    socket.send(JSON.stringify(info));
    await gotInfo;
    const tReady = nowMs();

    const requests = sources.map((code) =>
      message(session, 'execute_request', {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true,
      }),
    );
    const ids = new Set(requests.map((r) => r.header.msg_id));
    const replies: Msg[] = [];
    const idles = new Set<string>();
    const allDone = inbox.waitFor((m) => {
      const parent = m.parent_header.msg_id;
      if (!parent || !ids.has(parent)) return false;
      if (m.header.msg_type === 'execute_reply') {
        if (m.content.status !== 'ok')
          throw new Error(`cell failed: ${String(m.content.ename)} ${String(m.content.evalue)}`);
        replies.push(m);
      } else if (m.header.msg_type === 'status' && m.content.execution_state === 'idle') {
        idles.add(parent);
      }
      return replies.length === ids.size && idles.size === ids.size;
    });
    for (const r of requests) socket.send(JSON.stringify(r));
    await allDone;
    const tDone = nowMs();
    let reported = 0;
    for (const r of replies) {
      const started = r.metadata.started;
      if (typeof started === 'string' && r.header.date) reported += isoToEpochMs(r.header.date) - isoToEpochMs(started);
    }
    const start = tReady - t0;
    const cells = tDone - tReady;
    return {
      [`physical kernel start${tag} (${label})`]: start,
      [`physical kernel POST${tag} (${label})`]: tPosted - t0,
      [`physical channel open + kernel_info${tag} (${label})`]: tReady - tPosted,
      [`physical cells pipelined wall${tag} (${label})`]: cells,
      [`physical cells kernel-reported${tag} (${label})`]: reported,
      [`physical limit${tag} (${label})`]: start + reported,
      ...(await deleteKernel(base, headers, kernel.id, `${tag} (${label})`)),
    };
  } finally {
    ws?.terminate();
    // A second DELETE after success answers 404, which is fine; on error this is the cleanup.
    await request(`${base}/api/kernels/${kernel.id}`, { method: 'DELETE', headers }).then(
      (r) => r.body.dump(),
      () => undefined,
    );
  }
}

async function deleteKernel(
  base: string,
  headers: Record<string, string>,
  id: string,
  suffix: string,
): Promise<Record<string, number>> {
  const t = nowMs();
  const res = await request(`${base}/api/kernels/${id}`, { method: 'DELETE', headers });
  await res.body.dump();
  return { [`physical kernel delete${suffix}`]: nowMs() - t };
}

/** Routes incoming frames to waiters; a waiter's predicate may throw to fail it. */
class Inbox {
  private waiters: { pred: (m: Msg) => boolean; ok: () => void; fail: (e: unknown) => void }[] = [];

  constructor(
    ws: WebSocket,
    private readonly timeoutMs: number,
  ) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      for (const w of [...this.waiters]) {
        try {
          if (w.pred(m)) this.settle(w, null);
        } catch (e) {
          this.settle(w, e);
        }
      }
    });
    ws.on('close', () => {
      for (const w of [...this.waiters]) this.settle(w, new Error('kernel channel closed'));
    });
  }

  waitFor(pred: (m: Msg) => boolean): Promise<void> {
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.waiters.push({
        pred,
        ok: () => {
          clearTimeout(timer);
          ok();
        },
        fail: (e) => {
          clearTimeout(timer);
          fail(e);
        },
      });
    });
  }

  private settle(w: Inbox['waiters'][number], err: unknown): void {
    this.waiters = this.waiters.filter((x) => x !== w);
    if (err) w.fail(err);
    else w.ok();
  }
}
