import { bootstrapPushIngress } from '@ganglion/nest';

/** Serves the `gerrit` EventSources found on the resources topic (see docs/eventsources/). */
await bootstrapPushIngress('gerrit');
