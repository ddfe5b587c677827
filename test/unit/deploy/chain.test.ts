/**
 * The chain job → topic → trigger subscription → function → service, from desired and actual
 * state: each link's status, and the broken ones deploy refuses. Pure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainErrors, chains, renderChains } from '../../../deploy/chain.js';
import { desiredState } from '../../../deploy/desired.js';
import { planDeploy, type ActualState } from '../../../deploy/plan.js';
import { appliedState, manifest, urlsFor } from './fixtures.js';

const m = manifest();
const desired = desiredState(m, urlsFor(m));
const FN = 'projects/my-project/locations/europe-west1/services/runnotebook';
const FN_URL = 'https://runnotebook-xyz-ew.a.run.app';
const SUB = 'projects/my-project/subscriptions/eventarc-europe-west1-runnotebook-123-sub-456';
const DLQ = { deadLetterTopic: 'projects/my-project/topics/t_nbtrigger-dead-letter', maxDeliveryAttempts: 5 };

function state(edit: (s: ActualState) => void = () => {}): ActualState {
  const s = appliedState(desired, urlsFor(m));
  s.services.push({
    name: FN,
    labels: {},
    uri: FN_URL,
    urls: [FN_URL, 'https://runnotebook-123456.europe-west1.run.app'],
  });
  s.subscriptions = [
    {
      name: SUB,
      pushEndpoint: `${FN_URL}?__GCP_CloudEventsMode=CUSTOM_PUBSUB_projects%2Fmy-project%2Ftopics%2Ft_nbtrigger`,
      deadLetterPolicy: DLQ,
    },
  ];
  s.deadLetterTopicExists = true;
  edit(s);
  return s;
}

const statuses = (s: ActualState): string[] => {
  const cs = chains(desired, s, planDeploy(desired, s));
  return cs[0]!.links.map((l) => `${l.status} ${l.kind}`);
};

test('chain: everything in place: every link ok', () => {
  const s = state();
  assert.deepEqual(statuses(s), ['ok job', 'ok topic', 'ok trigger', 'ok dead-letter', 'ok function', 'ok service']);
  assert.match(
    renderChains(chains(desired, s, planDeploy(desired, s))),
    /chain: every link holds or is made by deploy/,
  );
});

test(
  'chain: a trigger without the dead-letter policy is updated by deploy; ' + 'one on the deterministic URL counts',
  () => {
    const s = state((x) => {
      x.subscriptions = [{ name: SUB, pushEndpoint: 'https://runnotebook-123456.europe-west1.run.app/' }];
    });
    assert.deepEqual(statuses(s)[2], 'update trigger');
    const a = planDeploy(desired, s).find((x) => x.resource === 'subscription')!;
    assert.deepEqual([a.op, a.deadLetterPolicy], ['update', DLQ]);
  },
);

const broken: Array<[string, (s: ActualState) => void, string, RegExp]> = [
  [
    'no subscription on the topic',
    (s) => {
      s.subscriptions = [];
    },
    'trigger',
    /nobody reads/,
  ],
  [
    'a subscription pushing elsewhere',
    (s) => {
      s.subscriptions = [{ name: SUB, pushEndpoint: 'https://other.example.com/' }];
    },
    'trigger',
    /nobody reads/,
  ],
  [
    'a pull subscription only',
    (s) => {
      s.subscriptions = [{ name: SUB }];
    },
    'trigger',
    /nobody reads/,
  ],
  [
    'no function',
    (s) => {
      s.services = s.services.filter((x) => x.name !== FN);
    },
    'function',
    /not deployed/,
  ],
  [
    'no dead-letter topic',
    (s) => {
      s.deadLetterTopicExists = false;
    },
    'dead-letter',
    /one-time setup/,
  ],
];
for (const [name, edit, kind, why] of broken) {
  test(`chain: ${name} is a broken link`, () => {
    const s = state(edit);
    const errors = chainErrors(chains(desired, s, planDeploy(desired, s)));
    assert.ok(
      errors.some((l) => l.kind === kind && why.test(l.detail ?? '')),
      JSON.stringify(errors),
    );
  });
}

test('chain: a paused job is a warning, not an error', () => {
  const s = state((x) => {
    x.jobs[0]!.state = 'PAUSED';
  });
  assert.equal(statuses(s)[0], 'warn job');
  assert.deepEqual(chainErrors(chains(desired, s, planDeploy(desired, s))), []);
});
