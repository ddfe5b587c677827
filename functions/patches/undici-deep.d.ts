// Types for the undici files that functions/patches/undici-lean.ts imports directly (CommonJS:
// `module.exports` is the default export). The package ships types for its index only.
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';
  const P: typeof Pool;
  export default P;
}
declare module 'undici/lib/dispatcher/client.js' {
  import type { Client } from 'undici';
  const C: typeof Client;
  export default C;
}
declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';
  const request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
  export default request;
}
