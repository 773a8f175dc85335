export { TriggerRunner, type TriggerSettings } from './runner/trigger.runner.js';
