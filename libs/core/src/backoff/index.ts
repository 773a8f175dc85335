export {
  parseBackoff,
  nextDelay,
  cappedDoubling,
  NO_RETRY_BACKOFF,
  type Backoff,
} from './backoff.js';
