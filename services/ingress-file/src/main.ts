import { bootstrapOwnedIngress } from '@ganglion/nest';

/** Runs the `file` EventSources on exactly one replica at a time (see docs/eventsources/). */
await bootstrapOwnedIngress('file');
