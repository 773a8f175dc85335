import { bootstrapOwnedIngress } from '@ganglion/nest';

/** Runs the `resource` EventSources (Kubernetes informers) on exactly one replica at a time (see docs/eventsources/). */
await bootstrapOwnedIngress('resource');
