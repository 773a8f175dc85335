import { bootstrapPushIngress } from '@ganglion/nest';

/** Serves the `storageGrid` EventSources found on the resources topic (see docs/eventsources/). */
await bootstrapPushIngress('storageGrid');
