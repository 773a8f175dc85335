import { bootstrapPushIngress } from '@ganglion/nest';

/** Serves the `stripe` EventSources found on the resources topic (see docs/eventsources/). */
await bootstrapPushIngress('stripe');
