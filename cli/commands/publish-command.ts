/**
 * `nbtrigger publish TOPIC --message "HOST:PORT /nb.ipynb --use-https"`: the local twin of
 * `gcloud pubsub topics publish`, through @google-cloud/pubsub (so `PUBSUB_EMULATOR_HOST`
 * reaches the emulator). The message is checked with the function's own grammar first, so a
 * message the function would reject is refused here (exit 2) unless `--no-check`.
 *
 * Spec: docs/deploy.md (Commands: publish); message grammar: docs/function.md.
 * @module
 */
import type { PubSub } from '@google-cloud/pubsub';
import { exitCodeFor, NbtError, toNbtError } from '../../functions/errors.js';
import { parseMessage } from '../../functions/request/grammar.js';
import { createPubSub } from '../../deploy/clients/index.js';
import { publishText } from '../../deploy/clients/pubsub.js';
import { parseCommandArgs, processIo, type CommandIo } from './command-args.js';

/** The classic message form, as the usage shows it. */
const CLASSIC_MESSAGE = '"HOST:PORT /path/nb.ipynb [--use-https] [--verbose]"';
const PUBLISH_USAGE = `usage: nbtrigger publish TOPIC --message ${CLASSIC_MESSAGE} [options]

  TOPIC                  topic id (project from --project) or projects/P/topics/T
options:
  -m, --message TEXT     the message (classic form or a JSON object)
  --attribute KEY=VALUE  a message attribute (repeatable)
  --project P            project (default: $GOOGLE_CLOUD_PROJECT, $CLOUDSDK_CORE_PROJECT)
  --no-check             publish even if the function's grammar rejects the message

PUBSUB_EMULATOR_HOST=HOST:PORT publishes to the Pub/Sub emulator.
`;

/** Runs the command; resolves to the exit code. Prints the message id on stdout. */
export async function publishCommand(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const parsed = parseCommandArgs(
    'publish',
    PUBLISH_USAGE,
    {
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        message: { type: 'string', short: 'm' },
        attribute: { type: 'string', multiple: true },
        project: { type: 'string' },
        'no-check': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values: v, positionals } = parsed;
  let pubsub: PubSub | undefined;
  try {
    if (positionals.length !== 1) throw new NbtError('USAGE', `expected one TOPIC, got ${positionals.length}`);
    if (v.message === undefined) throw new NbtError('USAGE', '--message is required');
    const attributes: Record<string, string> = {};
    for (const a of v.attribute ?? []) {
      const eq = a.indexOf('=');
      if (eq <= 0) throw new NbtError('USAGE', `--attribute takes KEY=VALUE, got "${a}"`);
      attributes[a.slice(0, eq)] = a.slice(eq + 1);
    }
    // The function fills a missing server/notebook from its own env; here any such gap is allowed.
    if (!v['no-check'])
      parseMessage(v.message, { JUPYTER_SERVER: 'function-env:1', JUPYTER_NOTEBOOK: 'function-env.ipynb' });
    const topic = positionals[0]!;
    const project =
      v.project ??
      /^projects\/([^/]+)\/topics\//.exec(topic)?.[1] ??
      io.env.GOOGLE_CLOUD_PROJECT ??
      io.env.CLOUDSDK_CORE_PROJECT;
    if (project === undefined)
      throw new NbtError('USAGE', 'no project: pass --project, a full topic name, or set GOOGLE_CLOUD_PROJECT');
    pubsub = createPubSub(project, io.env);
    const id = await publishText(pubsub, topic, v.message, attributes);
    io.stdout.write(`${id}\n`);
    return 0;
  } catch (e) {
    const err = toNbtError(e);
    io.stderr.write(`nbtrigger publish: ${err.message}\n`);
    if (err.code === 'USAGE') io.stderr.write(`\n${PUBLISH_USAGE}`);
    return exitCodeFor(err.kind);
  } finally {
    await pubsub?.close();
  }
}
