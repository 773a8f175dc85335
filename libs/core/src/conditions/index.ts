export { nextFire, wallClock } from './cron.schedule.js';
export { createJoin, initialJoinState, step, type JoinState } from './join.reducer.js';
