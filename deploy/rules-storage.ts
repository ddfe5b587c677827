/**
 * The Cloud Storage naming rules the deploy module relies on for the notebooks of `source:` (bucket
 * and object names), each with its documentation link; part of {@link RULES} (rules.ts), checked by
 * deploy/notebook-source.ts before any call.
 *
 * Spec: https://cloud.google.com/storage/docs/buckets#naming, https://cloud.google.com/storage/docs/objects#naming.
 * @module
 */
import type { Rule } from './rules.js';

const STORAGE_BUCKET_NAMES = 'https://cloud.google.com/storage/docs/buckets#naming';
const STORAGE_OBJECT_NAMES = 'https://cloud.google.com/storage/docs/objects#naming';

export const STORAGE_RULES = {
  bucketNameChars: {
    id: 'storage.bucket-name-chars',
    url: STORAGE_BUCKET_NAMES,
    text: 'a bucket name has only lowercase letters, digits, -, _ and ., and starts and ends with a letter or digit',
  },
  bucketNameLength: {
    id: 'storage.bucket-name-length',
    url: STORAGE_BUCKET_NAMES,
    text: 'a bucket name is 3 to 63 characters; with dots up to 222, each dot-separated part at most 63',
  },
  bucketNameReserved: {
    id: 'storage.bucket-name-reserved',
    url: STORAGE_BUCKET_NAMES,
    text:
      'a bucket name is not an IP address in dotted-decimal form, does not start with "goog" and does not' +
      ' contain "google" or a close misspelling',
  },
  objectNameLength: {
    id: 'storage.object-name-length',
    url: STORAGE_OBJECT_NAMES,
    text: 'an object name is 1 to 1024 bytes in UTF-8',
  },
  objectNameChars: {
    id: 'storage.object-name-chars',
    url: STORAGE_OBJECT_NAMES,
    text:
      'an object name contains no carriage return or line feed, is not "." or "..", and does not start' +
      ' with ".well-known/acme-challenge/"',
  },
} as const satisfies Record<string, Rule>;
