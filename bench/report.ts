/**
 * The bench's derived lines for the link, start, concurrency and warm-kernel figures
 * (docs/benchmarks.md) and for BENCH_BASELINE runs, from the medians: latency overhead in round
 * trips, function start against its goals, concurrency and memory ratios, the warm kernel's gain,
 * and `ratio after/before` for every `[before]` metric; and the main rounds' overhead and ratio lines.
 * @module
 */
import { OUTPUT_CAP_MB } from './concurrency.js';
import { reportDataScience } from './data-science.js';
import type { BenchNotebook } from './notebooks.js';
import { fmtMs, fmtRatio, metricLine, spreadLine, type Samples } from './stats.js';

export interface ExtrasContext {
  one: BenchNotebook;
  hundred: BenchNotebook;
  big: BenchNotebook;
  oneWayMs: number;
  concurrent: number;
  /** Isolated runs at once (concurrency.ts isolatedRuns). */
  many: number;
  heavyRounds: number;
}

/** Prints the derived `name: value` and `ratio …` lines on stdout. */
export function reportExtras(s: Samples, c: ExtrasContext): void {
  const m = (name: string): number => s.median(name);
  /** `LABEL: median(a)/median(b)`. */
  const ratio = (label: string, a: string, b: string): string => `${label}: ${fmtRatio(m(a), m(b))}`;
  const out: string[] = [`heavy rounds: ${c.heavyRounds}`];
  const rtt = 2 * c.oneWayMs;
  const h = c.hundred.label;
  const via = `via ${c.oneWayMs} ms proxy`;
  const pipelined = m(`latency nbtrigger ${via} (${h})`);
  const sequential = m(`latency nbtrigger --sequential ${via} (${h})`);
  const direct = m(`latency nbtrigger direct (${h})`);
  out.push(`latency RTT ms: ${rtt}`);
  out.push(`overhead of the link, pipelined (${h}) RTT: ${fmtRatio(pipelined - direct, rtt)}`);
  out.push(`overhead of the link, sequential (${h}) RTT: ${fmtRatio(sequential - direct, rtt)}`);
  out.push(`ratio sequential/pipelined ${via} (${h}): ${fmtRatio(sequential, pipelined)}`);
  // The same to the record: what a caller waits for (the kernel's DELETE overlaps the writing of outputs).
  const rec = (name: string): number => m(`${name} to record`);
  const pRec = rec(`latency nbtrigger ${via} (${h})`);
  const sRec = rec(`latency nbtrigger --sequential ${via} (${h})`);
  const dRec = rec(`latency nbtrigger direct (${h})`);
  out.push(`overhead of the link to the record, pipelined (${h}) RTT: ${fmtRatio(pRec - dRec, rtt)}`);
  out.push(`ratio sequential/pipelined ${via} to the record (${h}): ${fmtRatio(sRec, pRec)}`);

  out.push(
    `function import RSS over node baseline MB: ${fmtMs(m('function import RSS MB') - m('node baseline RSS MB'))}`,
  );
  out.push(`ratio function import/150 ms goal: ${fmtRatio(m('function import'), 150)}`);
  out.push(`ratio function import RSS/60 MB goal: ${fmtRatio(m('function import RSS MB'), 60)}`);

  const o = c.one.label;
  const atOnce = `${c.concurrent} runs at once`;
  out.push(ratio(`ratio ${atOnce}/1 run (${o})`, `function ${atOnce} total (${o})`, `function 1 run (${o})`));
  out.push(ratio(`ratio peak RSS ${atOnce}/1 run`, `function peak RSS ${atOnce} MB`, 'function peak RSS 1 run MB'));
  out.push(
    ratio(
      `ratio peak RSS growth ${atOnce}/1 run`,
      `function peak RSS growth ${atOnce} MB`,
      'function peak RSS growth 1 run MB',
    ),
  );
  out.push(
    ratio(
      `ratio ${c.many} isolated runs at once/1 run`,
      `function ${c.many} isolated runs at once total`,
      'function 1 isolated run',
    ),
  );
  out.push(`output cap MB: ${fmtMs(OUTPUT_CAP_MB)}`);
  const bigGrowth = m(`function ${c.big.label} peak RSS growth MB`);
  out.push(`ratio ${c.big.label} peak RSS growth/output cap: ${fmtRatio(bigGrowth, OUTPUT_CAP_MB)}`);

  const cold = m(`nbtrigger in-process (${o})`);
  const warm = m(`nbtrigger in-process warm kernel (${o})`);
  out.push(`warm kernel saving (${o}) ms: ${fmtMs(cold - warm)}`);
  out.push(`ratio warm kernel/cold (in-process, ${o}): ${fmtRatio(warm, cold)}`);
  out.push(`ratio warm kernel/physical kernel start (${o}): ${fmtRatio(warm, m(`physical kernel start (${o})`))}`);

  for (const name of s.names()) {
    if (!name.includes(' [before]')) continue;
    const after = name.replace(' [before]', '');
    if (s.values(after).length > 0) out.push(`ratio after/before ${after}: ${fmtRatio(m(after), m(name))}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Prints the main rounds' medians (spread on stderr) and their derived overhead and ratio lines on stdout. */
export function reportMain(
  s: Samples,
  names: string[],
  rounds: number,
  labels: string[],
  only: RegExp | undefined,
): void {
  const out: string[] = [`rounds: ${rounds}`];
  for (const name of names) {
    out.push(metricLine(name, s));
    process.stderr.write(spreadLine(name, s));
  }
  const m = (name: string): number => s.median(name);
  /** `LABEL ms: median(a) − median(b)`. */
  const overhead = (label: string, a: string, b: string): string => `${label} ms: ${fmtMs(m(a) - m(b))}`;
  /** `LABEL: median(a)/median(b)`. */
  const ratio = (label: string, a: string, b: string): string => `${label}: ${fmtRatio(m(a), m(b))}`;
  for (const l of labels) {
    const limit = `physical limit (${l})`;
    out.push(overhead(`overhead nbtrigger in-process − physical limit (${l})`, `nbtrigger in-process (${l})`, limit));
    out.push(overhead(`overhead nbtrigger − physical limit (${l})`, `nbtrigger (${l})`, limit));
    // To the record: the run's own overhead, without the kernel DELETE that overlaps writing outputs.
    out.push(
      overhead(
        `overhead nbtrigger in-process to record − physical limit (${l})`,
        `nbtrigger in-process (${l}) to record`,
        limit,
      ),
    );
  }
  for (const l of labels) {
    if (s.values(`physical limit [before] (${l})`).length === 0) continue;
    const limit = `physical limit [before] (${l})`;
    out.push(
      overhead(
        `overhead nbtrigger in-process − physical limit [before] (${l})`,
        `nbtrigger in-process [before] (${l})`,
        limit,
      ),
    );
    out.push(overhead(`overhead nbtrigger − physical limit [before] (${l})`, `nbtrigger [before] (${l})`, limit));
  }
  for (const l of labels)
    out.push(`ratio nbtrigger/jupyter-execute (${l}): ${fmtRatio(m(`nbtrigger (${l})`), m(`jupyter-execute (${l})`))}`);
  for (const l of labels)
    out.push(
      ratio(
        `ratio nbtrigger in-process/jupyter-execute (${l})`,
        `nbtrigger in-process (${l})`,
        `jupyter-execute (${l})`,
      ),
    );
  for (const l of labels)
    out.push(
      `ratio nbtrigger/nbconvert --execute (${l}): ${fmtRatio(m(`nbtrigger (${l})`), m(`nbconvert --execute (${l})`))}`,
    );
  for (const l of labels)
    out.push(`ratio nbtrigger/physical limit (${l}): ${fmtRatio(m(`nbtrigger (${l})`), m(`physical limit (${l})`))}`);
  const last = labels[labels.length - 1]!;
  out.push(ratio(`ratio sequential/pipelined (${last})`, `nbtrigger --sequential (${last})`, `nbtrigger (${last})`));
  out.push(...reportDataScience(s));
  // With BENCH_ONLY, the derived lines of the cases left out are all n/a: not printed.
  process.stdout.write(`${out.filter((l) => !only || !/: n\/a$/.test(l)).join('\n')}\n`);
}
