export { parseBackoff, nextDelay, NO_RETRY_BACKOFF, type Backoff } from './backoff.js';
