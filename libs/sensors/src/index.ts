export { BusProcessor, toSensorEvent, type SensorDirectory } from './bus.processor.js';
export { SensorRunner, DEFAULT_SENSOR_SETTINGS, type SensorRunnerOptions, type SensorSettings, type ResourceView } from './sensor.runner.js';
