export { createLogger, parseLogLevel, type Logger, type LogFields, type LogLevel } from './logger.js';
