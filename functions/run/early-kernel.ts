/**
 * The kernel started while the notebook is still being read. A run needs the notebook to know
 * which kernelspec it asks for, yet nearly every notebook asks for the one the run would start
 * anyway (the one named in the request, else the server's default). So that kernel is started at
 * once, beside the notebook and kernelspec reads: on a link to Cloud Run that saves a round trip per
 * run, and the read overlaps the kernel's start. When the notebook turns out to want another
 * kernelspec, or the run ends before it starts one, the early kernel is deleted; a kernel this
 * module started is never left running. A server not ready for it (a cold start answering 503)
 * just means no early kernel: the run starts its own once the server is up, as before.
 *
 * Spec: docs/benchmarks.md (pipelined overhead ≤ 3 RTT: the link's round trips paid once per run);
 * https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html (POST /api/kernels
 * without a name starts the default kernelspec).
 * @module
 */
import type { KernelModel } from '../jupyter/rest.js';

/**
 * A kernel the process asked for before the runner was even loaded (the CLI's `bin/early-kernel.js`,
 * for a run on a loopback server): the run takes it when it is the very kernel its early start would
 * ask for (same server, kernelspec and folder), and otherwise has it deleted.
 */
export interface PreStartedKernel {
  /** `http://host:port` of the server it was started on, as `httpBase` writes it (request/address.ts). */
  readonly origin: string;
  /** The kernelspec asked for (undefined: the server's default). */
  readonly name: string | undefined;
  /** The folder it was started in (relative to the server root). */
  readonly path: string;
  /** Hands the kernel over (undefined: its start failed): from then on the caller deletes it. */
  take(): Promise<KernelModel | undefined>;
  /** Deletes it unless it was taken; resolves once it is gone. Never rejects. */
  discard(): Promise<void>;
}

/** What an early kernel needs: starting and deleting kernels (the runner's REST client and delete). */
export interface EarlyKernelDeps {
  start(name: string | undefined, path: string): Promise<KernelModel>;
  /** Deletes a kernel; never rejects (failures are the caller's to log). */
  remove(id: string): Promise<void>;
}

/** A kernel started ahead of the notebook read, adopted by the run or deleted. */
export class EarlyKernel {
  private readonly started: Promise<KernelModel | undefined>;
  private settled = false;
  private removing: Promise<void> | undefined;

  /**
   * Starts the kernel `name` (undefined: the server's default) in the folder `path` now.
   * @param deps how kernels are started and deleted.
   */
  constructor(
    private readonly deps: EarlyKernelDeps,
    name: string | undefined,
    path: string,
  ) {
    this.started = deps.start(name, path).catch(() => undefined);
  }

  /**
   * The early kernel when it runs the kernelspec `name`: from then on the caller owns it (and
   * deletes it). Otherwise undefined, and the early kernel, if any, is being deleted
   * ({@link discard} waits for that).
   */
  async take(name: string): Promise<KernelModel | undefined> {
    const k = await this.started;
    if (this.settled || !k) return undefined;
    if (k.name === name) {
      this.settled = true;
      return k;
    }
    void this.discard();
    return undefined;
  }

  /** Deletes the early kernel unless it was taken; resolves once it is gone. Never rejects. */
  discard(): Promise<void> {
    this.removing ??= this.started.then((k) => {
      if (this.settled || !k) return undefined;
      this.settled = true;
      return this.deps.remove(k.id);
    });
    return this.removing;
  }
}
