/** Names between Cloud Asset and Cloud Run, and when an index entry needs no live read. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceKeyOfAsset, serviceKeyOfName } from '../../../../deploy/clients/asset.js';
import { invokersAsWanted } from '../../../../deploy/read-invokers.js';

test('a service has one key whether Cloud Asset names its project by id or number', () => {
  const key = 'locations/europe-west1/services/nb-1';
  assert.equal(serviceKeyOfAsset(`//run.googleapis.com/projects/my-proj/${key}`), key);
  assert.equal(serviceKeyOfAsset(`//run.googleapis.com/projects/123456/${key}`), key);
  assert.equal(serviceKeyOfName(`projects/my-proj/${key}`), key);
  assert.equal(serviceKeyOfAsset(`//run.googleapis.com/projects/p/locations/r/jobs/nb-1`), undefined);
  assert.equal(serviceKeyOfAsset(`//pubsub.googleapis.com/projects/p/${key}`), undefined);
  assert.equal(serviceKeyOfAsset(`//run.googleapis.com/projects/p/${key}/revisions/x`), undefined);
  assert.equal(serviceKeyOfName(`projects/p/${key}/x`), undefined);
});

test('an entry is as wanted only with the invoker and without a public member', () => {
  const f = 'serviceAccount:f@p.iam.gserviceaccount.com';
  assert.equal(invokersAsWanted([f], f), true);
  assert.equal(invokersAsWanted([f, 'user:a@example.com'], f), true);
  assert.equal(invokersAsWanted([], f), false);
  assert.equal(invokersAsWanted([f, 'allUsers'], f), false);
  assert.equal(invokersAsWanted([f, 'allAuthenticatedUsers'], f), false);
});
