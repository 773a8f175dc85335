export { parseGoDuration, DurationSyntaxError } from './go-duration.parser.js';
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
