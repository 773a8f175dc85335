/**
 * The event as a sensor and its triggers see it: Argo's `v1alpha1.Event`
 * (`{context: {id, source, specversion, type, datacontenttype, subject, time}, data}`).
 * `data` is the decoded payload: a JSON value for JSON content types, otherwise a string.
 */
export interface EventContext {
  id: string;
  source: string;
  specversion: string;
  type: string;
  datacontenttype?: string;
  subject?: string;
  time?: string;
}

export interface SensorEvent {
  context: EventContext;
  data: unknown;
}

/** Events of a satisfied trigger, by dependency name. */
export type EventsByDependency = Record<string, SensorEvent>;
