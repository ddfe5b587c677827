/**
 * One IAM policy edit for every role nbtrigger grants: the role's members changed, the rest kept,
 * the etag sent back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editPolicy } from '../../../../deploy/clients/iam-policy.js';

const ROLE = 'roles/run.invoker';

test("adds to the role's unconditional binding, keeps other bindings and conditional ones, sends the etag back", () => {
  const policy = {
    etag: Buffer.from('e1'),
    version: 3,
    bindings: [
      { role: 'roles/viewer', members: ['user:a@x.com'] },
      { role: ROLE, members: ['serviceAccount:old@p.iam.gserviceaccount.com'], condition: { expression: 'true' } },
      { role: ROLE, members: ['serviceAccount:fn@p.iam.gserviceaccount.com'] },
    ],
  };
  const out = editPolicy(policy, ROLE, [
    'serviceAccount:fn@p.iam.gserviceaccount.com',
    'serviceAccount:new@p.iam.gserviceaccount.com',
  ]);
  assert.deepEqual(out.bindings, [
    { role: 'roles/viewer', members: ['user:a@x.com'] },
    { role: ROLE, members: ['serviceAccount:old@p.iam.gserviceaccount.com'], condition: { expression: 'true' } },
    {
      role: ROLE,
      members: ['serviceAccount:fn@p.iam.gserviceaccount.com', 'serviceAccount:new@p.iam.gserviceaccount.com'],
    },
  ]);
  assert.deepEqual(out.etag, Buffer.from('e1'));
  assert.equal(out.version, 3);
  assert.deepEqual(
    policy.bindings[2]!.members,
    ['serviceAccount:fn@p.iam.gserviceaccount.com'],
    'the policy read is not changed',
  );
});

test('creates the binding when missing; a removal that empties it drops it; nothing to add makes none', () => {
  assert.deepEqual(editPolicy({}, ROLE, ['allUsers']).bindings, [{ role: ROLE, members: ['allUsers'] }]);
  assert.deepEqual(
    editPolicy({ bindings: [{ role: ROLE, members: ['allUsers'] }] }, ROLE, [], ['allUsers']).bindings,
    [],
  );
  assert.deepEqual(editPolicy({}, ROLE, []).bindings, []);
  assert.equal(editPolicy({ etag: new Uint8Array() }, ROLE, ['allUsers']).etag, undefined, 'an empty etag is not sent');
});
