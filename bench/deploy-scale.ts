/**
 * Deploy at scale (docs/benchmarks.md, "Deploy"): `nbtrigger plan --check`, `plan` and a no-change
 * `deploy` of generated manifests of 1, 100 and 1,000 notebooks × 2 schedules, timed as child
 * processes (Node start included, as a person runs them), with this checkout and a baseline
 * checkout (`BENCH_BASELINE`: its root, with a build; none when unset) side by side in interleaved
 * rounds. `plan` and `deploy` talk to the local Cloud Run / Scheduler gRPC servers and the Pub/Sub
 * emulator, already holding the deployment (deployed once by this checkout), with the local Cloud
 * Asset search over the Run server's IAM policies; the calls each command made are counted per method.
 *
 * Run: `npm run bench:deploy` (BENCH_ROUNDS, default 3; BENCH_SIZES, default 1,100,1000).
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssetServiceClient } from '@google-cloud/asset';
import { ServicesClient } from '@google-cloud/run';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { PubSub } from '@google-cloud/pubsub';
import { PROJECT_ROOT } from '../cli/project-root.js';
import { deploy } from '../deploy/apply.js';
import { parseManifest } from '../deploy/manifest.js';
import { startDeployBackends, type DeployBackends } from '../test/helpers/deploy-backends.js';
import { generatedManifest } from '../test/helpers/manifest-gen.js';
import { killChildren, timeChild } from './contenders.js';
import { fmtMs, fmtRatio, Samples } from './stats.js';

const QUIET_GOOGLE = {
  METADATA_SERVER_DETECTION: 'none',
  GCE_METADATA_HOST: '127.0.0.1:9',
  GCE_METADATA_IP: '127.0.0.1:9',
};
const REGION = 'europe-west1';

interface Contender {
  tag: string;
  root: string;
}

function contenders(): Contender[] {
  const base = process.env.BENCH_BASELINE ?? '';
  const out: Contender[] = [{ tag: 'this', root: PROJECT_ROOT }];
  if (base !== '' && existsSync(join(base, 'dist', 'cli', 'main.js')) && base !== PROJECT_ROOT)
    out.push({ tag: 'baseline', root: base });
  return out;
}

async function cli(
  c: Contender,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ ms: number; code: number | null; stderr: string }> {
  const r = await timeChild(process.execPath, [join(c.root, 'bin', 'nbtrigger.js'), ...args], {
    env: { ...process.env, ...QUIET_GOOGLE, ...env },
    cwd: c.root,
    timeoutMs: 600_000,
  });
  return { ms: r.ms, code: r.code, stderr: r.stderr };
}

/** Calls the local servers received since `mark`, per method (Cloud Run, Scheduler, Cloud Asset). */
function callsSince(b: DeployBackends, mark: { run: number; sch: number; asset: number }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of [...b.run.calls.slice(mark.run), ...b.sch.calls.slice(mark.sch), ...b.asset.calls.slice(mark.asset)])
    out[c.method] = (out[c.method] ?? 0) + 1;
  return out;
}

async function main(): Promise<void> {
  Object.assign(process.env, QUIET_GOOGLE);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const sizes = (process.env.BENCH_SIZES ?? '1,100,1000').split(',').map(Number);
  const who = contenders();
  const samples = new Samples();
  const calls = new Map<string, Record<string, number>>();
  const exits = new Map<string, Set<number | null>>();
  const dir = await mkdtemp(join(tmpdir(), 'nbt-bench-deploy-'));
  const record = (name: string, r: { ms: number; code: number | null }): void => {
    samples.add(name, r.ms);
    exits.set(name, (exits.get(name) ?? new Set()).add(r.code));
  };
  try {
    for (const n of sizes) {
      const project = `bench-deploy-${n}`;
      const file = join(dir, `m${n}.yaml`);
      const text = generatedManifest(n, { project });
      await writeFile(file, text);
      for (let i = 0; i < rounds; i++)
        for (const c of who) record(`plan --check ${n} ${c.tag}`, await cli(c, ['plan', '--check', '-f', file]));
      const b = await startDeployBackends(project);
      const clients = {
        run: new ServicesClient(b.run.clientOptions()),
        scheduler: new CloudSchedulerClient(b.sch.clientOptions()),
        pubsub: new PubSub({ projectId: project, apiEndpoint: b.ps.host }),
        asset: new AssetServiceClient(b.asset.clientOptions()),
      };
      try {
        await b.seedTrigger({ region: REGION, topic: 't_nbtrigger' });
        const done = await deploy(clients, parseManifest(text, file));
        if (done.failures.length > 0)
          throw new Error(`the first deploy of ${n} failed: ${done.failures[0]!.error.message}`);
        const env = {
          NBTRIGGER_RUN_ENDPOINT: `127.0.0.1:${b.run.port}`,
          NBTRIGGER_SCHEDULER_ENDPOINT: `127.0.0.1:${b.sch.port}`,
          PUBSUB_EMULATOR_HOST: b.ps.host,
          NBTRIGGER_ASSET_ENDPOINT: `127.0.0.1:${b.asset.port}`,
        };
        for (let i = 0; i < rounds; i++) {
          for (const c of who) {
            for (const verb of ['plan', 'deploy'] as const) {
              const mark = { run: b.run.calls.length, sch: b.sch.calls.length, asset: b.asset.calls.length };
              const name = `${verb} ${n} ${c.tag}`;
              record(name, await cli(c, [verb, '-f', file], env));
              calls.set(name, callsSince(b, mark));
            }
          }
        }
      } finally {
        await Promise.allSettled([
          clients.run.close(),
          clients.scheduler.close(),
          clients.pubsub.close(),
          clients.asset.close(),
        ]);
        await b.stop();
      }
    }
  } finally {
    killChildren();
    await rm(dir, { recursive: true, force: true });
  }
  const roots = who.map((c) => `${c.tag}=${c.root}`).join(', ');
  process.stdout.write(`# deploy at scale: ${rounds} round(s), medians in ms; contenders: ${roots}\n`);
  for (const n of sizes) {
    for (const verb of ['plan --check', 'plan', 'deploy']) {
      const cols = who.map((c) => {
        const name = `${verb} ${n} ${c.tag}`;
        const api = calls.get(name);
        const shown = api ? ` calls ${JSON.stringify(api)}` : '';
        return `${c.tag} ${fmtMs(samples.median(name))} (exit ${[...(exits.get(name) ?? [])].join('/')})${shown}`;
      });
      const thisOverBaseline = fmtRatio(samples.median(`${verb} ${n} this`), samples.median(`${verb} ${n} baseline`));
      const ratio = who.length > 1 ? `  ratio this/baseline ${thisOverBaseline}` : '';
      process.stdout.write(`${verb} ${n} notebooks: ${cols.join('  |  ')}${ratio}\n`);
    }
  }
}

await main();
process.exit(0);
