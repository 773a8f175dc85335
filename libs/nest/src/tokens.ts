/** Injection tokens of the shared module. */
export const CONFIG = Symbol.for('ganglion.config');
export const LOGGER = Symbol.for('ganglion.logger');
/** The installation cluster's Kafka client (the resources topic); buses get theirs from BUS_CLIENTS. */
export const KAFKA = Symbol.for('ganglion.kafka');
/** The process's BusClients (libs/eventbus): one Kafka client per cluster. */
export const BUS_CLIENTS = Symbol.for('ganglion.bus-clients');
export const ENV = Symbol.for('ganglion.env');
