import { bootstrapPushIngress } from '@ganglion/nest';

/** Serves the `gitlab` EventSources found on the resources topic (see docs/eventsources/). */
await bootstrapPushIngress('gitlab');
