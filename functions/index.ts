/**
 * The Cloud Function entry: registers `runNotebook` (CloudEvent signature, Pub/Sub
 * MessagePublishedData) with functions-framework, after the one process-wide setting the run
 * path relies on (functions/patches/wasm-baseline.ts). Nothing else lives here.
 *
 * Spec: docs/architecture.md; https://github.com/GoogleCloudPlatform/functions-framework-nodejs
 * @module
 */
import { cloudEvent } from '@google-cloud/functions-framework';
import { createHandler } from './handler.js';
import { baselineWasmOnly } from './patches/wasm-baseline.js';

baselineWasmOnly(); // no optimizing recompile of undici's HTTP parser on a one-vCPU instance

cloudEvent('runNotebook', createHandler());
