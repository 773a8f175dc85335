// The Go-duration parser is libs/api's grammar; re-exported for code that imports it from here.
export { parseGoDuration, DurationSyntaxError } from '@ganglion/api';
export {
  parseBackoff,
  nextDelay,
  backoffDelays,
  DEFAULT_BACKOFF,
  NO_RETRY_BACKOFF,
  BackoffError,
  type Backoff,
  type BackoffSpec,
} from './backoff.js';
