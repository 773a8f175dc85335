export { SensorRunner, DEFAULT_SENSOR_SETTINGS, type SensorRunnerOptions, type SensorSettings } from './sensor.runner.js';
