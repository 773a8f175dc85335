/** The `calendar` event source type (Argo `CalendarEventSource`): its schema fragment and its validation rules. */
import { arr, bool, obj, str } from '../schema/dsl.schema.js';
import { metadata, filter } from './source-fields.schema.js';
import { onlyOne } from '../common.rules.js';
import { parseGoDuration } from '../grammar/go-duration.grammar.js';
import type { TypeModel } from '../type-model.js';

export const calendarSource = {
  schema: obj(
    'CalendarEventSource',
    {
      schedule: str('5-field cron schedule (minute hour day-of-month month day-of-week).', {
        format: 'cron',
      }),
      interval: str('Fixed interval, a Go duration such as "10s".', { format: 'duration' }),
      exclusionDates: arr(
        str('An RFC 3339 date-time, e.g. 2026-12-25T00:00:00Z.', { format: 'date-time' }),
        'Date-times on which no event is emitted.',
      ),
      timezone: str('IANA time zone of the schedule; UTC by default.', { format: 'timezone' }),
      metadata,
      persistence: obj(
        'EventPersistence',
        {
          catchup: obj(
            'CatchupConfiguration',
            {
              enabled: bool('Replay missed ticks.'),
              maxDuration: str('How far back to replay, a Go duration.', { format: 'duration' }),
            },
            { doc: 'Argo `CatchupConfiguration`.' },
          ),
          configMap: obj(
            'ConfigMapPersistence',
            { name: str('ConfigMap name.'), createIfNotExist: bool('Create the ConfigMap.') },
            { doc: 'Argo `ConfigMapPersistence`.' },
          ),
        },
        { doc: 'Argo `EventPersistence`: remembers the last tick for catch-up.' },
      ),
      filter,
    },
    {
      doc: 'Argo `CalendarEventSource` (type string `calendar`).',
      atLeastOne: [['schedule', 'interval']],
    },
  ),
  rules: {
    CalendarEventSource: (v, path, { c }) => {
      onlyOne(v, 'schedule', 'interval', path, c);
      // The calendar runtime (calendar.schedule.ts) ticks at multiples of the interval: it must be ≥ 1ms.
      const interval = v['interval'];
      if (typeof interval === 'string' && interval !== '') {
        let ns: number | undefined;
        try {
          ns = parseGoDuration(interval);
        } catch {
          ns = undefined; // the `duration` format already reports it
        }
        if (ns !== undefined && !(ns >= 1e6))
          c.error(`${path}.interval`, `"${interval}" must be a positive duration of at least 1ms`);
      }
    },
  },
} satisfies TypeModel;
