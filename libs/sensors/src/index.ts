export { SensorRunner, DEFAULT_SENSOR_SETTINGS, type SensorSettings } from './sensor.runner.js';
