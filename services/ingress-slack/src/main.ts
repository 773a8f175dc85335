import { bootstrapPushIngress } from '@ganglion/nest';

/** Serves the `slack` EventSources found on the resources topic (see docs/eventsources/). */
await bootstrapPushIngress('slack');
