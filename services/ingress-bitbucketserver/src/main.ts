import { bootstrapPushIngress } from '@ganglion/nest';

/** Serves the `bitbucketserver` EventSources found on the resources topic (see docs/eventsources/). */
await bootstrapPushIngress('bitbucketserver');
