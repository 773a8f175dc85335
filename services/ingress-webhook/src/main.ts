import { bootstrapPushIngress } from '@ganglion/nest';

/** Serves the `webhook` EventSources found on the resources topic (see docs/eventsources/). */
await bootstrapPushIngress('webhook');
