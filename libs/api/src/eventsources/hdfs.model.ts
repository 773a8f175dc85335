/** The `hdfs` event source type (Argo `HDFSEventSource`): its schema fragment and its validation rules. */
import { arr, enumOf, obj, str, withDoc } from '../schema/dsl.schema.js';
import { ConfigMapKeySelector, secret } from '../schema/common.schema.js';
import { metadata, filter } from './source-fields.schema.js';
import { set, onlyOne } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const hdfsSource = {
  schema: obj(
    'HDFSEventSource',
    {
      directory: str('Directory to watch.'),
      path: str('File name.'),
      pathRegexp: str('File name regular expression.'),
      type: enumOf(['CREATE', 'WRITE', 'REMOVE', 'RENAME', 'CHMOD'], 'Operation to watch.'),
      checkInterval: str('Polling interval, a Go duration.', { format: 'duration' }),
      addresses: arr(str(), 'Name node addresses.'),
      hdfsUser: str('HDFS user (without Kerberos).'),
      krbCCacheSecret: secret('Kerberos credentials cache.'),
      krbKeytabSecret: secret('Kerberos keytab.'),
      krbUsername: str('Kerberos user name.'),
      krbRealm: str('Kerberos realm.'),
      krbConfigConfigMap: withDoc(ConfigMapKeySelector, 'krb5.conf.'),
      krbServicePrincipalName: str('Service principal name of the name node.'),
      metadata,
      filter,
    },
    {
      doc: 'Argo `HDFSEventSource` (type string `hdfs`).',
      required: ['directory', 'type', 'addresses'],
      atLeastOne: [['path', 'pathRegexp']],
    },
  ),
  rules: {
    HDFSEventSource: (v, path, { c }) => {
      onlyOne(v, 'path', 'pathRegexp', path, c);
      const ccache = set(v['krbCCacheSecret']);
      const keytab = set(v['krbKeytabSecret']);
      if (!set(v['hdfsUser']) && !ccache && !keytab)
        c.error(path, 'one of hdfsUser, krbCCacheSecret or krbKeytabSecret is required');
      if (
        keytab &&
        !['krbServicePrincipalName', 'krbConfigConfigMap', 'krbUsername', 'krbRealm'].every((k) =>
          set(v[k]),
        )
      )
        c.error(
          path,
          'krbServicePrincipalName, krbConfigConfigMap, krbUsername and krbRealm are required with krbKeytabSecret',
        );
      if (ccache && !['krbServicePrincipalName', 'krbConfigConfigMap'].every((k) => set(v[k])))
        c.error(
          path,
          'krbServicePrincipalName and krbConfigConfigMap are required with krbCCacheSecret',
        );
    },
  },
} satisfies TypeModel;
