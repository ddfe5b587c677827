/**
 * The Cloud Function entry: registers `runNotebook` (CloudEvent signature, Pub/Sub
 * MessagePublishedData) with functions-framework. Nothing else lives here.
 *
 * Spec: docs/architecture.md; https://github.com/GoogleCloudPlatform/functions-framework-nodejs
 * @module
 */
import { cloudEvent } from '@google-cloud/functions-framework';
import { createHandler } from './handler.js';

cloudEvent('runNotebook', createHandler());
