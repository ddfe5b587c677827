/**
 * Latency (docs/benchmarks.md): the runner reaches the server through a TCP proxy that delays every
 * chunk by `oneWayMs` each way (test/helpers/tcp-proxy.ts), as the link to Cloud Run would. 100
 * cells pipelined vs `--sequential` through it, and pipelined directly (same rounds) so the link's
 * cost reads as `(via proxy − direct) / RTT`: pipelining should pay the link a few times per run,
 * sequential once per cell.
 * @module
 */
import { startTcpProxy, type TcpProxy } from '../test/helpers/tcp-proxy.js';
import type { BenchCase } from './rounds.js';
import { nbtriggerInProcess, type BenchServer } from './contenders.js';
import type { BenchNotebook } from './notebooks.js';

/** A proxy in front of `server` adding `oneWayMs` each way. */
export async function latencyProxy(
  server: BenchServer,
  oneWayMs: number,
): Promise<{ proxy: TcpProxy; server: BenchServer }> {
  const proxy = await startTcpProxy({ host: server.host, port: server.port }, { latencyMs: oneWayMs });
  return { proxy, server: { host: '127.0.0.1', port: proxy.port, token: server.token } };
}

/**
 * Pipelined directly and through the proxy: about a second each, so they run in the bench's main
 * rounds (7 samples each), where a difference of a few round trips stands out of the noise.
 */
export function linkCases(
  direct: BenchServer,
  viaProxy: BenchServer,
  nb: BenchNotebook,
  oneWayMs: number,
): BenchCase[] {
  return [
    {
      name: `latency direct (${nb.label})`,
      run: nbtriggerInProcess(direct, nb, { prefix: 'latency nbtrigger direct' }),
    },
    {
      name: `latency pipelined (${nb.label})`,
      run: nbtriggerInProcess(viaProxy, nb, { prefix: 'latency nbtrigger', tag: ` via ${oneWayMs} ms proxy` }),
    },
  ];
}

/** Sequential through the proxy: one round trip per cell (≈10 s), so it runs in the heavy rounds. */
export function sequentialLinkCase(viaProxy: BenchServer, nb: BenchNotebook, oneWayMs: number): BenchCase {
  return {
    name: `latency sequential (${nb.label})`,
    run: nbtriggerInProcess(viaProxy, nb, {
      prefix: 'latency nbtrigger',
      tag: ` via ${oneWayMs} ms proxy`,
      sequential: true,
    }),
  };
}
