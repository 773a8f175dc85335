export {
  createRateLimiter,
  initialRateLimitState,
  take,
  type RateLimiter,
  type RateLimitState,
} from './rate-limiter.js';
