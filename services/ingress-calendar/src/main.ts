import { bootstrapOwnedIngress } from '@ganglion/nest';

/** Runs the `calendar` EventSources on exactly one replica at a time (see docs/eventsources/). */
await bootstrapOwnedIngress('calendar');
