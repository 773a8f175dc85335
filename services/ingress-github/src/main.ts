import { bootstrapPushIngress } from '@ganglion/nest';

/** Serves the `github` EventSources found on the resources topic (see docs/eventsources/). */
await bootstrapPushIngress('github');
