import { bootstrapPushIngress } from '@ganglion/nest';

/** Serves the `sns` EventSources found on the resources topic (see docs/eventsources/). */
await bootstrapPushIngress('sns');
