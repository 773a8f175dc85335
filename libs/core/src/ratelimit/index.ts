export {
  createRateLimiter,
  initialRateLimitState,
  take,
  RateLimitError,
  type RateLimiter,
  type RateLimitSpec,
  type RateLimitState,
  type RateLimitUnit,
} from './rate-limiter.js';
