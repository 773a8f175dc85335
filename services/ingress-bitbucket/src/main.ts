import { bootstrapPushIngress } from '@ganglion/nest';

/** Serves the `bitbucket` EventSources found on the resources topic (see docs/eventsources/). */
await bootstrapPushIngress('bitbucket');
