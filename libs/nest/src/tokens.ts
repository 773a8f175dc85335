/** Injection tokens of the shared module. */
export const CONFIG = Symbol.for('ganglion.config');
export const LOGGER = Symbol.for('ganglion.logger');
export const KAFKA = Symbol.for('ganglion.kafka');
export const ENV = Symbol.for('ganglion.env');
