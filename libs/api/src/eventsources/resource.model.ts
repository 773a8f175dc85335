/** The `resource` event source type (Argo `ResourceEventSource`): its schema fragment and its validation rules. */
import { arr, bool, enumOf, obj, str } from '../schema/dsl.schema.js';
import { metadata } from './source-fields.schema.js';
import { isObj } from '../schema-walk.js';
import type { TypeModel } from '../type-model.js';

/** Argo `Selector`: a label or field selector. */
const Selector = obj(
  'Selector',
  {
    key: str('Label key or gjson path of a field.'),
    operation: enumOf(
      ['', '=', '==', '!=', 'in', 'notin', 'exists', '!', 'gt', 'lt'],
      'Selection operator (Kubernetes `selection.Operator`); = by default.',
    ),
    value: str('Value to compare with.'),
  },
  { doc: 'Argo `Selector`.', required: ['key'] },
);

export const resourceSource = {
  schema: obj(
    'ResourceEventSource',
    {
      namespace: str('Namespace to watch; all when empty.'),
      filter: obj(
        'ResourceFilter',
        {
          prefix: str('Name prefix.'),
          labels: arr(Selector, 'Label selectors.'),
          fields: arr(Selector, 'Field selectors (gjson path and regex).'),
          createdBy: str('Drops objects created after this time (RFC 3339).'),
          afterStart: bool('Drops objects created before the source started (the initial list).'),
        },
        { doc: 'Argo `ResourceFilter`.' },
      ),
      group: str('API group.'),
      version: str('API version.'),
      resource: str('Plural resource name, e.g. pods.'),
      eventTypes: arr(enumOf(['ADD', 'UPDATE', 'DELETE']), 'Kinds of change to report.'),
      metadata,
      cluster: str('Cluster name (reserved).'),
    },
    {
      doc: 'Argo `ResourceEventSource` (type string `resource`).',
      required: ['version', 'resource', 'eventTypes'],
    },
  ),
  rules: {
    ResourceEventSource: (v, path, { c }) => {
      const filter = isObj(v['filter']) ? v['filter'] : {};
      const labels = Array.isArray(filter['labels']) ? filter['labels'] : [];
      labels.forEach((l, i) => {
        if (!isObj(l)) return;
        const op =
          typeof l['operation'] === 'string' && l['operation'] !== '' ? l['operation'] : '=';
        const value = typeof l['value'] === 'string' ? l['value'] : '';
        const at = `${path}.filter.labels[${i}]`;
        if ((op === 'exists' || op === '!') && value !== '')
          c.error(`${at}.value`, `must be empty with operation "${op}"`);
        if ((op === 'in' || op === 'notin') && value === '')
          c.error(`${at}.value`, `is required with operation "${op}" (comma-separated values)`);
        if ((op === 'gt' || op === 'lt') && !/^-?\d+$/.test(value))
          c.error(`${at}.value`, `must be an integer with operation "${op}", got "${value}"`);
      });
      const fields = Array.isArray(filter['fields']) ? filter['fields'] : [];
      fields.forEach((f, i) => {
        const op = isObj(f) && typeof f['operation'] === 'string' ? f['operation'] : '';
        if (!['', '=', '==', '!='].includes(op))
          c.error(
            `${path}.filter.fields[${i}].operation`,
            `"${op}" is not supported for fields (=, ==, !=)`,
          );
      });
      const createdBy = filter['createdBy'];
      if (typeof createdBy === 'string' && createdBy !== '' && Number.isNaN(Date.parse(createdBy)))
        c.error(
          `${path}.filter.createdBy`,
          `"${createdBy}" is not an RFC 3339 date-time (e.g. "2026-12-25T00:00:00Z")`,
        );
    },
  },
} satisfies TypeModel;
